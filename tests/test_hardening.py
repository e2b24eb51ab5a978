"""Hardening facts against the kernel's and the loader's rules (readelf -lW/-dW parsed here) and checksec.

Where checksec (Debian's checksec 2.6) and depfree differ, the test says which is right and why; the list is in
docs/checksec-differences.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import depfree
from depfree.model import to_json

PT_GNU_STACK = 0x6474E551
PT_GNU_RELRO = 0x6474E552


def readelf_rules(path: Path | str) -> dict[str, object]:
    """Kernel-accurate answers computed from readelf's listing, independently of depfree."""
    prog = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=False).stdout
    dyn = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=False).stdout
    hdr = subprocess.run(["readelf", "-hW", str(path)], capture_output=True, text=True, check=False).stdout
    stacks = re.findall(r"^\s*GNU_STACK\s+.*\s(R?W?E?)\s+0x[0-9a-f]+$", prog, re.M)
    relro = bool(re.search(r"^\s*GNU_RELRO\s", prog, re.M))
    bind_now = "(BIND_NOW)" in dyn or re.search(r"\(FLAGS\)\s+.*BIND_NOW", dyn) is not None or re.search(
        r"\(FLAGS_1\)\s+.*\bNOW\b", dyn) is not None
    has_dynamic = bool(re.search(r"^\s*DYNAMIC\s", prog, re.M))
    etype = re.search(r"Type:\s+(\S+)", hdr).group(1)  # type: ignore[union-attr]
    interp = "Requesting program interpreter" in prog
    pie_flag = re.search(r"\(FLAGS_1\)\s+.*\bPIE\b", dyn) is not None
    return {
        "execstack": ("E" in stacks[-1]) if stacks else None,
        "relro": ("full" if relro and bind_now else "partial" if relro else "none") if (has_dynamic or relro) else "n/a",
        "pie": etype == "DYN" and (interp or pie_flag or (has_dynamic and "SONAME" not in dyn)),
        "etype": etype,
    }


def checksec(path: Path | str) -> dict[str, str]:
    out = subprocess.run(["checksec", f"--file={path}", "--output=json"], capture_output=True, text=True, check=False)
    return next(iter(json.loads(out.stdout).values()))


def hard(path: Path | str) -> dict:
    b = depfree.inspect(str(path)).binaries[0]
    assert b.hardening is not None
    return to_json(b.hardening)


C_VARIANTS = {
    "default": (),
    "canary": ("-fstack-protector-strong",),
    "no-canary": ("-fno-stack-protector",),
    "fortify": ("-O2", "-D_FORTIFY_SOURCE=2"),
    "relro-partial": ("-Wl,-z,relro", "-Wl,-z,lazy"),
    "relro-full": ("-Wl,-z,relro", "-Wl,-z,now"),
    "norelro": ("-Wl,-z,norelro",),
    "execstack": ("-Wl,-z,execstack",),
    "no-pie": ("-no-pie",),
    "pie": ("-pie", "-fPIE"),
    "static-pie": ("-static-pie", "-fPIE"),
}


@pytest.mark.parametrize("variant", sorted(C_VARIANTS))
def test_gcc_variants_follow_the_kernel_rules(factory, variant: str) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", flags=C_VARIANTS[variant])
    h, truth, cs = hard(exe), readelf_rules(exe), checksec(exe)
    assert h["execstack"] == truth["execstack"]
    assert h["nx"] is (not truth["execstack"])
    assert h["relro"] == truth["relro"]
    assert h["pie"] == truth["pie"]
    # checksec agrees with the kernel rules on these plain gcc outputs
    assert cs["nx"] == ("yes" if h["nx"] else "no")
    assert cs["relro"] == {"full": "full", "partial": "partial", "none": "no", "n/a": "no"}[h["relro"]]
    assert cs["canary"] == h["canary"] or (h["canary"] == "unknown")
    if isinstance(h["fortify"], dict):
        assert int(cs["fortified"]) == h["fortify"]["fortified"]
        assert int(cs["fortify-able"]) == h["fortify"]["fortifiable"]
    if variant == "canary":
        assert h["canary"] == "yes"
    if variant == "fortify":
        assert h["fortify"]["fortified"] >= 1
    if variant == "execstack":
        assert h["execstack"] is True
    if variant == "relro-full":
        assert h["relro"] == "full" and h["bind_now"] is True


