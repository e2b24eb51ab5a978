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
    m = lief.MachO.parse(str(exe)).at(0)
    assert b.format == "macho" and b.os == "darwin" and b.arch == goarch and b.bits == 64
    assert b.linkage.needed == [lib.name for lib in m.libraries]
    assert b.linkage.libc.flavour == "libsystem"
    assert all(lib.system for lib in b.linkage.libraries)
    assert b.verdict.endswith("apart from OS libraries")
    bv = m.build_version
    assert b.min_os is not None and b.min_os.os == "macos"
    assert b.min_os.version.split(".")[:2] == [str(x) for x in bv.minos[:2]]
    assert b.macho is not None and b.macho["pie"] == m.is_pie
    assert b.macho["code_signature"]["present"] == m.has_code_signature
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
