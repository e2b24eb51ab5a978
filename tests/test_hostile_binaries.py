"""Hostile binaries (issue 17): every case the fuzz campaign found, on real binaries with one field changed. Each
must end in a clean result or a one-line error, never a traceback, and memory must stay bounded by the file.

What is hostile is checked against an independent reader where one exists (objdump, readelf, ``go version -m``);
the memory bound is measured on a child process by the fuzz harness (tests/fuzz/harness.py)."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from depfree.errors import DepfreeError, FormatError
from fuzz.harness import rss_limit, run_path
from helpers.factory import Factory
from helpers.gofixtures import without_section_headers

OBJDUMP = "x86_64-w64-mingw32-objdump"


def depfree(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1, 2), proc.stderr


def goroot_testdata(factory: Factory, sub: str, name: str) -> Path:
    return factory.goroot() / "src" / sub / "testdata" / name


def pe_offsets(data: bytes) -> tuple[int, int, bool]:
    """(offset of the optional header, of NumberOfRvaAndSizes, PE32+?) read with struct."""
    lfanew = struct.unpack_from("<I", data, 0x3C)[0]
    opt = lfanew + 24
    plus = struct.unpack_from("<H", data, opt)[0] == 0x20B
    return opt, opt + (108 if plus else 92), plus


# ---- PE ---------------------------------------------------------------------------------------------------------

def test_go_testdata_vmlinuz_efi_stub(factory: Factory) -> None:
    """Go's debug/pe/testdata/vmlinuz-4.15.0-47-generic: an EFI stub with six data directories (no import or
    delay-import slot at all). objdump finds no imports; neither may depfree, and it must not crash."""
    path = goroot_testdata(factory, "debug/pe", "vmlinuz-4.15.0-47-generic")
    dlls = re.findall(r"DLL Name: (\S+)", subprocess.run([OBJDUMP, "-p", str(path)], capture_output=True,
                                                          text=True, check=False).stdout)
    proc = depfree("inspect", "--json", str(path))
    assert_clean(proc)
    import json

    report = json.loads(proc.stdout)
    assert [i["dll"] for b in report["binaries"] for i in b["pe"]["imports"]] == dlls == []


@pytest.mark.parametrize("count", [0, 1, 2, 0x80000000])
def test_pe_number_of_rva_and_sizes(factory: Factory, tmp_path: Path, count: int) -> None:
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    data = bytearray(exe.read_bytes())
    _, nrva, _ = pe_offsets(bytes(data))
    struct.pack_into("<I", data, nrva, count)
    bad = tmp_path / "rva.exe"
    bad.write_bytes(bytes(data))
    for verb in ("inspect", "hardening", "targets", "size"):
        assert_clean(depfree(verb, str(bad)))
    if count <= 1:  # no import directory slot: LIEF (like Go's debug/pe) lists no DLL, and neither does depfree
        import lief

        import depfree as api

        assert [i.name for i in lief.parse(str(bad)).imports] == []

        (b,) = api.inspect(bad).binaries
        assert b.pe is not None and b.pe.imports == []


@pytest.mark.parametrize("magic", [0x0, 0x107, 0xFFFF])
def test_pe_optional_header_magic(factory: Factory, tmp_path: Path, magic: int) -> None:
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    data = bytearray(exe.read_bytes())
    opt, _, _ = pe_offsets(bytes(data))
    struct.pack_into("<H", data, opt, magic)
    bad = tmp_path / "magic.exe"
    bad.write_bytes(bytes(data))
    proc = depfree("inspect", str(bad))
    assert_clean(proc)
    assert proc.returncode == 2
    assert f"optional header magic: expected 0x10b (PE32) or 0x20b (PE32+), found {magic:#x}" in proc.stderr


def test_pe_ends_inside_the_coff_string_table_size(factory: Factory, tmp_path: Path) -> None:
    """Go's gcc-amd64-mingw-exec has a COFF symbol table; cut the file two bytes into the string table's size."""
    src = goroot_testdata(factory, "debug/pe", "gcc-amd64-mingw-exec").read_bytes()
    lfanew = struct.unpack_from("<I", src, 0x3C)[0]
    ptr, nsyms = struct.unpack_from("<II", src, lfanew + 12)
    assert ptr and nsyms
    cut = tmp_path / "cut.exe"
    cut.write_bytes(src[: ptr + nsyms * 18 + 2])
    for verb in ("inspect", "hardening", "size"):
        assert_clean(depfree(verb, str(cut)))


def test_resource_only_dll_is_not_corrupt(factory: Factory, tmp_path: Path) -> None:
    """A resource-only DLL (windres + ld, entry point 0: legal for a DLL) is read, and scan exits 0."""
    windres = factory.require("x86_64-w64-mingw32-windres")
    gcc = factory.require("x86_64-w64-mingw32-gcc")

    def build(out: Path) -> None:
        rc = out.parent / "r.rc"
        rc.write_text('STRINGTABLE\nBEGIN\n  1 "hello"\nEND\n')
        res = out.parent / "r.res"
        subprocess.run([windres, str(rc), "-O", "coff", "-o", str(res)], check=True)
        subprocess.run([gcc, "-shared", "-nostdlib", "-Wl,-e,0", "-o", str(out), str(res)], check=True)

    dll = factory.cached(("resource-only-dll", "v1"), build, name="res.dll")
    out = subprocess.run([OBJDUMP, "-p", str(dll)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"AddressOfEntryPoint\s+0+\n", out)
    proc = depfree("inspect", str(dll))
    assert proc.returncode == 0, proc.stderr
    assert "corrupt" not in proc.stderr
    proc = depfree("scan", "--jobs", "1", str(dll))
    assert proc.returncode == 0, proc.stderr


# ---- ELF ----------------------------------------------------------------------------------------------------------

def _phdrs(data: bytes) -> list[tuple[int, int]]:
    """(offset of the program header, p_type) for each, ELF64 little-endian."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [(phoff + i * phentsize, struct.unpack_from("<I", data, phoff + i * phentsize)[0]) for i in range(phnum)]


