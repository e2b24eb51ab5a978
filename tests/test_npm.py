"""npm tarballs, the way ``npm pack`` fetches them from the registry: a per-platform package is the application and
the host is the target (data/contexts.toml, context ``app``). Each binary gets one verdict; what it needs from the
machine is listed as the machine's part, never as something missing from the package.

Ground truth: readelf (interpreter, NEEDED, the highest GLIBC_ version needed, a Go pclntab), pefile (the DLLs a PE imports), llvm-objdump (a Mach-O's LC_BUILD_VERSION minos), and real runs
of the Linux binaries in the verify sandbox (an empty root, a glibc root, a musl root)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from depfree.analysis.minimum import padded
from depfree.model import to_json
from depfree.sandbox import verify
from depfree.scan import scan
from depfree.targets.profiles import builtin
from helpers import packages
from helpers.factory import Factory
from helpers.oracles import pe_imported_dlls
from helpers.schema import assert_valid_report
from helpers.truth import readelf

SPECS = {
    "esbuild-linux": ("@esbuild/linux-x64@0.28.2", "package/bin/esbuild"),
    "esbuild-win": ("@esbuild/win32-x64@0.28.2", "package/esbuild.exe"),
    "esbuild-darwin": ("@esbuild/darwin-arm64@0.28.2", "package/bin/esbuild"),
    "biome-linux": ("@biomejs/cli-linux-x64@2.6.9", "package/biome"),
    "biome-win": ("@biomejs/cli-win32-x64@2.6.9", "package/biome.exe"),
}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def npm(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """name -> (the tarball npm pack fetched, its binary unpacked here for the oracles)."""
    out = {}
    tmp = tmp_path_factory.mktemp("npm")
    for name, (spec, member) in SPECS.items():
        tgz = packages.npm(factory, spec)
        with tarfile.open(tgz) as tf:
            tf.extract(member, tmp / name, filter="data")
        out[name] = (tgz, tmp / name / member)
    return out


def line_of(stdout: str, member: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if ln.lstrip()[:1] in "✓⚠✗" and f" {member} " in ln]
    return line.lstrip()


def test_static_go_binary_is_ok_and_its_needs_are_the_hosts(npm: dict[str, tuple[Path, Path]]) -> None:
    """esbuild for linux-x64: a static CGO_ENABLED=0 Go program. ✓, with the CA bundle and resolver files listed as
    the machine's part; it really starts in an empty root."""
    tgz, exe = npm["esbuild-linux"]
    elf = readelf(exe)
    assert elf.interpreter is None and elf.needed == []
    sections = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True, check=True).stdout
    assert ".gopclntab" in sections and ".go.buildinfo" not in sections  # Go, its build info stripped
    (run,) = verify(str(exe), ["scratch"], args=["--version"], expect_output=None)
    assert run.started and run.exit_code == 0 and run.stdout.strip() == "0.28.2"
    report = scan(tgz, jobs=1)
    assert not report.errors
    (container,) = report.containers or []
    assert container.context == "app" and container.verdict == "ok"
    (b,) = report.binaries
    assert b.go is not None and b.linkage.kind == "static"
    res = to_json(b.resolution)
    assert res["verdict"] == "ok" and res["missing"] == []
    files = {h["name"] for h in res["host"] if h["kind"] in ("file", "dir")}
    assert {"/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt"} <= files
    assert all(h["status"] != "unmet" for h in res["host"])
    assert_valid_report(report.to_json())
    proc = cli("scan", "--jobs", "1", str(tgz))
    assert proc.returncode == 0, proc.stderr
    line = line_of(proc.stdout, "package/bin/esbuild")
    assert line.startswith("✓") and "✗" not in line and "not in the" not in line
    assert "needs from the machine: /etc/ssl/certs/ca-certificates.crt, /etc/resolv.conf" in line
    # on the empty root it started in: no start-up failure, only the warnings of what it would read later
    proc = cli("scan", "--jobs", "1", "-t", "scratch", str(tgz))
    assert not line_of(proc.stdout, "package/bin/esbuild").startswith("✗")


