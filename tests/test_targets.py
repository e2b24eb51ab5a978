"""Runtime needs and target verdicts, checked against independent facts (readelf's version needs, each target's
documented glibc in data/targets.toml, GOROOT source) and confirmed by real runs in constructed roots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import depfree
from depfree.analysis.context import Options
from depfree.model import to_json
from depfree.targets.profiles import builtin
from depfree.versions import version_key
from helpers.truth import readelf

ALL = sorted(builtin())


def targets_json(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "depfree", "targets", "--json", *args], capture_output=True,
                          text=True, check=False)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def cells(path: Path, targets: list[str] | None = None) -> dict[str, dict]:
    b = depfree.inspect(str(path), options=Options(targets=targets or ALL)).binaries[0]
    return {t["target"]: t for t in to_json(b.targets or [])}


def codes(cell: dict) -> set[str]:
    return {r["code"] for r in cell["reasons"]}


@pytest.fixture(scope="module")
def bins(factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    return {
        "static": factory.go("nettool"),
        "tagged": factory.go("nettool", tags="netgo,osusergo,timetzdata"),
        "cgo": factory.go("nettool", cgo=True),
        "v3": factory.go("plain", env={"GOAMD64": "v3"}),
        "arm64": factory.go("nettool", goarch="arm64"),
        "windows": factory.go("nettool", goos="windows"),
        "musl": factory.c("hello.c", cc="musl-gcc", flags=("-static",)),
        "go-musl": factory.go("nettool", cgo=True, ldflags="-linkmode external -extldflags -static",
                              env={"CC": "musl-gcc"}),
    }


def test_there_are_all_the_profiles_the_issue_names() -> None:
    for name in ("scratch", "distroless-static", "distroless-base", "busybox-musl", "busybox-glibc", "alpine-3.19",
                 "alpine-3.20", "debian-10", "debian-11", "debian-12", "ubuntu-18.04", "ubuntu-20.04", "ubuntu-22.04",
                 "ubuntu-24.04", "centos-7", "rhel-8", "rhel-9", "amazonlinux-2", "amazonlinux-2023", "windows-10",
                 "windows-server-2016", "macos-11", "macos-12"):
        assert name in ALL and builtin()[name].source


def test_cgo_matrix_follows_readelf_and_documented_glibc(bins) -> None:  # type: ignore[no-untyped-def]
    truth = readelf(bins["cgo"])
    row = cells(bins["cgo"])
    for name, p in builtin().items():
        cell = row[name]
        if p.os != "linux":
            assert cell["verdict"] == "fail" and "os-mismatch" in codes(cell)
            continue
        if truth.interpreter not in p.interpreters:
            assert "interpreter-missing" in codes(cell) and cell["verdict"] == "fail", name
            continue
        too_old = p.libc == "glibc" and version_key(truth.min_glibc) > version_key(p.libc_version)  # type: ignore[arg-type]
        assert ("glibc-too-old" in codes(cell)) == too_old, name
        if too_old:
            assert cell["verdict"] == "fail"
            msg = next(r["message"] for r in cell["reasons"] if r["code"] == "glibc-too-old")
            assert f"GLIBC_{truth.min_glibc}" in msg and p.libc_version in msg
    assert row["centos-7"]["verdict"] == "fail"
    assert all(r["fix"] for c in row.values() for r in c["reasons"])


def test_static_go_warns_about_files_and_tags_remove_them(bins) -> None:  # type: ignore[no-untyped-def]
    static, tagged = cells(bins["static"]), cells(bins["tagged"])
    assert static["scratch"]["verdict"] == "warn"
    assert {"ca-bundle-missing", "zoneinfo-missing", "userdb-missing"} <= codes(static["scratch"])
    assert "zoneinfo-missing" not in codes(tagged["scratch"])  # -tags timetzdata embeds the database
    assert "interpreter-missing" not in codes(static["alpine-3.20"])
    assert static["debian-12"]["verdict"] == "ok"
    needs = {n.what for n in depfree.inspect(str(bins["static"])).binaries[0].needs or []}
    assert {"/etc/ssl/certs/ca-certificates.crt", "/etc/resolv.conf", "/usr/share/zoneinfo", "/etc/passwd"} <= needs


def test_goamd64_v3_warns_about_cpu_level(bins) -> None:  # type: ignore[no-untyped-def]
    row = cells(bins["v3"])
    assert "cpu-level" in codes(row["debian-12"]) and row["debian-12"]["verdict"] == "warn"
    b = depfree.inspect(str(bins["v3"])).binaries[0]
    assert any(n.kind == "cpu" and n.what == "x86-64-v3" for n in b.needs or [])


def test_arch_and_os_mismatch_are_failures_not_crashes(bins, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    custom = tmp_path / "targets.toml"
    custom.write_text('[amd64-box]\nos = "linux"\narch = ["amd64"]\nlibc = "glibc"\nlibc_version = "2.36"\n'
                      'files = ["/etc/ssl/certs/ca-certificates.crt"]\ninterpreters = ["/lib64/ld-linux-x86-64.so.2"]\n')
    rc, data = targets_json(str(bins["arm64"]), str(bins["windows"]), "--targets-file", str(custom),
                            "-t", "amd64-box", "-t", "windows-10")
    assert rc == 1
    by = {(Path(t["binary"]).name, t["target"]): t for t in data["targets"]}
    assert "arch-mismatch" in codes(by[("nettool", "amd64-box")])
    assert "os-mismatch" in codes(by[("nettool.exe", "amd64-box")])
    assert by[("nettool.exe", "windows-10")]["verdict"] in ("ok", "warn")


def test_musl_static_runs_everywhere_on_linux(bins) -> None:  # type: ignore[no-untyped-def]
    row = cells(bins["musl"], ["scratch", "busybox-musl", "alpine-3.20", "centos-7"])
    assert all(c["verdict"] == "ok" for c in row.values()), row


def test_go_linked_statically_with_musl(bins) -> None:  # type: ignore[no-untyped-def]
    """CC=musl-gcc go build -ldflags '-linkmode external -extldflags -static': no loader anywhere; musl reads
    /etc/passwd itself (no NSS), so the user database is still a need."""
    truth = readelf(bins["go-musl"])
    assert truth.interpreter is None and truth.needed == []
    b = depfree.inspect(str(bins["go-musl"])).binaries[0]
    assert b.linkage.libc.flavour == "musl" and b.go is not None and b.go.cgo is True
    assert "/etc/passwd" in {n.what for n in b.needs or []}
    row = cells(bins["go-musl"], ["scratch", "alpine-3.20", "centos-7", "debian-12"])
    assert row["centos-7"]["verdict"] == "ok" and row["debian-12"]["verdict"] == "ok"
    assert row["scratch"]["verdict"] == "warn" and "interpreter-missing" not in codes(row["scratch"])


def test_verdicts_agree_with_real_runs(bins) -> None:  # type: ignore[no-untyped-def]
    """scratch: the cgo build fails (interpreter), the static build starts; busybox-musl: the musl static C program
    runs — the static verdicts and reality agree."""
    from depfree.sandbox import verify

    assert cells(bins["cgo"], ["scratch"])["scratch"]["verdict"] == "fail"
    assert verify(str(bins["cgo"]), ["scratch"])[0].failure == "interpreter-missing"
    assert cells(bins["static"], ["scratch"])["scratch"]["verdict"] == "warn"
    assert verify(str(bins["static"]), ["scratch"])[0].started
    assert cells(bins["musl"], ["busybox-musl"])["busybox-musl"]["verdict"] == "ok"
    run = verify(str(bins["musl"]), ["busybox"])[0]
    assert run.started and run.exit_code == 0


def test_errors(tmp_path: Path, bins) -> None:  # type: ignore[no-untyped-def]
    cmd = [sys.executable, "-m", "depfree", "targets"]
    unknown = subprocess.run([*cmd, str(bins["static"]), "-t", "alpine-9"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown target 'alpine-9'" in unknown.stderr and "debian-12" in unknown.stderr
    for text, expect in (('[x]\nos = "linux"\narch = 7\n', "'arch' must be a string or a list of strings"),
                         ('[x]\nos = "linux"\nflavor = "y"\n', "unknown key 'flavor'"),
                         ('[x]\nos = "linux"\n', "is missing"),
                         ("[x\n", "not valid TOML")):
        f = tmp_path / "t.toml"
        f.write_text(text)
        proc = subprocess.run([*cmd, str(bins["static"]), "--targets-file", str(f)], capture_output=True, text=True)
        assert proc.returncode == 2 and expect in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    missing = subprocess.run([*cmd, str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
