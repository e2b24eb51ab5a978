"""A Debian root made by Debian's bootstrapper (mmdebstrap --variant=minbase, tests/helpers/debootstrap.py), and
that root as a container image: ``scan --root``, ``targets --root`` and the scan of the image, judged against the
root's own dpkg database (written by dpkg itself).

Ground truth: lddtree (pax-utils, ``lddtree -R ROOT``), the root's own loader through ``chroot ROOT ldd`` and the
root's own ``readlink -f`` (only the root's trusted Debian binaries are run, never an inspected program), readelf,
and ``dpkg --admindir`` / ``dpkg-query --admindir`` against the root's database."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from depfree.model import to_json
from depfree.scan import scan
from helpers.debootstrap import ZSTD, debian_root, root_image
from helpers.factory import Factory
from helpers.truth import readelf


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def root(factory: Factory) -> Path:
    if os.geteuid() != 0:
        pytest.skip("chroot (the root's own loader as the oracle) needs root")
    return debian_root(factory)


def in_root(root: Path, paths: list[str]) -> list[str]:
    """Each path with its symlinks resolved inside the root, by the root's own ``readlink -f``."""
    if not paths:
        return []
    out = subprocess.run(["chroot", str(root), "/usr/bin/readlink", "-f", *paths], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return out[:len(paths)]


def lddtree(root: Path, paths: list[str], auto_root: bool = True) -> dict[str, tuple[set[str], set[str]]]:
    """path -> (files found, in the root's terms; names not found), by one ``lddtree -R ROOT -a`` run over all
    the paths (``--no-auto-root`` for a program outside the root)."""
    tool = shutil.which("lddtree")
    assert tool, "lddtree is in pax-utils (see .ci/apt-packages.txt)"
    cmd = [sys.executable, tool, "-R", str(root), "-a", *([] if auto_root else ["--no-auto-root"]), *paths]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    prefix = str(root).rstrip("/")
    blocks: dict[str, tuple[list[str], set[str]]] = {}
    cur: tuple[list[str], set[str]] = ([], set())
    for line in out.splitlines():
        if not line.startswith(" "):
            head = line.split(" (", 1)[0].removeprefix(prefix) if auto_root else line.split(" (", 1)[0]
            cur = blocks.setdefault(head, ([], set()))
            m = re.search(r"\(interpreter => (\S+)\)", line)
            if m and m.group(1).startswith(prefix + "/"):
                cur[0].append(m.group(1))
            continue
        name, _, where = line.strip().partition(" => ")
        if where in ("not found", "None"):
            cur[1].add(name)
        elif where.startswith(prefix + "/"):
            cur[0].append(where)
    every = sorted({p[len(prefix):] for found, _ in blocks.values() for p in found})
    real = dict(zip(every, in_root(root, every), strict=True))
    return {k: ({real[p[len(prefix):]] for p in found}, missing) for k, (found, missing) in blocks.items()}


def chroot_ldd(root: Path, path: str) -> dict[str, str | None]:
    """soname -> file (resolved in the root) or None, from ``chroot ROOT ldd PATH`` (the root's glibc loader)."""
    out = subprocess.run(["chroot", str(root), "/usr/bin/ldd", path], capture_output=True, text=True,
                         check=False).stdout
    got: dict[str, str | None] = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (not found|(\S+) \(0x)", line)
        if m:
            got[m.group(1)] = m.group(3)
    paths = [p for p in got.values() if p]
    resolved = dict(zip(paths, in_root(root, paths), strict=True))
    return {k: resolved.get(v) if v else None for k, v in got.items()}


def ours(root: Path, res: dict) -> set[str]:  # type: ignore[type-arg]
    files = [e["path"] for e in res["libraries"] if e["path"]] + ([res["interpreter"]] if res["interpreter"] else [])
    return set(in_root(root, files))


def test_scan_root_like_lddtree_and_the_roots_own_loader(root: Path) -> None:
    """Every dynamic program of the bootstrapped root: the libraries found are the files lddtree finds, the verdict
    fails exactly where lddtree finds a name missing (none: dpkg installed a consistent system), and the root's own
    loader (chroot ldd) maps each soname to the same file."""
    report = scan([root / "usr" / "bin", root / "usr" / "sbin"], jobs=2, root=str(root))
    assert not report.errors
    dynamic = [b for b in report.binaries if b.format == "elf" and b.linkage.needed]
    assert len(dynamic) > 100
    truth = lddtree(root, ["/" + os.path.relpath(b.path, root) for b in dynamic])
    for i, b in enumerate(dynamic):
        inside = "/" + os.path.relpath(b.path, root)
        found, missing = truth[inside]
        assert to_json(b.resolution)["context"] == "root"
        res = to_json(b.resolution)
        assert (res["verdict"] == "fail") is bool(missing), (inside, missing, res["missing"])
        assert ours(root, to_json(b.resolution)) == found, inside
        if i % 15 == 0:  # the loader itself, on the root's own trusted programs
            ldd = chroot_ldd(root, inside)
            mine = dict(zip([e["name"] for e in to_json(b.resolution)["libraries"] if e["path"]],
                            in_root(root, [e["path"] for e in to_json(b.resolution)["libraries"] if e["path"]]), strict=True))
            assert set(ldd) <= set(mine) and None not in ldd.values(), (inside, ldd)  # (ldd shows ld.so apart)
            assert {k: mine[k] for k in ldd} == ldd, inside


def test_scan_and_targets_root_with_a_program_the_root_cannot_start(factory: Factory, root: Path,
                                                                    tmp_path: Path) -> None:
    """A program built here that needs a library of its own, laid over the root: lddtree -R finds everything but
    that library; scan --root and targets --root fail it for exactly that name. The root's own apt passes."""
    lib = factory.c("hello.c", flags=("-shared", "-fPIC", "-Wl,-soname,libdepfreetest.so.1"))
    app = factory.c("hello.c", flags=(str(lib),))
    _, missing = lddtree(root, [str(app)], auto_root=False)[str(app)]
    assert missing == {"libdepfreetest.so.1"}
    (b,) = scan(app, jobs=1, root=str(root)).binaries
    assert to_json(b.resolution)["verdict"] == "fail"
    assert [m["name"] for m in to_json(b.resolution)["missing"]] == ["libdepfreetest.so.1"]
    for exe, want in ((app, "fail"), (root / "usr" / "bin" / "apt", "ok")):
        proc = cli("targets", "--json", "--root", str(root), str(exe))
        cell = next(c for c in json.loads(proc.stdout)["targets"] if c["target"] == f"root:{root}")
        assert cell["verdict"] == want, cell
    _, missing = lddtree(root, ["/usr/bin/apt"])["/usr/bin/apt"]
    assert missing == set()


def admindir(root: Path) -> str:
    return f"--admindir={root}/var/lib/dpkg"


def dpkg_owner(root: Path, path: str) -> str | None:
    """``dpkg -S`` against the root's database; on a merged-/usr root dpkg records /lib/..., so the alias of a
    /usr path (the root's own /lib -> usr/lib symlink) is asked too."""
    aliases = [path]
    for top in ("lib", "lib64", "bin", "sbin"):
        if (root / top).is_symlink() and path.startswith(f"/usr/{top}/"):
            aliases.append(path.removeprefix("/usr"))
    for p in aliases:
        proc = subprocess.run(["dpkg", admindir(root), "-S", p], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout:
            return proc.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


@pytest.fixture(scope="module")
def image(factory: Factory, root: Path) -> dict[str, Path]:
    return root_image(factory)


def test_image_libraries_owned_as_dpkg_says(root: Path, image: dict[str, Path]) -> None:
    """The image of the root: every program ✓ (the root's loader finds everything); each library found carries
    the package that owns it in the image's own dpkg database, the package ``dpkg -S`` names."""
    report = scan(image["docker"], jobs=2)
    (container,) = report.containers or []
    assert container.context == "image" and container.verdict in ("ok", "warn")
    owned = {}
    for b in report.binaries:
        assert to_json(b.resolution)["verdict"] != "fail", (b.path, to_json(b.resolution)["missing"])
        for e in to_json(b.resolution)["libraries"]:
            if e["path"]:
                owned[e["path"]] = e.get("package")
    assert len(owned) > 20
    for path, package in owned.items():
        assert package == dpkg_owner(root, path), path


def test_image_with_a_deleted_library_names_its_package(root: Path, image: dict[str, Path]) -> None:
    """A layer deletes libzstd.so.1 (a whiteout) while dpkg still lists it: the programs that need it (lddtree's
    closure on the intact root) fail, and the missing library names the package the image's shlibs/symbols map
    it to, which dpkg -S and dpkg-query on the root's database confirm (installed)."""
    owner = dpkg_owner(root, ZSTD)
    status = subprocess.run(["dpkg-query", admindir(root), "-W", "-f", "${Status}", owner], capture_output=True,
                            text=True, check=True).stdout
    assert owner and status == "install ok installed"
    report = scan(image["oci"], jobs=2)  # the layout: tags base and nozstd (the docker-archive: the test above)
    by_tag = {c["path"].rsplit("@", 1)[1]: c for c in to_json(report.containers or [])}
    assert by_tag["base"]["summary"]["fail"] == 0
    mine = [b for b in report.binaries if b.path.startswith(by_tag["nozstd"]["path"] + "!")]
    dynamic = {b.path.split("!", 1)[1]: b.path for b in mine if b.format == "elf" and b.linkage.needed
               and b.path.split("!", 1)[1].startswith(("/usr/bin/", "/usr/sbin/", "/usr/lib/apt/"))}  # the programs
    truth = lddtree(root, sorted(dynamic))
    zstd = in_root(root, [ZSTD])[0]
    needs_zstd = {dynamic[v] for v, (found, _) in truth.items() if zstd in found}
    assert {dynamic[v] for v in dynamic if "libzstd.so.1" in readelf(root / v[1:]).needed} <= needs_zstd
    assert needs_zstd
    failed = {b.path for b in mine if to_json(b.resolution)["verdict"] == "fail"}
    assert failed & set(dynamic.values()) == needs_zstd
    b = next(b for b in mine if b.path in needs_zstd)
    (miss,) = [m for m in to_json(b.resolution)["missing"] if m["name"] == "libzstd.so.1"]
    assert miss["detail"] == f"← {owner} (installed per the dpkg database, its file is gone)"
    mapped = next(e for e in miss["evidence"] if e["kind"] == "file")
    info = root / "var/lib/dpkg/info" / mapped["name"].rsplit("/", 1)[1]
    text = info.read_text()
    assert re.search(rf"^libzstd\.so\.1 {re.escape(owner)}\b", text, re.M) or \
        re.search(rf"^libzstd 1 {re.escape(owner)}\b", text, re.M)