@pytest.mark.parametrize("protector", ["-fstack-protector-strong", "-fno-stack-protector"])
@pytest.mark.parametrize(("machine", "canary"), [("-m64", "%fs:0x28"), ("-m32", "%gs:0x14")])
def test_static_canary_is_read_from_main_not_from_libc(factory, protector: str, machine: str,  # type: ignore[no-untyped-def]
                                                       canary: str) -> None:
    """A static glibc defines __stack_chk_fail for its own code whatever the program was built with, so checksec says
    'Canary found' for both builds. depfree looks at main instead: objdump shows whether it reads the canary from
    the thread block (%fs:0x28 on x86-64, %gs:0x14 on i386; -m32 needs gcc-multilib)."""
    exe = factory.c("hello.c", flags=(machine, "-static", protector))
    dis = subprocess.run(["objdump", "-d", "--disassemble=main", str(exe)], capture_output=True, text=True,
                         check=True).stdout
    reads = canary in dis
    assert reads is (protector != "-fno-stack-protector")  # hello.c's main has a char array the option protects
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    assert re.search(r" T __stack_chk_fail$", nm, re.M)  # present in both: libc brought it
    assert checksec(exe)["canary"] == "yes"
    h = hard(exe)
    if reads:
        assert h["canary"] == "yes"
        assert h["evidence"]["canary"][0]["name"] == "main" and canary in h["evidence"]["canary"][0]["detail"]
    else:
        assert h["canary"] == "unknown" and "main does not read the canary" in h["reasons"]["canary"]


def _rewrite_phdrs(src: Path, dst: Path, edit) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(src.read_bytes())
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        edit(data, off, struct.unpack_from("<I", data, off)[0], i)
    dst.write_bytes(bytes(data))


@pytest.mark.parametrize("order", ["exec-last", "noexec-last"])
def test_two_gnu_stack_headers_the_last_one_wins(factory, tmp_path: Path, order: str) -> None:  # type: ignore[no-untyped-def]
    """fs/binfmt_elf.c sets executable_stack for every PT_GNU_STACK it meets, so the last one decides.
    checksec 2.6 reads the first one (its issue 357): on 'exec-last' checksec says NX enabled, which is wrong."""
    exe = factory.c("hello.c")
    crafted = tmp_path / f"two-stacks-{order}"
    note_seen = []

    def edit(data: bytearray, off: int, ptype: int, i: int) -> None:
        # turn the first PT_NOTE into a second PT_GNU_STACK; order decides which one is executable
        if ptype == 4 and not note_seen:
            note_seen.append(i)
            struct.pack_into("<I", data, off, PT_GNU_STACK)
            struct.pack_into("<I", data, off + 4, 6 if order == "exec-last" else 7)
        elif ptype == PT_GNU_STACK:
            struct.pack_into("<I", data, off + 4, 7 if order == "exec-last" else 6)

    _rewrite_phdrs(exe, crafted, edit)
    truth = readelf_rules(crafted)
    h = hard(crafted)
    assert h["execstack"] == truth["execstack"] == (order == "exec-last")
    assert "the last one decides" in json.dumps(h["evidence"]["execstack"])
    if order == "noexec-last":
        # checksec 2.6 reports NX disabled whenever any PT_GNU_STACK is executable; the kernel disagrees
        assert checksec(crafted)["nx"] == "no" and h["nx"] is True


