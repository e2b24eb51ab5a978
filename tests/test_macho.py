"""Mach-O: dylibs, rpaths, minimum OS, universal binaries and Go facts — against LIEF and `go version -m`."""

from __future__ import annotations

import base64
import struct
import subprocess
import sys
from pathlib import Path

import lief
import pytest

import depfree
from depfree.model import to_json
from helpers.fat import write_fat
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m


def lief_dylibs(path: Path) -> list[str]:
    fat = lief.MachO.parse(str(path))
    return [lib.name for lib in fat.at(0).libraries]


@pytest.mark.parametrize("goarch", ["amd64", "arm64"])
def test_go_darwin(factory, goarch: str) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("nettool", goos="darwin", goarch=goarch)
    report = depfree.inspect(str(exe))
    assert_valid_report(report.to_json())
    b = report.binaries[0]
    fat = lief.MachO.parse(str(exe))  # keep the fat object alive: its slices borrow from it
    m = fat.at(0)
    assert b.format == "macho" and b.os == "darwin" and b.arch == goarch and b.bits == 64
    assert b.linkage.needed == [lib.name for lib in m.libraries]
    assert b.linkage.libc.flavour == "libsystem"
    assert all(lib.system for lib in b.linkage.libraries)
    assert b.verdict.endswith("apart from OS libraries")
    bv = m.build_version
    assert b.min_os is not None and b.min_os.os == "macos"
    assert b.min_os.version.split(".")[:2] == [str(x) for x in bv.minos[:2]]
    assert b.macho is not None and b.macho.pie == m.is_pie
    assert b.macho.code_signature.present == m.has_code_signature
    gv = go_version_m(factory.gobin(), exe, factory.goroot())
    assert gv is not None and b.go is not None
    assert b.go.version == gv.go_version and b.go.settings == gv.settings


