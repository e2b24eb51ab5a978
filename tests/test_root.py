"""``--root DIR``: binaries judged as installed on a root filesystem, their libraries looked up the way the loader
would, without running anything. Ground truth: ``ldd`` (the loader itself, run only on the host's own binaries and
on binaries built here) and lddtree from pax-utils (``lddtree --root``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from depfree.model import to_json
from depfree.scan import scan
from helpers import packages
from helpers.factory import Factory


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def ldd_not_found(path: str) -> list[str]:
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if "not found" in line]


def lddtree(path: str, root: str = "/") -> tuple[set[str], set[str]]:
    """(real paths found, names not found) by pax-utils' lddtree (a Python script: run with the venv's Python,
    which has pyelftools)."""
    tool = shutil.which("lddtree")
    assert tool, "lddtree is in pax-utils (see .ci/apt-packages.txt)"
    out = subprocess.run([sys.executable, tool, "-R", root, "-l", path], capture_output=True, text=True,
                         check=True).stdout.split()[1:]
    found = {os.path.realpath(p) for p in out if p.startswith(root.rstrip("/") + "/") or p.startswith("/")}
    return found, {p for p in out if "/" not in p}


@pytest.fixture(scope="module")
def built(factory: Factory) -> dict[str, Path]:
    """A shared library with a soname, a program NEEDing it without any RUNPATH, and one with RUNPATH $ORIGIN."""
    lib = factory.c("hello.c", flags=("-shared", "-fPIC", "-Wl,-soname,libdepfreetest.so.1"))
    return {
        "lib": lib,
        "plain": factory.c("hello.c", flags=(str(lib),)),
        "origin": factory.c("hello.c", flags=(str(lib), "-Wl,-rpath,$ORIGIN")),
    }


def test_root_slash_fails_exactly_what_ldd_cannot_find(built: dict[str, Path], tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "b").mkdir()
    shutil.copy2(built["plain"], tree / "a" / "app")  # libdepfreetest.so.1 is nowhere the loader looks
    shutil.copy2(built["origin"], tree / "b" / "app")
    shutil.copy2(built["lib"], tree / "b" / "libdepfreetest.so.1")  # beside it: found through $ORIGIN
    report = scan(tree, jobs=1, root="/")
    verdicts = {Path(b.path).relative_to(tree).as_posix(): to_json(b.resolution) for b in report.binaries}
    assert ldd_not_found(str(tree / "a" / "app")) == ["libdepfreetest.so.1"]
    assert ldd_not_found(str(tree / "b" / "app")) == []
    assert verdicts["a/app"]["verdict"] == "fail" and verdicts["a/app"]["context"] == "root"
    assert [m["name"] for m in verdicts["a/app"]["missing"]] == ["libdepfreetest.so.1"]
    assert verdicts["b/app"]["verdict"] == "ok"
    found, _ = lddtree(str(tree / "b" / "app"))
    ours = {os.path.realpath(e["path"]) for e in verdicts["b/app"]["libraries"] if e["path"]}
    assert ours | {os.path.realpath(verdicts["b/app"]["interpreter"])} == found
    out = cli("scan", "--jobs", "1", "--root", "/", str(tree)).stdout
    assert "missing from the root: libdepfreetest.so.1" in out


def test_usr_bin_against_slash_agrees_with_ldd_and_lddtree() -> None:
    report = scan("/usr/bin", jobs=2, root="/")
    dynamic = [b for b in report.binaries if b.format == "elf" and b.linkage.needed and b.slice is None]
    assert len(dynamic) > 100
    failed = {b.path for b in report.binaries if to_json(b.resolution)["verdict"] == "fail"}
    truth = {b.path for b in dynamic if ldd_not_found(b.path)}
    assert failed == truth
    for b in dynamic[::40]:  # the whole closure of libraries, as lddtree walks it
        found, missing = lddtree(b.path)
        ours = {os.path.realpath(e["path"]) for e in to_json(b.resolution)["libraries"] if e["path"]}
        if to_json(b.resolution)["interpreter"]:
            ours.add(os.path.realpath(to_json(b.resolution)["interpreter"]))
        assert ours == found and not missing, b.path


@pytest.fixture(scope="module")
def debian_root(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root filesystem made of real Debian packages (dpkg-deb -x): zstd and the libraries it needs."""
    root = tmp_path_factory.mktemp("debroot") / "root"
    for name in ("zstd", "libc6", "liblzma5", "liblz4-1", "zlib1g", "libzstd1"):
        subprocess.run(["dpkg-deb", "-x", str(packages.deb(factory, name)), str(root)], check=True)
    return root