def test_bind_now_without_relro_segment_is_not_full_relro(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A crafted DF_BIND_NOW without PT_GNU_RELRO: nothing is remapped read-only, so RELRO is 'none', whatever the
    dynamic flags say. (Debian's checksec 2.6 checks the segment first and agrees; versions that read BIND_NOW alone
    report 'full' — see docs/checksec-differences.md.)"""
    exe = factory.c("hello.c", flags=("-Wl,-z,relro", "-Wl,-z,now"))
    crafted = tmp_path / "bindnow-no-relro"

    def edit(data: bytearray, off: int, ptype: int, i: int) -> None:
        if ptype == PT_GNU_RELRO:
            struct.pack_into("<I", data, off, 0x6474E553)  # PT_GNU_PROPERTY: harmless, not RELRO

    _rewrite_phdrs(exe, crafted, edit)
    h = hard(crafted)
    assert readelf_rules(crafted)["relro"] == "none"
    assert h["relro"] == "none" and h["bind_now"] is True
    assert "no PT_GNU_RELRO" in h["reasons"]["relro"]
    assert checksec(crafted)["relro"] == "no"


@pytest.mark.parametrize("variant", ["default", "pie", "stripped", "sw"])
def test_go_is_na_where_checksec_says_no(factory, tmp_path: Path, variant: str) -> None:  # type: ignore[no-untyped-def]
    """Pure Go: checksec says 'No canary' and 'No RELRO'; the Go compiler checks stack bounds itself and a static Go
    binary has no load-time relocations, so depfree says n/a with the reason."""
    if variant == "stripped":
        src = factory.go("nettool")
        exe = factory.cached(("strip", str(src)), lambda out: (shutil.copy(src, out),
                                                               subprocess.run(["strip", str(out)], check=True)))
    else:
        exe = factory.go("nettool", buildmode="pie" if variant == "pie" else "",
                         ldflags="-s -w" if variant == "sw" else "")
    h, truth, cs = hard(exe), readelf_rules(exe), checksec(exe)
    assert h["canary"] == "n/a" and h["fortify"] == "n/a"
    assert cs["canary"] == "no"
    assert h["execstack"] == truth["execstack"] is False
    assert h["pie"] == truth["pie"]
    if variant != "pie":
        assert h["relro"] == truth["relro"] == "n/a"
        assert cs["relro"] == "no"


def test_cgo_canary_is_measured(factory) -> None:  # type: ignore[no-untyped-def]
    h = hard(factory.go("nettool", cgo=True))
    assert h["canary"] in ("yes", "no")
    assert "cgo" in h["reasons"]["canary"]


def test_static_cgo_canary_is_unknown(factory) -> None:  # type: ignore[no-untyped-def]
    """cgo linked statically (musl): the C library brings __stack_chk_fail, so checksec says 'Canary found', and
    `main` is the Go runtime's entry (runtime/asm_amd64.s ``TEXT main``), which objdump shows reading no canary.
    Nothing tells the program's C functions from the library's: unknown, with the cgo note and no evidence."""
    exe = factory.go("nettool", cgo=True, ldflags="-linkmode external -extldflags -static", env={"CC": "musl-gcc"})
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    assert re.search(r" T __stack_chk_fail$", nm, re.M)
    dis = subprocess.run(["objdump", "-d", "--disassemble=main", str(exe)], capture_output=True, text=True,
                         check=True).stdout
    assert "<main>:" in dis and "%fs:0x28" not in dis
    assert checksec(exe)["canary"] == "yes"
    h = hard(exe)
    assert h["canary"] == "unknown"
    assert h["reasons"]["canary"] == "measured on the cgo/C part; the Go part checks stack bounds itself"
    assert "canary" not in h["evidence"]


def test_rpath_risks(factory) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", flags=("-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/lib:/tmp/libs:relative/dir"))
    risks = {r["path"]: r["risk"] for r in hard(exe)["rpath_risks"]}
    assert risks == {"$ORIGIN/lib": "origin-relative", "/tmp/libs": "world-writable", "relative/dir": "relative"}


@pytest.mark.parametrize("path", sorted(
    os.path.join("/usr/bin", f) for f in os.listdir("/usr/bin")
    if os.path.isfile(os.path.join("/usr/bin", f)) and not os.path.islink(os.path.join("/usr/bin", f))
    and open(os.path.join("/usr/bin", f), "rb").read(4) == b"\x7fELF"))
def test_every_elf_in_usr_bin(path: str) -> None:
    h, truth = hard(path), readelf_rules(path)
    if truth["execstack"] is not None:
        assert h["execstack"] == truth["execstack"]
    assert h["relro"] == truth["relro"]
    assert h["pie"] == truth["pie"]


def test_hardening_cli_table_json_csv(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", flags=("-Wl,-z,now",))
    go = factory.go("nettool")
    (tmp_path / "notes.txt").write_text("not a binary")
    shutil.copy(exe, tmp_path / "c-prog")
    shutil.copy(go, tmp_path / "go-prog")
    out = subprocess.run(["python", "-m", "depfree", "hardening", "--json", str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout
    data = json.loads(out)
    assert {Path(b["path"]).name for b in data["binaries"]} == {"c-prog", "go-prog"}
    csv_out = subprocess.run(["python", "-m", "depfree", "hardening", "--csv", str(tmp_path / "go-prog")],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert csv_out[0].startswith("path,format,relro,pie,nx,canary")
    assert ",n/a,no,yes,n/a,n/a," in csv_out[1]  # yes/no, never Python's True/False
    bad = subprocess.run(["python", "-m", "depfree", "hardening", str(tmp_path / "missing")], capture_output=True,
                         text=True, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize(("flags", "expect"), [
    ((), {"aslr": True, "dep": True, "high_entropy_va": True}),
    (("-Wl,--dynamicbase,--nxcompat",), {"aslr": True, "dep": True}),
    (("-Wl,--disable-dynamicbase,--disable-nxcompat,--disable-high-entropy-va",),
     {"aslr": False, "dep": False, "high_entropy_va": False}),
])
def test_mingw_pe_flags_match_objdump(factory, flags: tuple[str, ...], expect: dict[str, bool]) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc", flags=flags)
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(exe)], capture_output=True, text=True,
                         check=True).stdout
    block = out.split("DllCharacteristics", 1)[1].split("SizeOfStackReserve", 1)[0]
    truth = {"aslr": "DYNAMIC_BASE" in block, "dep": "NX_COMPAT" in block, "high_entropy_va": "HIGH_ENTROPY_VA" in block,
             "cfg": "GUARD_CF" in block, "force_integrity": "FORCE_INTEGRITY" in block}
    h = hard(exe)
    for key, value in truth.items():
        assert h[key] == value, key
    for key, value in expect.items():
        assert h[key] == value, key
    assert h["nx"] == h["dep"]
    assert h["safeseh"] == "n/a"  # 64-bit: table-based exception handling


def test_pe_guard_cf_bit_without_instrumentation_is_not_cfg(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """GUARD_CF in DllCharacteristics only claims CFG support; without IMAGE_GUARD_CF_INSTRUMENTED in the load
    configuration's GuardFlags the loader enforces nothing. binutils cannot instrument for CFG (no such option in
    ``ld --help``), so a MinGW binary with the bit set by hand is the case."""
    ld_help = subprocess.run(["x86_64-w64-mingw32-ld", "--help"], capture_output=True, text=True, check=True).stdout
    assert "guard" not in ld_help.lower()
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    data = bytearray(exe.read_bytes())
    pe_off = struct.unpack_from("<I", data, 0x3C)[0]
    dllchar = pe_off + 24 + 70  # OptionalHeader.DllCharacteristics (PE32+ and PE32 alike)
    struct.pack_into("<H", data, dllchar, struct.unpack_from("<H", data, dllchar)[0] | 0x4000)
    patched = tmp_path / "hello-guard.exe"
    patched.write_bytes(bytes(data))
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(patched)], capture_output=True, text=True,
                         check=True).stdout
    assert "GUARD_CF" in out.split("DllCharacteristics", 1)[1].split("SizeOfStackReserve", 1)[0]
    h = hard(patched)
    assert h["cfg"] is False
    assert "IMAGE_GUARD_CF_INSTRUMENTED" in h["reasons"]["cfg"] or "missing" in h["reasons"]["cfg"]
    assert hard(exe)["cfg"] is False and "cfg" not in hard(exe)["reasons"]


def test_pe_32bit_safeseh_and_relocations(factory) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", cc="i686-w64-mingw32-gcc")
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(exe)], capture_output=True, text=True,
                         check=True).stdout
    h = hard(exe)
    assert h["relocations_stripped"] == ("relocations stripped" in out.split("Characteristics", 1)[1].split("\n\n")[0])
    assert h["safeseh"] in (True, False, "n/a")


def _lief_macho_truth(path: Path) -> list[dict[str, bool]]:
    import lief

    fat = lief.MachO.parse(str(path))
    assert fat is not None
    out = []
    for i in range(fat.size):
        m = fat.at(i)
        flags = m.header.flags_list
        out.append({"pie": lief.MachO.Header.FLAGS.PIE in flags,
                    "execstack": lief.MachO.Header.FLAGS.ALLOW_STACK_EXECUTION in flags,
                    "no_heap_execution": lief.MachO.Header.FLAGS.NO_HEAP_EXECUTION in flags,
                    "code_signature": m.has_code_signature})
    return out


@pytest.mark.parametrize("goarch", ["arm64", "amd64"])
def test_macho_go_hardening_against_lief(factory, goarch: str) -> None:  # type: ignore[no-untyped-def]
    """Header flags and LC_CODE_SIGNATURE from LIEF; the CodeDirectory flags from the Go linker's own source:
    cmd/internal/codesign/codesign.go writes `flags: 0x20002 // adhoc | linkerSigned` — ad hoc, no hardened runtime
    (CS_RUNTIME 0x10000 is never set by the Go linker)."""
    exe = factory.go("plain", goos="darwin", goarch=goarch)
    codesign_go = (factory.goroot() / "src/cmd/internal/codesign/codesign.go").read_text()
    assert "0x20002, // adhoc | linkerSigned" in codesign_go
    truth = _lief_macho_truth(exe)[0]
    h = hard(exe)
    for key, value in truth.items():
        assert h[key] == value, key
    assert h["nx"] is (not truth["execstack"])
    if truth["code_signature"]:
        assert h["adhoc_signed"] is True and h["hardened_runtime"] is False
    else:
        assert h["adhoc_signed"] is None and h["hardened_runtime"] is None


def test_macho_goroot_testdata_unsigned(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Old gcc-built Mach-O executables from GOROOT's debug/macho testdata: no LC_CODE_SIGNATURE, so the hardened
    runtime question has no answer (None), and PIE/stack flags match LIEF's reading of the header."""
    import base64

    src = factory.goroot() / "src/debug/macho/testdata/gcc-amd64-darwin-exec.base64"
    f = tmp_path / "gcc-amd64-darwin-exec"
    f.write_bytes(base64.b64decode(src.read_bytes()))
    truth = _lief_macho_truth(f)[0]
    h = hard(f)
    for key, value in truth.items():
        assert h[key] == value, key
    assert truth["code_signature"] is False and h["hardened_runtime"] is None