def test_dynamic_rust_binary_needs_glibc_from_the_host(npm: dict[str, tuple[Path, Path]]) -> None:
    """biome for linux-x64: dynamic against glibc. Its interpreter and NEEDED (readelf) are host needs; on a target
    the verdict follows a real start: it runs in a glibc root and cannot start in a musl one."""
    tgz, exe = npm["biome-linux"]
    elf = readelf(exe)
    assert elf.interpreter and elf.needed
    (b,) = scan(tgz, jobs=1).binaries
    res = to_json(b.resolution)
    assert res["context"] == "app" and res["verdict"] == "ok" and res["missing"] == []
    host = {h["name"]: h for h in res["host"]}
    assert set(elf.needed) | {elf.interpreter} <= set(host)
    assert all(host[n]["kind"] == "library" for n in elf.needed)
    assert host[elf.interpreter]["kind"] == "interpreter"
    glibc = max((v.removeprefix("GLIBC_") for vs in elf.version_needs.values() for v in vs
                 if v.startswith("GLIBC_")), key=padded)
    assert b.linkage.min_glibc == glibc
    runs = {r.root: r for r in verify(str(exe), ["glibc", "musl"], args=["--version"], expect_output=None)}
    assert runs["glibc"].started and runs["glibc"].exit_code == 0 and "2.6.9" in runs["glibc"].stdout
    assert not runs["musl"].started and runs["musl"].failure == "interpreter-missing"
    profiles = builtin()
    for target, started in (("debian-12", True), ("alpine-3.20", False)):
        proc = cli("scan", "--jobs", "1", "-t", target, str(tgz))
        line = line_of(proc.stdout, "package/biome")
        if started:  # the glibc root is this machine's glibc: a target whose glibc is at least the one needed
            assert padded(profiles[target].libc_version or "0") >= padded(glibc)
            assert line.startswith("✓") and proc.returncode == 0, line
        else:
            assert line.startswith("✗") and f"unmet on {target}: interpreter {elf.interpreter}" in line


@pytest.mark.parametrize("name", ["esbuild-win", "biome-win"])
def test_windows_binaries_pass_current_windows(npm: dict[str, tuple[Path, Path]], name: str) -> None:
    """The DLLs pefile reads are the ones judged; each ships with Windows 10 and 11 (a C runtime DLL that is not
    part of Windows is a need, not a failure); the default targets of a PE are Windows ones."""
    tgz, exe = npm[name]
    imported = pe_imported_dlls(exe)
    (b,) = scan(tgz, jobs=1).binaries
    assert [lib.name for lib in b.linkage.libraries if not lib.delay_load] == imported
    assert to_json(b.resolution)["verdict"] == "ok" and to_json(b.resolution)["missing"] == []
    assert {c.target for c in b.targets or []} <= {n for n, p in builtin().items() if p.os == "windows"}
    for target in ("windows-10", "windows-11"):
        proc = cli("scan", "--jobs", "1", "-t", target, str(tgz))
        line = line_of(proc.stdout, SPECS[name][1])
        assert not line.startswith("✗"), line
        cell = next(c for c in json.loads(cli("targets", "--json", "-t", target, str(exe)).stdout)["targets"])
        assert cell["verdict"] != "fail", cell


def test_macos_binary_against_its_minimum(npm: dict[str, tuple[Path, Path]]) -> None:
    """esbuild for darwin-arm64: its minimum macOS is LC_BUILD_VERSION's minos (llvm-objdump); current macOS
    passes, an older one fails, and no Linux runtime file is judged on Darwin."""
    tgz, exe = npm["esbuild-darwin"]
    out = subprocess.run(["llvm-objdump", "--macho", "--private-headers", str(exe)], capture_output=True, text=True,
                         check=True).stdout
    minos = re.search(r"cmd LC_BUILD_VERSION.*?minos (\S+)", out, re.S)
    assert minos
    (b,) = scan(tgz, jobs=1).binaries
    assert to_json(b.resolution)["verdict"] == "ok"
    assert [h["name"] for h in to_json(b.resolution)["host"] if h["kind"] == "os"] == [f"macos ≥ {minos.group(1)}"]
    profiles = {n: p for n, p in builtin().items() if p.os == "darwin"}
    for target, p in profiles.items():
        proc = cli("scan", "--jobs", "1", "-t", target, str(tgz))
        line = line_of(proc.stdout, "package/bin/esbuild")
        assert line.startswith("✗") is (padded(minos.group(1)) > padded(p.os_version or "0")), (target, line)
        assert "/etc/" not in line and "zoneinfo" not in line


@pytest.mark.parametrize("name", sorted(SPECS))
def test_scan_and_targets_agree_on_every_target_of_its_os(npm: dict[str, tuple[Path, Path]], name: str) -> None:
    """Where the two verbs overlap they say the same: ``scan -t`` of the tarball on all the profiles of the
    binary's OS is as bad as the worst cell ``targets`` gives the unpacked binary, and names exactly the targets
    that are not ✓ there."""
    from depfree.analysis.context import Options

    tgz, exe = npm[name]
    os_name = {"linux": "linux", "win": "windows", "darwin": "darwin"}[name.split("-")[1]]
    names = [n for n, p in builtin().items() if p.os == os_name]
    proc = cli("targets", "--json", *[a for n in names for a in ("-t", n)], str(exe))
    cells = {c["target"]: c["verdict"] for c in json.loads(proc.stdout)["targets"]}
    assert set(cells) == set(names)
    (b,) = scan(tgz, jobs=1, options=Options(targets=names)).binaries
    order = ["ok", "warn", "fail"]
    assert to_json(b.resolution)["verdict"] == max(cells.values(), key=order.index), (cells, to_json(b.resolution)["host"])
    named = {h["name"] for h in to_json(b.resolution)["host"] if h["kind"] == "target"}
    assert named == {t for t, v in cells.items() if v != "ok"}
