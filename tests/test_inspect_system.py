"""`depfree inspect` on binaries installed by Debian agrees with readelf and `go version -m`.

Go programs packaged by Debian (skopeo, umoci, the Go 1.19 toolchain itself) are cgo builds: they must report dynamic
linkage, their NEEDED list and their real minimum glibc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import depfree
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m, readelf

DEBIAN_GO = ["/usr/bin/skopeo", "/usr/bin/umoci", "/usr/lib/go-1.19/bin/go", "/usr/lib/go-1.19/pkg/tool/linux_amd64/compile"]
GO119 = "/usr/lib/go-1.19/bin/go"


def _elf_files(root: str, limit: int) -> list[str]:
    out = []
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(p)
    # spread the sample over the directory instead of taking the first N
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def _compare(path: str) -> None:
    truth = readelf(path)
    b = depfree.inspect(path).binaries[0]
    assert b.linkage.interpreter == truth.interpreter
    assert b.linkage.needed == truth.needed
    assert b.linkage.rpath == truth.rpath
    assert b.linkage.runpath == truth.runpath
    assert b.linkage.min_glibc == truth.min_glibc
    assert b.bits == (64 if truth.klass == "ELF64" else 32)
    assert b.endian == ("little" if "little" in truth.data else "big")
    expect_type = {"EXEC": "exec", "REL": "relocatable", "CORE": "core"}.get(truth.elf_type)
    if expect_type:
        assert b.type == expect_type
    else:
        assert b.type in ("pie", "shared")
        assert (b.type == "pie") == (truth.interpreter is not None or "PIE" in truth.flags_1)
    if truth.interpreter:
        assert b.linkage.kind == "dynamic"
    # every symbol depfree names as requiring the minimum glibc is bound to that version in readelf --dyn-syms
    for s in b.linkage.glibc_symbols:
        assert truth.dynsym_versions.get(s.symbol) == s.version, s
    for req in b.linkage.versioned:
        tag = req.versions[-1]  # the highest NAME_x.y, or the name itself when it is not shaped so (Base)
        assert tag in (f"{req.family}_{req.min_version}", req.family)
        libs = [lib for lib, vs in truth.version_needs.items()
                if tag in vs or (tag == "GLIBC_2.36" and "GLIBC_ABI_DT_RELR" in vs)]
        assert req.library in libs


@pytest.mark.parametrize("path", _elf_files("/usr/bin", 40) + _elf_files("/usr/lib/x86_64-linux-gnu", 20))
def test_agrees_with_readelf_on_system_binaries(path: str) -> None:
    _compare(path)


@pytest.mark.parametrize("path", DEBIAN_GO)
def test_debian_go_programs(path: str) -> None:
    assert Path(path).exists(), f"{path} missing: CI installs skopeo, umoci and golang-1.19-go"
    _compare(path)
    b = depfree.inspect(path).binaries[0]
    truth = readelf(path)
    if truth.interpreter:  # the cgo builds (skopeo, umoci, go): dynamic against glibc
        assert b.linkage.kind == "dynamic"
        assert "libc.so.6" in b.linkage.needed
        assert b.linkage.libc.flavour == "glibc"
        assert b.linkage.min_glibc == truth.min_glibc
        assert b.verdict.startswith(f"dynamically linked Go binary: needs glibc ≥ {truth.min_glibc}")
    else:  # Debian's compile tool is a pure-Go build: no loader, no libc
        assert b.linkage.kind == "static" and truth.needed == []
        assert b.linkage.libc.flavour == "none"
        # "self-contained" only when no file is read from the machine (the compile tool links time.LoadLocation)
        assert b.verdict == "self-contained static Go binary" or b.verdict.startswith(
            "static Go binary: needs from the machine /usr/share/zoneinfo")
    gv = go_version_m(GO119, path)
    assert gv is not None and b.go is not None
    assert b.go.version == gv.go_version
    assert b.go.source == "buildinfo"
    assert (b.go.path or None) == gv.path
    assert b.go.settings == gv.settings
    assert [(d.path, d.version, d.sum) for d in b.go.deps] == [
        (d[0], d[1], d[2] if len(d) > 2 else "") for d in gv.deps]
    if "CGO_ENABLED" in gv.settings:
        assert b.go.cgo_enabled is (gv.settings["CGO_ENABLED"] == "1")
        # the setting only allows cgo: C code is linked when the program needs libc (readelf)
        assert b.go.cgo is ("libc.so.6" in truth.needed)
    else:  # GOPATH-mode distro builds carry no settings: cgo must come from the binary's own signs
        assert b.go.cgo is True and b.go.cgo_evidence


def test_cli_json_validates_against_schema() -> None:
    paths = ["/bin/ls", "/usr/bin/umoci", GO119]
    proc = subprocess.run([sys.executable, "-m", "depfree", "inspect", "--json", *paths], capture_output=True,
                          text=True, timeout=120, check=True)
    data = json.loads(proc.stdout)
    assert_valid_report(data)
    assert [b["path"] for b in data["binaries"]] == paths
    assert data["errors"] == []


def test_text_report_first_line_is_the_verdict() -> None:
    proc = subprocess.run([sys.executable, "-m", "depfree", "inspect", "/usr/bin/umoci"], capture_output=True,
                          text=True, timeout=60, check=True)
    first = proc.stdout.splitlines()[0]
    truth = readelf("/usr/bin/umoci")
    assert first == f"/usr/bin/umoci: dynamically linked Go binary: needs glibc ≥ {truth.min_glibc} via {truth.interpreter}"