def test_debian_root_like_lddtree_root(debian_root: Path) -> None:
    zstd = debian_root / "usr" / "bin" / "zstd"
    _, missing = lddtree("/usr/bin/zstd", str(debian_root))
    assert missing == set()
    report = scan(zstd, jobs=1, root=str(debian_root))
    (b,) = report.binaries
    assert to_json(b.resolution)["context"] == "root" and to_json(b.resolution)["verdict"] == "ok"
    lz4 = next(p for p in (debian_root / "usr" / "lib" / "x86_64-linux-gnu").glob("liblz4.so.1*") if not p.is_symlink())
    backup = lz4.with_name("moved-away")
    lz4.rename(backup)
    try:
        _, missing = lddtree("/usr/bin/zstd", str(debian_root))
        assert missing == {"liblz4.so.1"}
        report = scan(zstd, jobs=1, root=str(debian_root))
        (b,) = report.binaries
        assert to_json(b.resolution)["verdict"] == "fail"
        assert [m["name"] for m in to_json(b.resolution)["missing"]] == sorted(missing)
        # inspect and targets say the same on that root
        first = cli("inspect", "--root", str(debian_root), str(zstd)).stdout.splitlines()[1]
        assert "✗ on the root: missing from the root: liblz4.so.1" in first
        proc = cli("targets", "--json", "--root", str(debian_root), str(zstd))
        assert proc.returncode == 1
        cell = next(c for c in json.loads(proc.stdout)["targets"] if c["target"].startswith("root:"))
        assert cell["verdict"] == "fail" and "liblz4.so.1 not in" in cell["reasons"][0]["message"]
    finally:
        backup.rename(lz4)


def test_targets_root_is_a_linux_machine(factory: Factory) -> None:
    exe = factory.go("plain", goos="windows")
    proc = cli("targets", "--json", "--root", "/", str(exe))
    cell = next(c for c in json.loads(proc.stdout)["targets"] if c["target"] == "root:/")
    assert proc.returncode == 1 and cell["verdict"] == "fail"
    assert [r["code"] for r in cell["reasons"]] == ["os-mismatch"]


def test_root_errors(tmp_path: Path) -> None:
    for verb in ("scan", "inspect", "targets"):
        proc = cli(verb, "--root", str(tmp_path / "nowhere"), "/usr/bin/true")
        assert proc.returncode == 2 and "--root" in proc.stderr and "expected a directory" in proc.stderr


def test_an_archive_laid_over_a_root(debian_root: Path, tmp_path: Path) -> None:
    """A release tarball judged with --root: the package first, then the root (what unpacking it there gives)."""
    (tmp_path / "pkg" / "bin").mkdir(parents=True)
    shutil.copy2(debian_root / "usr" / "bin" / "zstd", tmp_path / "pkg" / "bin" / "zstd")
    tgz = tmp_path / "zstd.tar.gz"
    subprocess.run(["tar", "-czf", str(tgz), "-C", str(tmp_path / "pkg"), "."], check=True)
    _, missing = lddtree("/usr/bin/zstd", str(debian_root))  # the same bytes, where Debian puts them
    assert missing == set()
    (b,) = scan(tgz, jobs=1, root=str(debian_root)).binaries
    assert to_json(b.resolution)["context"] == "root" and to_json(b.resolution)["verdict"] == "ok"
    empty = tmp_path / "empty"
    empty.mkdir()
    (b,) = scan(tgz, jobs=1, root=str(empty)).binaries
    names = {m["name"] for m in to_json(b.resolution)["missing"]}
    assert to_json(b.resolution)["verdict"] == "fail" and "/lib64/ld-linux-x86-64.so.2" in names and "libc.so.6" in names