def test_report_json_matches_the_schema_defs(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """hardening/debug/packer of ELF (C, static-pie, pure Go, with overlay), PE and Mach-O validate against the
    $defs in data/report.schema.json."""
    from helpers.schema import assert_valid_report

    overlay = tmp_path / "overlay"
    overlay.write_bytes(factory.c("hello.c").read_bytes() + b"\1\2\3" * 100)
    paths = [factory.c("hello.c", flags=C_VARIANTS["fortify"]), factory.c("hello.c", flags=C_VARIANTS["static-pie"]),
             factory.go("plain"), overlay, factory.c("hello.c", cc="x86_64-w64-mingw32-gcc"),
             factory.go("plain", goos="darwin", goarch="arm64")]
    report = depfree.inspect([str(p) for p in paths])
    assert not report.errors
    data = report.to_json()
    assert_valid_report(data)
    assert all(b["hardening"] and b["debug"] for b in data["binaries"])
    assert data["binaries"][3]["packer"]["overlay"] == {"offset": overlay.stat().st_size - 300, "size": 300}


def test_symbol_table_names_agree_with_nm(factory) -> None:  # type: ignore[no-untyped-def]
    """The static symbol table read by name (``symbol``) and in bulk (``symbol_names``) holds what ``nm`` lists,
    including names ld stored in the tail of longer ones (``main`` inside ``__libc_start_main``)."""
    from depfree.formats.detect import open_executables
    from depfree.sources.file import FileSource

    exe_path = factory.c("hello.c", flags=("-static",))
    nm = subprocess.run(["nm", "--defined-only", str(exe_path)], capture_output=True, text=True, check=True).stdout
    funcs = {f[2] for f in (line.split() for line in nm.splitlines()) if len(f) == 3 and f[1] in "Tt"}
    with FileSource(exe_path) as src:
        exe = open_executables(src)[0]
        names = exe.symbol_names()
        assert funcs <= set(names) and "main" in funcs
        assert names == [s.name for s in exe.iter_symbols() if s.name]
    # the first lookups search the st_name column, later ones use the index of it (ElfSymbols.SCAN_LOOKUPS)
    step = max(1, len(funcs) // (3 * exe.SCAN_LOOKUPS + 10))
    sample = ["main", "__libc_start_main", "__stack_chk_fail", *sorted(funcs)[::step]]
    assert len(sample) > 3 * exe.SCAN_LOOKUPS
    values: dict[str, set[int]] = {}
    for f in (line.split() for line in nm.splitlines()):
        if len(f) == 3:
            values.setdefault(f[2], set()).add(int(f[0], 16))
    with FileSource(exe_path) as src:
        exe = open_executables(src)[0]
        for name in sample:
            sym = exe.symbol(name)
            assert sym is not None and sym.name == name and sym.value in values[name], name
        assert exe.symbol("no_such_symbol_anywhere") is None