@pytest.mark.parametrize("value", [1 << 63, (1 << 64) - 1])
def test_load_segment_offset_beyond_2_63(factory: Factory, tmp_path: Path, value: int) -> None:
    """Without section headers the pclntab is searched through the load segments; one whose p_offset is >= 2^63
    gave an OverflowError from bytes.find."""
    binary = without_section_headers(factory, factory.go("plain"))
    data = bytearray(binary.read_bytes())
    first_load = next(at for at, typ in _phdrs(bytes(data)) if typ == 1)
    struct.pack_into("<Q", data, first_load + 8, value)  # p_offset
    bad = tmp_path / "far"
    bad.write_bytes(bytes(data))
    readelf = subprocess.run(["readelf", "-lW", str(bad)], capture_output=True, text=True, check=False).stdout
    assert f"{value:#018x}" in readelf
    for verb in (("inspect", "--deep"), ("size",), ("hardening",)):
        assert_clean(depfree(*verb, str(bad)))


def test_dt_strsz_cannot_make_memory_follow_a_field(factory: Factory, tmp_path: Path) -> None:
    """DT_STRSZ raised to 1,073,743,384 (one byte changed) over a file padded to 64 MiB: the string table may
    stretch to the end of the file, but memory must stay within 2 x the file + 200 MiB (the old one-pass split made
    an empty string per zero byte: gigabytes)."""
    src = factory.c("hello.c").read_bytes()
    out = subprocess.run(["readelf", "-dW", str(factory.c("hello.c"))], capture_output=True, text=True,
                         check=True).stdout
    assert re.search(r"\(STRSZ\)\s+(\d+)", out)
    data = bytearray(src)
    dyn_at = next(at for at, typ in _phdrs(src) if typ == 2)
    p_offset, = struct.unpack_from("<Q", data, dyn_at + 8)
    for i in range(0, 4096, 16):
        tag, = struct.unpack_from("<q", data, p_offset + i)
        if tag == 10:  # DT_STRSZ
            struct.pack_into("<Q", data, p_offset + i + 8, 0x40000618)
            break
        assert tag != 0, "no DT_STRSZ"
    bad = tmp_path / "strsz"
    bad.write_bytes(bytes(data) + b"\0" * (64 << 20))
    assert "0x40000618" in subprocess.run(["readelf", "-dW", str(bad)], capture_output=True, text=True,
                                          check=False).stdout or "1073743384" in subprocess.run(
        ["readelf", "-dW", str(bad)], capture_output=True, text=True, check=False).stdout
    outcome = run_path(str(bad), "inspect", timeout=300, size=bad.stat().st_size)
    assert outcome.status in ("ok", "error"), outcome
    assert outcome.rss <= rss_limit(bad.stat().st_size)


