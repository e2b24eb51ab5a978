"""Sources for ``depfree scan``: directory trees (symlink loops and escapes), tar in every compression, zip, .deb and
nested archives built with the standard tools; the checksum manifests that come with a release.

Expected values come from the tools that built the inputs (the files we put in, ``sha256sum``), never from depfree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from depfree.model import to_json
from depfree.options import Options
from depfree.scan import Engine, scan
from depfree.sources.checksums import parse_manifest
from depfree.sources.fsview import DirView, IndexView, Node
from helpers.factory import Factory

HASHED = Options(hash=True)  # these tests know each member by its sha256 (sha256sum's): the scan must compute it


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, check=True, cwd=cwd, capture_output=True)


@pytest.fixture(scope="module")
def payload(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release directory: bin/app (static Go), lib/hello (C, dynamic), README, a symlink to the app."""
    root = tmp_path_factory.mktemp("payload") / "release"
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    shutil.copy2(factory.go("plain"), root / "bin" / "app")
    shutil.copy2(factory.c("hello.c"), root / "lib" / "hello")
    (root / "README").write_text("not a binary\n")
    os.symlink("bin/app", root / "app-link")
    return root


EXPECTED = {"bin/app", "lib/hello"}


def members(report, container: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    prefix = container + "!"
    return {b.path[len(prefix):]: b.sha256 for b in report.binaries if b.path.startswith(prefix)}


@pytest.mark.parametrize("flag,suffix,kind", [
    ("-cf", ".tar", None), ("-czf", ".tar.gz", "gzip"), ("-cjf", ".tar.bz2", "bzip2"),
    ("-cJf", ".tar.xz", "xz"), ("--zstd -cf", ".tar.zst", "zstd"),
])
def test_tar_every_compression(payload: Path, tmp_path: Path, flag: str, suffix: str, kind: str | None) -> None:
    out = tmp_path / f"release{suffix}"
    run(["tar", *flag.split(), str(out), "-C", str(payload.parent), "release"])
    report = scan(out, jobs=1, options=HASHED)
    assert not report.errors
    (c,) = report.containers
    assert c.kind == "tar" and c.compression == kind
    assert c.files == 4  # bin/app, lib/hello, README, app-link
    got = members(report, str(out))
    assert got == {f"release/{p}": sha256(payload / p) for p in EXPECTED}


def test_zip_built_with_zip(payload: Path, tmp_path: Path) -> None:
    out = tmp_path / "release.zip"
    run(["zip", "-qry", str(out), "release"], cwd=payload.parent)
    report = scan(out, jobs=1, options=HASHED)
    assert not report.errors
    assert report.containers[0].kind == "zip"
    assert members(report, str(out)) == {f"release/{p}": sha256(payload / p) for p in EXPECTED}


def test_stored_zip_members_are_read_in_place(payload: Path, tmp_path: Path) -> None:
    out = tmp_path / "stored.zip"
    run(["zip", "-qry0", str(out), "release"], cwd=payload.parent)
    report = scan(out, jobs=1, options=HASHED)
    assert members(report, str(out)) == {f"release/{p}": sha256(payload / p) for p in EXPECTED}


def test_deb_built_with_dpkg_deb(payload: Path, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text("Package: depfree-test\nVersion: 1.0\nArchitecture: amd64\n"
                                            "Maintainer: t <t@example.com>\nDescription: test\n")
    (pkg / "usr" / "bin").mkdir(parents=True)
    shutil.copy2(payload / "bin" / "app", pkg / "usr" / "bin" / "app")
    out = tmp_path / "app.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(pkg), str(out)])
    report = scan(out, jobs=1, options=HASHED)
    assert not report.errors
    (c,) = report.containers
    assert c.kind == "deb"
    assert members(report, str(out)) == {"/usr/bin/app": sha256(payload / "bin" / "app")}
    assert report.binaries[0].resolution.self_contained is True  # a static Go binary needs nothing


def test_nested_archive_entered_one_level(payload: Path, tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    run(["zip", "-qry", str(inner), "release"], cwd=payload.parent)
    outer = tmp_path / "outer.tar.gz"
    run(["tar", "-czf", str(outer), "-C", str(tmp_path), "inner.zip"])
    report = scan(outer, jobs=1, options=HASHED)
    assert [c.path for c in report.containers] == [str(outer), f"{outer}!inner.zip"]
    assert set(members(report, f"{outer}!inner.zip")) == {f"release/{p}" for p in EXPECTED}
    shallow = scan(outer, jobs=1, depth=0)
    assert [c.path for c in shallow.containers] == [str(outer)] and not shallow.binaries


def test_directory_tree_with_symlink_loop_and_escape(payload: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(payload, tree, symlinks=True)
    os.symlink("loop-b", tree / "loop-a")
    os.symlink("loop-a", tree / "loop-b")
    os.symlink("../../../../../../../../etc", tree / "escape")
    os.symlink("/", tree / "rootlink")
    os.symlink(".", tree / "bin" / "self")  # a directory loop a walk that follows links would never leave
    report = scan(tree, jobs=1, options=HASHED)
    assert not report.errors
    paths = {b.path for b in report.binaries}
    assert paths == {str(tree / p) for p in EXPECTED}  # found once each; nothing outside the tree
    view = DirView(tree)
    assert view.resolve("/loop-a/x").problem == "loop"
    res = view.resolve("/escape/passwd")  # ../.. stops at the tree's root, as in a chroot
    assert res.node is None and res.escapes == ["/escape"]
    assert view.isfile("/rootlink/bin/app") and view.isfile("/bin/self/self/app")
    assert view.readlink("/app-link") == "bin/app" and view.isfile("/app-link")
    assert view.listdir("/") == sorted(os.listdir(tree))


def test_index_view_whiteout_and_opaque() -> None:
    v = IndexView()
    v.add("/lib/a.so", Node("file"))
    v.add("/lib/sub/b.so", Node("file"))
    v.add("/lib64", Node("symlink", target="lib"))
    assert v.isfile("/lib64/sub/b.so")
    v.remove("/lib/sub")
    assert not v.exists("/lib/sub/b.so") and v.isfile("/lib/a.so")
    v.clear_dir("/lib")
    assert v.listdir("/lib") == [] and v.isdir("/lib")
    v.add("/lib", Node("file"))  # a file replacing a directory drops what was under it
    assert v.isfile("/lib") and v.count() == 2


def test_manifest_names_are_the_patterns_fnmatch_matches() -> None:
    """The one expression of is_manifest_name says what fnmatch says of each pattern, in any case."""
    import fnmatch

    from depfree.sources.checksums import MANIFEST_PATTERNS, is_manifest_name

    names = ["SHA256SUMS", "sha256sums", "sha256sums.asc", "xSHA256SUMS", "app_checksums.txt", "CHECKSUMS.TXT",
             "checksums.txt.sig", "tool.sha256", "tool.SHA512", "tool.sha256\n", "a\nb.sha256", ".sha512", "sha1sums",
             "", "checksums.txt", "t.sha2566", "[x].sha256"]
    for name in names:
        assert is_manifest_name(name) == any(fnmatch.fnmatchcase(name.lower(), p) for p in MANIFEST_PATTERNS), name
    assert is_manifest_name("SHA256SUMS") and not is_manifest_name("sha256sums.asc")


def test_checksums_good_bad_missing_unlisted(payload: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    good = dist / "app_linux_amd64.tar.gz"
    bad = dist / "app_linux_arm64.tar.gz"
    for out in (good, bad):
        run(["tar", "-czf", str(out), "-C", str(payload.parent), "release"])
    sums = subprocess.run(["sha256sum", good.name, bad.name], cwd=dist, capture_output=True, text=True,
                          check=True).stdout
    sums += f"{'0' * 64}  app_windows_amd64.zip\n"  # listed, never shipped
    (dist / "SHA256SUMS").write_text(sums)
    with open(bad, "ab") as fh:  # tampered after the manifest was written
        fh.write(b"\0" * 512)
    (dist / "extra.bin").write_bytes(b"unlisted")
    report = scan(dist, jobs=1)
    sums_result = report.containers[0].checksums
    assert sums_result.ok == [good.name]
    assert [m.name for m in sums_result.mismatched] == [bad.name]
    assert sums_result.mismatched[0].actual == sha256(bad)
    assert sums_result.missing == ["app_windows_amd64.zip"]
    assert sums_result.unlisted == ["extra.bin"]
    # one archive scanned alone: the manifest beside it is found, only its own entry is judged
    single = scan(bad, jobs=1)
    assert [m.name for m in single.containers[0].checksums.mismatched] == [bad.name]
    explicit = scan(good, jobs=1, checksums=dist / "SHA256SUMS")
    assert explicit.containers[0].checksums.ok == [good.name]


def test_checksum_manifest_styles(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    digest = sha256(f)
    bsd = tmp_path / "checksums.txt"
    bsd.write_text(f"SHA256 (a.bin) = {digest}\nthis is not a checksum line\n")
    m = parse_manifest(str(bsd))
    assert [(e.name, e.digest) for e in m.entries] == [("a.bin", digest)]
    assert m.errors == ["line 2: not a checksum line"]
    bare = tmp_path / "a.bin.sha256"
    bare.write_text(digest + "\n")
    assert [(e.name, e.algorithm) for e in parse_manifest(str(bare)).entries] == [("a.bin", "sha256")]


def test_zip_built_by_python_keeps_symlinks(tmp_path: Path, factory: Factory) -> None:
    out = tmp_path / "links.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.write(factory.go("plain"), "bin/app")
        info = zipfile.ZipInfo("bin/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "app")
    report = scan(out, jobs=1, options=HASHED)
    assert [b.path for b in report.binaries] == [f"{out}!bin/app"]


def test_archives_in_a_tree_are_indexed_in_the_pool_like_in_process(payload: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The archives a tree holds (its last level) are indexed by the worker pool; the report is the one a scan
    without a pool makes: same binaries and resolutions, same per-entry and whole-archive errors, same counts. With
    a tiny spool limit the members found go through temp files, which are gone afterwards."""
    tree = tmp_path / "tree"
    (tree / "dist").mkdir(parents=True)
    run(["zip", "-qry", str(tree / "dist" / "release.zip"), "release"], cwd=payload.parent)
    run(["tar", "-czf", str(tree / "dist" / "release.tar.gz"), "-C", str(payload.parent), "release"])
    run(["zip", "-q", str(tree / "dist" / "classes.jar"), "README"], cwd=payload)  # nothing to analyse
    good = (tree / "dist" / "release.zip").read_bytes()
    (tree / "dist" / "cut.zip").write_bytes(good[: len(good) // 2])  # no central directory: unreadable
    with zipfile.ZipFile(tree / "dist" / "evil.zip", "w") as zf:
        zf.writestr("../../escape", b"\x7fELF" + b"\0" * 60)
        zf.write(payload / "bin" / "app", "bin/app")
    shutil.copy2(payload / "lib" / "hello", tree / "hello")

    def outcome(jobs: int) -> tuple[object, ...]:
        report = scan(tree, jobs=jobs, options=HASHED)
        return (to_json(report.containers), [(b.path, b.sha256, b.resolution) for b in report.binaries],
                [(e.path, e.error) for e in report.errors])

    alone = outcome(1)
    assert outcome(2) == alone
    engine_init = Engine.__init__

    def one_at_a_time(self: Engine, *args: object, **kwargs: object) -> None:
        engine_init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.max_inflight = 1  # each archive taken in before the next is sent: the bound's own path

    monkeypatch.setattr(Engine, "__init__", one_at_a_time)
    assert outcome(2) == alone
    monkeypatch.undo()
    containers, binaries, errors = alone
    assert [c["path"].removeprefix(str(tree)) for c in containers] == [
        "", "/dist/classes.jar", "/dist/cut.zip", "/dist/evil.zip", "/dist/release.tar.gz", "/dist/release.zip"]
    assert [c["files"] for c in containers] == [6, 1, 0, 1, 4, 4]  # (an escaping name is not indexed)
    assert {p.removeprefix(str(tree)) for p, _, _ in binaries} == {
        "/hello", "/dist/evil.zip!bin/app", "/dist/release.tar.gz!release/bin/app",
        "/dist/release.tar.gz!release/lib/hello", "/dist/release.zip!release/bin/app",
        "/dist/release.zip!release/lib/hello"}
    assert {sha for p, sha, _ in binaries if p.endswith("bin/app")} == {sha256(payload / "bin" / "app")}
    assert [(p.removeprefix(str(tree)), e.split(" (")[0]) for p, e in errors] == [
        ("/dist/cut.zip", "not a readable zip archive"),
        ("/dist/evil.zip!../../escape", "path traversal")]

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    from depfree.scan import iter_scan
    from depfree.sources.archive import Limits

    spooled = [(b.path, b.sha256) for r in iter_scan(tree, jobs=2, limits=Limits(spool_over=1024), options=HASHED)
               for b in r.binaries]
    assert spooled == [(p, sha) for p, sha, _ in binaries]
    assert list(spool.iterdir()) == []


class _IndexOnly:
    """A sink that only indexes: no member is wanted, every per-entry error is kept."""

    def __init__(self) -> None:
        from depfree.sources.archive import Limits

        self.limits = Limits()
        self.errors: list[tuple[str, str]] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append((name, message))

    def wants(self, kind: str) -> bool:
        return False

    def found(self, name: str, blob: object, kind: str) -> object:
        raise AssertionError("nothing is wanted")

    def capture(self, fh: object, size: int) -> object:
        raise AssertionError("nothing is wanted")


def test_link_target_that_is_not_utf8_is_the_same_from_zip_and_tar(tmp_path: Path, factory: Factory) -> None:
    """Info-ZIP ``zip -y`` and GNU ``tar`` of one tree whose symbolic link points at a Latin-1 name, beside a UTF-8
    name: both indexes hold the names and read the link as the file system does (``os.listdir``, ``os.readlink``),
    not as cp437 or with U+FFFD from the zip."""
    from depfree.sources.archive import index_tar, index_zip
    from depfree.sources.blob import Blob

    tree = tmp_path / "rel"
    tree.mkdir()
    name = os.fsdecode(b"caf\xe9")
    shutil.copy2(factory.c("hello.c"), tree / name)
    os.symlink(name, tree / "link")
    (tree / "naïve.txt").write_text("utf-8 name\n")
    run(["zip", "-qry", str(tmp_path / "rel.zip"), "rel"], cwd=tmp_path)
    run(["tar", "-cf", str(tmp_path / "rel.tar"), "-C", str(tmp_path), "rel"])
    expected = os.readlink(tree / "link")
    for archive in ("rel.zip", "rel.tar"):
        view, sink = IndexView(), _IndexOnly()
        blob = Blob.of_file(str(tmp_path / archive))
        if archive.endswith(".zip"):
            index_zip(blob, sink, view)  # type: ignore[arg-type]
        else:
            index_tar(blob, "tar", sink, view)  # type: ignore[arg-type]
        assert sink.errors == [], archive
        assert view.readlink("/rel/link") == expected, archive
        assert sorted(view.listdir("/rel")) == sorted(os.listdir(tree)), archive
        assert view.isfile(f"/rel/{name}"), archive


def test_unlisted_files_are_what_find_lists_as_regular_files(tmp_path: Path) -> None:
    """The files of a release directory no manifest lists, found by the one directory walk: every regular file
    `find -P -type f` sees (nested ones included), no symbolic link (not followed, not listed), no manifest."""
    from depfree.sources.checksums import verify

    dist = tmp_path / "dist"
    (dist / "sub" / "deeper").mkdir(parents=True)
    (dist / "app").write_bytes(b"app")
    (dist / "sub" / "extra.bin").write_bytes(b"extra")
    (dist / "sub" / "deeper" / "notes.txt").write_bytes(b"notes")
    (dist / "link-to-app").symlink_to("app")
    (dist / "sub" / "loop").symlink_to("..")
    sums = subprocess.run(["sha256sum", "app"], cwd=dist, capture_output=True, text=True, check=True).stdout
    (dist / "SHA256SUMS").write_text(sums)
    found = subprocess.run(["find", "-P", ".", "-type", "f"], cwd=dist, capture_output=True, text=True,
                           check=True).stdout.split()
    expected = sorted(p.removeprefix("./") for p in found if p not in ("./app", "./SHA256SUMS"))
    result = verify(str(dist), [str(dist / "SHA256SUMS")])
    assert result is not None and result.ok == ["app"] and not result.errors
    assert sorted(result.unlisted) == expected == ["sub/deeper/notes.txt", "sub/extra.bin"]
