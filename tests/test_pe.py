"""PE: imports, C runtime flavour, minimum Windows, Go facts — against objdump -p (binutils-mingw-w64), LIEF and
`go version -m`."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import lief
import pytest

import depfree
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m

OBJDUMP = "x86_64-w64-mingw32-objdump"


def objdump_imports(path: Path) -> tuple[list[str], str]:
    out = subprocess.run([OBJDUMP, "-p", str(path)], capture_output=True, text=True, check=True).stdout
    dlls = re.findall(r"DLL Name: (\S+)", out)
    sub = re.search(r"MajorSubsystemVersion\s+(\d+)\s+MinorSubsystemVersion\s+(\d+)", out)
    return dlls, f"{sub.group(1)}.{sub.group(2)}" if sub else ""


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
    assert b.pe is not None and b.pe["subsystem"] == "console"
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
    assert b.go is not None and b.go.cgo is True


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