def test_universal_binary_from_two_go_slices(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amd = factory.go("nettool", goos="darwin", goarch="amd64")
    arm = factory.go("nettool", goos="darwin", goarch="arm64")
    fat = factory.cached(("fat", str(amd), str(arm), amd.stat().st_size, arm.stat().st_size),
                         lambda out: write_fat(out, [amd, arm]), name="nettool-universal")
    parsed = lief.MachO.parse(str(fat))
    assert parsed.size == 2
    report = depfree.inspect(str(fat))
    assert_valid_report(report.to_json())
    assert [b.slice for b in report.binaries] == ["amd64", "arm64"]
    assert all(b.path == str(fat) for b in report.binaries)
    for b, ref in zip(report.binaries, (amd, arm), strict=True):
        single = depfree.inspect(str(ref)).binaries[0]
        assert b.go is not None and single.go is not None
        assert b.go.version == single.go.version and b.linkage.needed == single.linkage.needed
        assert b.size == single.size


@pytest.mark.parametrize("name", ["fat-gcc-386-amd64-darwin-exec", "gcc-amd64-darwin-exec",
                                  "clang-amd64-darwin-exec-with-rpath", "gcc-386-darwin-exec"])
def test_goroot_macho_testdata(factory, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    src = factory.goroot() / "src/debug/macho/testdata" / f"{name}.base64"
    f = tmp_path / name
    f.write_bytes(base64.b64decode(src.read_bytes()))
    parsed = lief.MachO.parse(str(f))
    report = depfree.inspect(str(f))
    assert len(report.binaries) == parsed.size
    for i, b in enumerate(report.binaries):
        m = parsed.at(i)
        assert b.linkage.needed == [lib.name for lib in m.libraries]
        assert b.linkage.rpath == [r.path for r in m.rpaths]
        assert b.bits == (64 if m.header.magic.name.endswith("64") else 32)


def _inspect_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", "inspect", str(path)], capture_output=True, text=True,
                          check=False)


def test_bad_macho_inputs(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("plain", goos="darwin", goarch="arm64")
    raw = exe.read_bytes()
    cases = {
        "absurd fat count": struct.pack(">II", 0xCAFEBABE, 40) + b"\0" * 100,
        "fat slice outside file": struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x0100000C, 0, 4096,
                                                                                     10**9, 14),
        "truncated header": raw[:20],
        "sizeofcmds past end": raw[:20] + struct.pack("<I", 0x7FFFFFFF) + raw[24:4096],
        "load command size zero": raw[:32] + struct.pack("<II", 0x19, 0) + raw[40:4096],
    }
    for what, data in cases.items():
        f = tmp_path / "bad"
        f.write_bytes(data)
        proc = _inspect_cli(f)
        assert "Traceback" not in proc.stderr, (what, proc.stderr)
        assert proc.returncode == 2, (what, proc.stdout)
        assert "Mach-O" in proc.stderr, (what, proc.stderr)


def test_sections_match_lief(factory) -> None:  # type: ignore[no-untyped-def]
    """Section addresses, file offsets and file sizes (zero for S_ZEROFILL sections like __bss) as LIEF reads them."""
    from depfree.formats.detect import open_executables
    from depfree.sources.file import FileSource

    exe_path = factory.go("nettool", goos="darwin", goarch="amd64")
    exe = open_executables(FileSource(exe_path))[0]
    mine = {(s.name, s.addr): s for s in exe.sections()}
    parsed = lief.MachO.parse(str(exe_path))  # keep the fat object alive: its slices borrow from it
    lief_sections = list(parsed.at(0).sections)
    assert len(mine) == len(lief_sections)
    for ls in lief_sections:
        s = mine[(ls.name, ls.virtual_address)]
        zerofill = ls.type in (lief.MachO.Section.TYPE.ZEROFILL, lief.MachO.Section.TYPE.GB_ZEROFILL,
                               lief.MachO.Section.TYPE.THREAD_LOCAL_ZEROFILL)
        assert (s.offset, s.size, s.file_size) == (ls.offset, ls.size, 0 if zerofill else ls.size), ls.name


def test_universal_slices_and_text_report(factory) -> None:  # type: ignore[no-untyped-def]
    amd = factory.go("nettool", goos="darwin", goarch="amd64")
    arm = factory.go("nettool", goos="darwin", goarch="arm64")
    fat = factory.cached(("fat", str(amd), str(arm), amd.stat().st_size, arm.stat().st_size),
                         lambda out: write_fat(out, [amd, arm]), name="nettool-universal")
    parsed = lief.MachO.parse(str(fat))
    expected = [{"arch": a, "offset": parsed.at(i).fat_offset, "size": p.stat().st_size}
                for i, (a, p) in enumerate((("amd64", amd), ("arm64", arm)))]
    for b in depfree.inspect(str(fat)).binaries:
        assert b.macho is not None and to_json(b.macho.slices) == expected
        assert b.macho.slice_offset == next(s["offset"] for s in expected if s["arch"] == b.slice)
    thin = depfree.inspect(str(amd)).binaries[0]
    assert thin.macho is not None and thin.macho.slices is None and thin.slice is None
    out = _inspect_cli(fat).stdout
    assert f"universal   amd64 at {expected[0]['offset']:,}, arm64 at {expected[1]['offset']:,}" in out
    assert f"{fat} [arm64]:" in out


def test_relative_dylib_must_ship_with_the_program(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An @rpath install name is not an OS library: the verdict says it must travel with the program. The fixture is
    a Go darwin binary whose libresolv load command is rewritten in place (same length, NUL padded)."""
    src = factory.go("nettool", goos="darwin", goarch="arm64")
    data = src.read_bytes()
    old, new = b"/usr/lib/libresolv.9.dylib\0", b"@rpath/libresolv.9.dylib\0"
    assert data.count(old) == 1
    f = tmp_path / "relative"
    f.write_bytes(data.replace(old, new.ljust(len(old), b"\0")))
    names = lief_dylibs(f)
    assert "@rpath/libresolv.9.dylib" in names
    report = depfree.inspect(str(f))
    assert_valid_report(report.to_json())
    b = report.binaries[0]
    assert b.linkage.needed == names
    lib = next(lib for lib in b.linkage.libraries if lib.name == "@rpath/libresolv.9.dylib")
    assert (lib.system, lib.kind) == (False, "relative")
    assert b.linkage.libc.flavour == "libsystem"
    assert b.verdict.endswith("needs @rpath/libresolv.9.dylib next to it")
    assert "non-system library @rpath/libresolv.9.dylib" in _inspect_cli(f).stdout


@pytest.mark.parametrize(("name", "how", "system", "kind", "weak"), [
    ("/usr/lib/libSystem.B.dylib", "load", True, "libsystem", False),
    ("/System/Library/Frameworks/Security.framework/Versions/A/Security", "weak", True, "os", True),
    ("@executable_path/../Frameworks/libfoo.dylib", "load", False, "relative", False),
    ("@loader_path/libbar.dylib", "reexport", False, "relative", False),
    ("/usr/local/lib/libfoo.dylib", "load", False, "third-party", False),
    ("/opt/homebrew/lib/libssl.3.dylib", "load", False, "third-party", False),
])
def test_dylib_classification(name: str, how: str, system: bool, kind: str, weak: bool) -> None:
    """Apple's documented layout: OS libraries live under /usr/lib and /System/Library; anything else ships."""
    from depfree.analysis.oslibs import classify_dylib

    lib = classify_dylib(name, how)
    assert (lib.system, lib.kind, lib.weak) == (system, kind, weak)


def test_bad_fat_header_cases(tmp_path: Path) -> None:
    """Fat64, a slice overlapping nothing valid, and a zero slice count: clear errors, no traceback."""
    cases = {
        "zero slices": struct.pack(">II", 0xCAFEBABF, 0) + b"\0" * 64,
        "slice table cut off": struct.pack(">II", 0xCAFEBABE, 3) + b"\0" * 20,
        "slice is not Mach-O": struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x01000007, 3, 64, 64, 0)
        + b"\0" * 36 + b"junk" * 16,
    }
    for what, data in cases.items():
        f = tmp_path / "bad"
        f.write_bytes(data)
        proc = _inspect_cli(f)
        assert "Traceback" not in proc.stderr, (what, proc.stderr)
        assert proc.returncode == 2, (what, proc.stdout, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, (what, proc.stderr)
