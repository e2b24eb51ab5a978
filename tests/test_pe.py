"""PE: imports, C runtime flavour, minimum Windows, Go facts — against objdump -p (binutils-mingw-w64), LIEF and
`go version -m`."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import lief
import pytest

import depfree
from helpers.gofixtures import go_tool_nm
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m

OBJDUMP = "x86_64-w64-mingw32-objdump"


def objdump_imports(path: Path) -> tuple[list[str], str]:
    out = subprocess.run([OBJDUMP, "-p", str(path)], capture_output=True, text=True, check=True).stdout
    dlls = re.findall(r"DLL Name: (\S+)", out)
    sub = re.search(r"MajorSubsystemVersion\s+(\d+)\s+MinorSubsystemVersion\s+(\d+)", out)
    return dlls, f"{sub.group(1)}.{sub.group(2)}" if sub else ""


def objdump_functions(path: Path) -> dict[str, list[str]]:
    """{DLL: [imported names]} from the "DLL Name:" blocks of ``objdump -p``."""
    out = subprocess.run([OBJDUMP, "-p", str(path)], capture_output=True, text=True, check=True).stdout
    funcs: dict[str, list[str]] = {}
    for block in re.findall(r"DLL Name: (\S+)\n\tvma:[^\n]*\n((?:\t[0-9a-f]+\t[^\n]*\n)*)", out):
        funcs[block[0]] = [line.split()[-1] for line in block[1].splitlines()]
    return funcs


def objdump_sections(path: Path) -> list[tuple[str, int, int]]:
    """(name, VMA, file offset) per section from ``objdump -h`` (long names resolved through the string table)."""
    out = subprocess.run([OBJDUMP, "-h", str(path)], capture_output=True, text=True, check=True).stdout
    return [(m[0], int(m[1], 16), int(m[2], 16))
            for m in re.findall(r"^\s*\d+ (\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out, re.M)]


@pytest.mark.parametrize("cc", ["x86_64-w64-mingw32-gcc", "i686-w64-mingw32-gcc"])
def test_mingw_sections_imports_and_text(factory, cc: str) -> None:  # type: ignore[no-untyped-def]
    """Sections (with /N long names), imported functions per DLL, and the text report's pe part, against objdump."""
    from depfree.formats.detect import open_executables
    from depfree.sources.file import FileSource

    exe_path = factory.c("hello.c", cc=cc)
    exe = open_executables(FileSource(exe_path))[0]
    assert [(s.name, s.addr, s.offset) for s in exe.sections()] == objdump_sections(exe_path)
    assert any(s.name == ".debug_info" for s in exe.sections())  # a long name, stored as /N
    funcs = objdump_functions(exe_path)
    b = depfree.inspect(str(exe_path)).binaries[0]
    assert {lib.name: lib.functions for lib in b.linkage.libraries} == funcs
    assert b.pe is not None and [i.dll for i in b.pe.imports] == list(funcs)
    assert b.pe.delay_imports == [] and b.pe.signature.present is False
    text = subprocess.run([sys.executable, "-m", "depfree", "inspect", str(exe_path)], capture_output=True,
                          text=True, check=True).stdout
    assert "subsystem   console" in text and "Authenticode signature absent" in text
    for dll, names in funcs.items():
        assert f"imports     {dll}: {len(names)} functions" in text


@pytest.mark.parametrize(("dll", "system", "kind"), [
    ("KERNEL32.dll", True, "os"),
    ("ws2_32.dll", True, "os"),
    ("api-ms-win-core-synch-l1-2-0.dll", True, "os"),
    ("api-ms-win-crt-runtime-l1-1-0.dll", True, "c-runtime:ucrt"),
    ("ucrtbase.dll", True, "c-runtime:ucrt"),
    ("msvcrt.dll", True, "c-runtime:msvcrt"),
    ("VCRUNTIME140.dll", False, "c-runtime:vcruntime"),
    ("MSVCP140.dll", False, "c-runtime:vcruntime"),
    ("libgcc_s_seh-1.dll", False, "c-runtime:mingw"),
    ("libwinpthread-1.dll", False, "c-runtime:mingw"),
    ("libstdc++-6.dll", False, "c-runtime:mingw"),
    ("zlib1.dll", False, "third-party"),
])
def test_dll_classification(dll: str, system: bool, kind: str) -> None:
    """Microsoft's documented system DLLs / API sets / CRT names and mingw-w64's runtime DLL names."""
    from depfree.analysis.oslibs import classify_dll

    lib = classify_dll(dll, ["f"], delay=True)
    assert (lib.system, lib.kind, lib.delay_load, lib.functions) == (system, kind, True, ["f"])


def test_c_runtime_flavour_prefers_the_most_specific() -> None:
    """An MSVC program imports vcruntime140.dll and the UCRT API sets: its runtime is vcruntime (which needs the
    Visual C++ Redistributable), not ucrt."""
    from depfree.analysis.oslibs import classify_dll, windows_c_runtime

    libs = [classify_dll(n) for n in ("KERNEL32.dll", "api-ms-win-crt-runtime-l1-1-0.dll", "VCRUNTIME140.dll")]
    assert windows_c_runtime(libs).flavour == "vcruntime"
    assert windows_c_runtime(libs[:2]).flavour == "ucrt"
    assert windows_c_runtime(libs[:1]).flavour == "none"


