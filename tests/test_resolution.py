"""In-image resolution against real images (umoci, skopeo) and real trees: interpreter, NEEDED through RPATH,
RUNPATH, $ORIGIN, the image's /etc/ld.so.conf and the default directories, and file needs.

Ground truth: what ``umoci unpack`` puts in the root filesystem, and ``readelf`` for what a binary asks for."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from depfree.model import Report, to_json
from depfree.scan import scan
from helpers import images
from helpers.factory import Factory


def readelf_dynamic(path: Path) -> dict[str, list[str]]:
    out = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=True).stdout
    tags: dict[str, list[str]] = {}
    for line in out.splitlines():
        if "(NEEDED)" in line or "(RPATH)" in line or "(RUNPATH)" in line:
            tag = line.split("(")[1].split(")")[0]
            tags.setdefault(tag, []).append(line.split("[", 1)[1].rsplit("]", 1)[0])
    return tags


def resolution_of(report: Report, path: str) -> dict[str, Any]:
    (b,) = [b for b in report.binaries if b.path == path]
    assert b.resolution is not None
    return to_json(b.resolution)


@pytest.fixture(scope="module")
def layout_report(factory: Factory) -> tuple[Path, Report]:
    layout = images.oci_layout(factory)
    return layout, scan(layout, jobs=1)


@pytest.mark.parametrize("tag", images.TAGS)
def test_oci_layout_tags_match_unpacked_rootfs(factory: Factory, layout_report: tuple[Path, Report],
                                               tag: str) -> None:
    layout, report = layout_report
    rootfs = images.unpack(factory, tag)
    res = resolution_of(report, f"{layout}@{tag}!/app")
    needed = readelf_dynamic(rootfs / "app").get("NEEDED", [])
    if tag == "static":
        assert needed == [] and res["self_contained"] is True and res["interpreter_found"] is None
        return
    assert needed == ["libc.so.6"]
    assert res["interpreter_found"] is (rootfs / images.LOADER.lstrip("/")).exists()
    libc_there = (rootfs / images.LIBC.lstrip("/")).exists()
    assert res["missing_libraries"] == ([] if libc_there else ["libc.so.6"])
    libc = [e for e in res["libraries"] if e["name"] == "libc.so.6"]
    assert libc == [{"name": "libc.so.6", "path": images.LIBC if libc_there else None}]


def test_expected_story_per_tag(layout_report: tuple[Path, Report]) -> None:
    layout, report = layout_report
    by_tag = {t: resolution_of(report, f"{layout}@{t}!/app") for t in images.TAGS}
    assert by_tag["bare"]["interpreter_found"] is False  # cgo binary without libc: no loader
    assert by_tag["glibc"]["interpreter_found"] is True and by_tag["glibc"]["missing_libraries"] == []
    assert by_tag["deleted"]["missing_libraries"] == ["libc.so.6"]  # whiteout
    assert by_tag["opaque"]["missing_libraries"] == ["libc.so.6"]  # opaque directory
    # the loader libc.so.6 needs is followed too
    assert {"name": "ld-linux-x86-64.so.2", "path": "/lib64/ld-linux-x86-64.so.2", "needed_by": "libc.so.6"} in \
        by_tag["glibc"]["libraries"]
    # the runtime writes /etc/resolv.conf; CA roots and zoneinfo must come with the image
    files = {f["path"]: f for f in by_tag["glibc"]["files"]}
    assert files["/etc/resolv.conf"]["provided_by"].startswith("the container runtime")
    assert "/etc/ssl/certs/ca-certificates.crt" in by_tag["glibc"]["missing_files"]
    assert "/etc/resolv.conf" not in by_tag["glibc"]["missing_files"]
    containers = {c["path"]: c for c in to_json(report.containers or [])}
    assert containers[f"{layout}@static"]["self_contained"] is True
    assert containers[f"{layout}@deleted"]["self_contained"] is False
    layers = containers[f"{layout}@deleted"]["image"]["layers"]
    assert [la["whiteouts"] for la in layers] == [0, 0, 1] and all(la["digest_ok"] for la in layers)


@pytest.mark.parametrize("tag", ["glibc", "deleted"])
def test_docker_archive_same_as_layout(factory: Factory, layout_report: tuple[Path, Report], tag: str) -> None:
    layout, report = layout_report
    archive = images.docker_archive(factory, tag)
    docker = scan(archive, jobs=1)
    assert not docker.errors
    assert docker.containers[0].kind == "docker-archive"
    assert docker.containers[0].image.name == f"docker.io/depfree/test:{tag}"
    want = resolution_of(report, f"{layout}@{tag}!/app")
    assert resolution_of(docker, f"{archive}!/app") == want


def test_oci_layout_tar(factory: Factory, layout_report: tuple[Path, Report]) -> None:
    layout, report = layout_report
    tarred = images.oci_tar(factory)
    got = scan(tarred, jobs=2)
    assert not got.errors
    assert [c.path for c in got.containers or []] == [f"{tarred}@{t}" for t in ("empty", *images.TAGS)]
    for t in images.TAGS:
        assert resolution_of(got, f"{tarred}@{t}!/app") == resolution_of(report, f"{layout}@{t}!/app")


@pytest.fixture(scope="module")
def rpath_builds(factory: Factory) -> dict[str, Path]:
    return {
        "runpath": factory.c("hello.c", flags=("-Wl,-rpath,$ORIGIN/../lib",)),
        "rpath": factory.c("hello.c", flags=("-Wl,-rpath,$ORIGIN/../lib", "-Wl,--disable-new-dtags")),
        "plain": factory.c("hello.c"),
    }


def _tree(root: Path, files: dict[str, Path | str]) -> Path:
    for rel, src in files.items():
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copy2(src, dst)
        else:
            dst.write_text(src)
    return root


@pytest.mark.parametrize("kind", ["rpath", "runpath"])
def test_origin_rpath_and_runpath_win_over_system_dirs(rpath_builds: dict[str, Path], tmp_path: Path,
                                                       kind: str) -> None:
    exe = rpath_builds[kind]
    assert readelf_dynamic(exe)[kind.upper()] == ["$ORIGIN/../lib"]
    libc = Path(images.LIBC).resolve()
    root = _tree(tmp_path / "pkg", {"opt/app/bin/hello": exe, "opt/app/lib/libc.so.6": libc,
                                    "lib/x86_64-linux-gnu/libc.so.6": libc,
                                    "lib64/ld-linux-x86-64.so.2": Path(images.LOADER).resolve()})
    out = tmp_path / "pkg.tar.gz"
    subprocess.run(["tar", "-czf", str(out), "-C", str(root), "."], check=True)
    report = scan(out, jobs=1)
    res = resolution_of(report, f"{out}!opt/app/bin/hello")
    assert res["self_contained"] is True
    assert [e for e in res["libraries"] if e["name"] == "libc.so.6"] == [
        {"name": "libc.so.6", "path": "/opt/app/lib/libc.so.6"}]


def test_ld_so_conf_include_glob(rpath_builds: dict[str, Path], tmp_path: Path) -> None:
    libc = Path(images.LIBC).resolve()
    root = _tree(tmp_path / "rootfs", {
        "usr/bin/hello": rpath_builds["plain"],
        "opt/glibc/lib/libc.so.6": libc,
        "lib64/ld-linux-x86-64.so.2": Path(images.LOADER).resolve(),
        "etc/ld.so.conf": "# comment\ninclude /etc/ld.so.conf.d/*.conf\n",
        "etc/ld.so.conf.d/glibc.conf": "/opt/glibc/lib\n",
    })
    for report, path in ((scan(root, jobs=1), f"{root}/usr/bin/hello"), ):
        res = resolution_of(report, path)
        assert [e["path"] for e in res["libraries"] if e["name"] == "libc.so.6"] == ["/opt/glibc/lib/libc.so.6"]
    out = tmp_path / "rootfs.tar.xz"
    subprocess.run(["tar", "-cJf", str(out), "-C", str(root), "."], check=True)
    res = resolution_of(scan(out, jobs=1), f"{out}!usr/bin/hello")
    assert [e["path"] for e in res["libraries"] if e["name"] == "libc.so.6"] == ["/opt/glibc/lib/libc.so.6"]
    (root / "etc" / "ld.so.conf").unlink()
    res = resolution_of(scan(root, jobs=1), f"{root}/usr/bin/hello")
    assert res["missing_libraries"] == ["libc.so.6"]


def test_symlinked_loader_and_symlink_loop_in_image(rpath_builds: dict[str, Path], tmp_path: Path) -> None:
    """Debian's /lib64/ld-linux-x86-64.so.2 is a symlink to /lib/x86_64-linux-gnu/...; a loop is a clear error."""
    libc = Path(images.LIBC).resolve()
    root = _tree(tmp_path / "rootfs", {"usr/bin/hello": rpath_builds["plain"],
                                       "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": Path(images.LOADER).resolve()})
    (root / "lib64").mkdir()
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (root / "lib" / "x86_64-linux-gnu" / "libc.so.6").symlink_to("libc-loop")
    (root / "lib" / "x86_64-linux-gnu" / "libc-loop").symlink_to("libc.so.6")
    (root / "usr" / "lib").mkdir()
    (root / "usr" / "lib" / "libc.so.6").symlink_to("../../../../../../" + str(libc))  # escapes: not followed out
    report = scan(root, jobs=1)
    res = resolution_of(report, f"{root}/usr/bin/hello")
    assert res["interpreter_found"] is True
    assert res["missing_libraries"] == ["libc.so.6"]
    errors = {e.path: e.error for e in report.errors}
    assert "symbolic link loop" in errors[f"{root}!/lib/x86_64-linux-gnu/libc.so.6"]
    assert "climbs above the root" in errors[f"{root}!/usr/lib/libc.so.6"]