def test_malformed_escape_in_go_build_info(factory: Factory, tmp_path: Path) -> None:
    """``build\\t"\\xZZ"=…`` in the modinfo (same length, so the blob still frames): ``go version -m`` refuses the
    build info; depfree reports it unreadable as evidence, with no traceback."""
    binary = factory.go("plain")
    data = binary.read_bytes()
    m = re.search(rb"\nbuild\t-compiler=gc\n", data)
    assert m
    line = b"build\t-compiler=gc"
    bad_line = b'build\t"\\xZZ"='
    bad_line += b"g" * (len(line) - len(bad_line))
    bad = tmp_path / "badinfo"
    bad.write_bytes(data.replace(b"\n" + line + b"\n", b"\n" + bad_line + b"\n"))  # every copy of the modinfo
    gov = subprocess.run([str(factory.gobin()), "version", "-m", str(bad)], capture_output=True, text=True,
                         check=False)
    assert "-compiler=gc" not in gov.stdout  # Go does not read that setting either
    proc = depfree("inspect", "--json", str(bad))
    assert_clean(proc)
    assert proc.returncode == 0
    assert "escape \\\\x: expected 2 base-16 digits, found 'ZZ'" in proc.stdout
    # one entry point, one error policy: scan says the same of it as inspect (issue 18)
    scanned = depfree("scan", "--json", str(bad))
    assert_clean(scanned)
    assert scanned.returncode == 0, scanned.stderr
    [inspected] = json.loads(proc.stdout)["binaries"]
    [in_scan] = json.loads(scanned.stdout)["binaries"]
    assert in_scan["go"] == inspected["go"] and in_scan["targets"] == inspected["targets"]


# ---- error classes ------------------------------------------------------------------------------------------------

def test_every_reader_error_is_a_format_error() -> None:
    from depfree.golang.buildinfo import BuildInfoError
    from depfree.golang.pclntab import PclntabError
    from depfree.sources.archive import ArchiveError
    from depfree.sources.dpkg import DebError

    for cls in (BuildInfoError, PclntabError, ArchiveError, DebError):
        assert issubclass(cls, FormatError) and issubclass(cls, DepfreeError), cls


def _version_r(path: Path) -> int:
    """The file offset of .gnu.version_r, as readelf -VW shows it."""
    out = subprocess.run(["readelf", "-VW", str(path)], capture_output=True, text=True, check=True).stdout
    found = re.search(r"'\.gnu\.version_r'.*?\n\s*Addr: \S+\s+Offset: (0x[0-9a-f]+)", out, re.S)
    assert found, out
    return int(found.group(1), 16)


def test_version_need_entries_far_from_the_table_or_past_the_end(factory: Factory, tmp_path: Path) -> None:
    """The version-need table is read in one piece from its start (formats/elf/dynamic.py): an entry chained to
    beyond that piece is still read where it is, and one past the end of the file is a one-line FormatError naming
    the entry, for the chain of needs and for a need's chain of versions."""
    from depfree.formats.elf import ElfExecutable
    from depfree.formats.elf.dynamic import VERNEED_WINDOW
    from depfree.sources.file import FileSource
    from helpers.oracles import readelf_version_need_names

    hello = factory.c("hello.c")
    original = hello.read_bytes()
    table = _version_r(hello)
    _ver, cnt, _file, aux, _next = struct.unpack_from("<HHIII", original, table)
    expected = readelf_version_need_names(hello)
    assert cnt >= 2 and list(expected) == ["libc.so.6"] and len(expected["libc.so.6"]) == cnt

    def needs(data: bytes, name: str) -> dict[str, list[str]]:
        path = tmp_path / name
        path.write_bytes(data)
        with FileSource(path) as src:
            return {n.library: sorted(n.versions.values()) for n in ElfExecutable(src).version_needs}

    # the versions moved to the end of the file, past the piece read at once: the same needs
    far = bytearray(original + b"\0" * VERNEED_WINDOW)
    moved = len(far)
    far += original[table + aux : table + aux + 16 * cnt]  # (vna_next is relative: the chain holds)
    struct.pack_into("<I", far, table + 8, moved - table)
    assert needs(bytes(far), "far") == {lib: sorted(v) for lib, v in expected.items()}
    # a need's versions past the end of the file
    cut = bytearray(original)
    struct.pack_into("<I", cut, table + 8, len(original) - table + 8)
    with pytest.raises(FormatError, match=r"version-need aux entry at offset \d+ is cut off"):
        needs(bytes(cut), "aux-cut")
    # a second need (DT_VERNEEDNUM raised to 2), chained to past the end of the file
    cut = bytearray(original)
    p_offset, = struct.unpack_from("<Q", cut, next(at for at, typ in _phdrs(original) if typ == 2) + 8)
    for i in range(0, 4096, 16):
        tag, = struct.unpack_from("<q", cut, p_offset + i)
        assert tag != 0, "no DT_VERNEEDNUM"
        if tag == 0x6FFFFFFF:
            struct.pack_into("<Q", cut, p_offset + i + 8, 2)
            break
    struct.pack_into("<I", cut, table + 12, len(original) - table - 4)
    with pytest.raises(FormatError, match=r"version-need entry at offset \d+ is cut off"):
        needs(bytes(cut), "next-cut")
    for name in ("aux-cut", "next-cut"):
        proc = depfree("inspect", str(tmp_path / name))
        assert proc.returncode == 2 and "cut off" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