@pytest.mark.parametrize("cc", ["x86_64-w64-mingw32-gcc", "i686-w64-mingw32-gcc"])
def test_mingw_c_program(factory, cc: str) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", cc=cc)
    dlls, subsystem = objdump_imports(exe)
    report = depfree.inspect(str(exe))
    assert_valid_report(report.to_json())
    b = report.binaries[0]
    assert b.format == "pe" and b.os == "windows"
    assert b.arch == ("amd64" if cc.startswith("x86_64") else "386")
    assert b.bits == (64 if cc.startswith("x86_64") else 32)
    assert b.linkage.kind == "dynamic"
    assert b.linkage.needed == dlls
    assert b.min_os is not None and b.min_os.version.split(".")[0] >= subsystem.split(".")[0]
    assert b.linkage.libc.flavour == "msvcrt"  # mingw-w64's default C runtime
    assert b.go is None
    assert b.verdict.endswith("apart from OS libraries")


def test_mingw_libgcc_dll_needs_to_ship_alongside(factory) -> None:  # type: ignore[no-untyped-def]
    """A C++ program linked against the shared libstdc++/libgcc runtime needs those DLLs next to the .exe."""
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc", flags=("-shared-libgcc", "-lssp"))
    dlls, _ = objdump_imports(exe)
    b = depfree.inspect(str(exe)).binaries[0]
    assert b.linkage.needed == dlls
    non_system = [lib.name for lib in b.linkage.libraries if not lib.system]
    expected = [d for d in dlls if d.lower().startswith(("libgcc_s", "libssp", "libwinpthread", "libstdc++"))]
    assert non_system == expected
    if expected:
        assert b.verdict.endswith(f"needs {', '.join(expected[:4])} next to it")


@pytest.mark.parametrize(("goarch", "bits"), [("amd64", 64), ("386", 32), ("arm64", 64)])
def test_go_windows(factory, goarch: str, bits: int) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("nettool", goos="windows", goarch=goarch)
    b = depfree.inspect(str(exe)).binaries[0]
    lb = lief.parse(str(exe))
    assert [imp.name for imp in lb.imports] == b.linkage.needed
    funcs = {imp.name: [e.name for e in imp.entries] for imp in lb.imports}
    assert {lib.name: lib.functions for lib in b.linkage.libraries} == funcs
    assert (b.arch, b.bits, b.os) == (goarch, bits, "windows")
    gv = go_version_m(factory.gobin(), exe, factory.goroot())
    assert gv is not None and b.go is not None
    assert b.go.version == gv.go_version and b.go.settings == gv.settings
    assert b.linkage.libc.flavour == "none"
    assert b.pe is not None and b.pe.subsystem == "console"
    oh = lb.optional_header
    assert b.min_os is not None
    assert b.min_os.version == max(f"{oh.major_subsystem_version}.{oh.minor_subsystem_version}",
                                   f"{oh.major_operating_system_version}.{oh.minor_operating_system_version}",
                                   key=lambda v: tuple(map(int, v.split("."))))


def test_go_windows_cgo(factory) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("nettool", goos="windows", goarch="amd64", cgo=True)
    b = depfree.inspect(str(exe)).binaries[0]
    lb = lief.parse(str(exe))
    assert b.linkage.needed == [imp.name for imp in lb.imports]
    assert b.go is not None and b.go.cgo_enabled is True
    # CGO_ENABLED=1 only allows cgo: net has no C code on Windows, so runtime/cgo's C part is linked only if the
    # symbol table (go tool nm) has it
    syms = go_tool_nm(factory, exe)
    assert b.go.cgo is ("x_cgo_init" in syms or any(n.startswith("runtime/cgo.") for n in syms))


def test_goroot_pe_testdata(factory) -> None:  # type: ignore[no-untyped-def]
    td = factory.goroot() / "src/debug/pe/testdata"
    for name in ("gcc-386-mingw-exec", "gcc-amd64-mingw-exec", "gcc-386-mingw-no-symbols-exec"):
        lb = lief.parse(str(td / name))
        b = depfree.inspect(str(td / name)).binaries[0]
        assert b.linkage.needed == [imp.name for imp in lb.imports]
        assert b.arch == ("386" if "386" in name else "amd64")


def _pe_copy(tmp_path: Path, src: Path, patch: callable) -> Path:  # type: ignore[valid-type]
    data = bytearray(src.read_bytes())
    patch(data)
    out = tmp_path / "bad.exe"
    out.write_bytes(bytes(data))
    return out


def test_bad_pe_inputs(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    raw = exe.read_bytes()
    lfanew = struct.unpack_from("<I", raw, 0x3C)[0]
    cases = {
        "truncated DOS header": lambda d: d.__delitem__(slice(40, None)),
        "e_lfanew past EOF": lambda d: struct.pack_into("<I", d, 0x3C, len(d) + 100),
        "truncated headers": lambda d: d.__delitem__(slice(lfanew + 30, None)),
        "import directory outside the file": lambda d: struct.pack_into(
            "<I", d, lfanew + 24 + (112 if struct.unpack_from("<H", d, lfanew + 24)[0] == 0x20B else 96) + 8,
            0x7FFF0000),
        "no PE signature": lambda d: d.__setitem__(slice(lfanew, lfanew + 4), b"XX\0\0"),
    }
    for what, patch in cases.items():
        bad = _pe_copy(tmp_path, exe, patch)
        proc = subprocess.run(["python", "-m", "depfree", "inspect", str(bad)], capture_output=True, text=True,
                              check=False)
        assert "Traceback" not in proc.stderr, (what, proc.stderr)
        assert proc.returncode == 2, (what, proc.stdout)
        assert "PE" in proc.stderr, (what, proc.stderr)
