"""``sources/copies.py``: copies are found without a sha256 for files that can be read again, and with it for bytes
that cannot; the groups it makes are exactly those of ``sha256sum`` (the ground truth of "same content"). And the
sha256 on demand: computed where the verb or ``--hash`` asks for it, null elsewhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from depfree.sources.blob import Blob
from depfree.sources.copies import CopyIndex, same_bytes, xxh3_of
from helpers.factory import Factory
from helpers.schema import assert_valid_report


def _sha256sum(paths: list[Path]) -> dict[str, str]:
    out = subprocess.run(["sha256sum", *map(str, paths)], capture_output=True, text=True, check=True).stdout
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def _variants(factory: Factory, d: Path) -> list[Path]:
    """A gcc binary, a copy, one with its last byte changed, one changed outside the three sampled blocks, a Go
    binary and a copy of it."""
    src = factory.c("hello.c")
    go = factory.go("plain")
    data = src.read_bytes()
    files = {"a": data, "b": data}
    last = bytearray(data)
    last[-1] ^= 0xFF
    files["c"] = bytes(last)
    unsampled = bytearray(data)
    unsampled[5000] ^= 0xFF  # past the first 4 KiB block, before the middle one
    assert 4096 <= 5000 < len(data) // 2 - 2048
    files["e"] = bytes(unsampled)
    for name, content in files.items():
        (d / name).write_bytes(content)
    shutil.copy2(go, d / "g1")
    shutil.copy2(go, d / "g2")
    return [d / n for n in ("a", "b", "c", "e", "g1", "g2")]


def test_groups_equal_sha256sum_without_hashing_files_on_disk(factory: Factory, tmp_path: Path) -> None:
    paths = _variants(factory, tmp_path)
    index: CopyIndex[str] = CopyIndex()
    first: dict[str, str] = {}
    for p in paths:
        blob = Blob.of_file(str(p))
        hit = index.find(blob)
        if hit is None:
            index.add(blob, p.name)
            hit = p.name
        first[p.name] = hit
    truth = _sha256sum(paths)
    by_digest: dict[str, str] = {}
    expected = {p.name: by_digest.setdefault(truth[str(p)], p.name) for p in paths}
    assert first == expected == {"a": "a", "b": "a", "c": "c", "e": "e", "g1": "g1", "g2": "g1"}
    assert index.stats["sha256"] == 0  # files on disk: never a cryptographic hash
    assert index.stats["compared"] == 2  # the two real copies, confirmed byte for byte after their XXH3 matched


def test_memory_and_archive_members_meet_files_on_disk(factory: Factory, tmp_path: Path) -> None:
    """A tar member (a byte range of the archive, read again in place), bytes in memory (a member of a compressed
    archive) and a file on disk with the same content are one; bytes in memory are compared by their sha256."""
    paths = _variants(factory, tmp_path)
    tar = tmp_path / "t.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(paths[4], "inner/g")
        tf.add(paths[2], "inner/c")
    with tarfile.open(tar) as tf:
        ranges = {m.name: Blob(str(tar), m.offset_data, m.size) for m in tf.getmembers()}
    index: CopyIndex[str] = CopyIndex()
    index.add(Blob.of_bytes(paths[0].read_bytes()), "memory a")
    index.add(ranges["inner/g"], "tar g")
    assert index.find(Blob.of_file(str(paths[1]))) == "memory a"  # b == a, by sha256 (the memory copy is gone)
    assert index.find(Blob.of_file(str(paths[5]))) == "tar g"  # g2 == g1 inside the tar, by bytes
    assert index.find(ranges["inner/c"]) is None
    assert index.find(Blob.of_file(str(paths[3]))) is None  # e: same size as a, other bytes
    assert index.stats["sha256"] == 3  # b, c and e each against the bytes in memory (all of its size)


def test_digest_and_byte_compare_agree_with_the_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * (3 << 20) + b"1")
    b.write_bytes(b"x" * (3 << 20) + b"2")
    ba, bb = Blob.of_file(str(a)), Blob.of_file(str(b))
    assert not same_bytes(ba, bb) and same_bytes(ba, Blob.of_file(str(a)))
    assert xxh3_of(ba) != xxh3_of(bb)
    assert xxh3_of(Blob.of_bytes(a.read_bytes())) == xxh3_of(ba)  # the same digest from memory and from disk


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)


def test_hash_on_demand_in_every_verb(factory: Factory, tmp_path: Path) -> None:
    """The sha256 is computed where asked for (scan/hardening/targets/check --hash, inspect by default) and is null
    elsewhere; both forms are valid reports of the schema, and every digest is sha256sum's."""
    app = factory.c("hello.c")
    truth = _sha256sum([app])[str(app)]
    d = tmp_path / "tree"
    d.mkdir()
    shutil.copy2(app, d / "hello")
    for args, expected in ((["inspect", str(app)], truth), (["inspect", "--no-hash", str(app)], None),
                           (["scan", str(d)], None), (["scan", "--hash", str(d)], truth)):
        proc = _cli(*args[:1], "--json", *args[1:])
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert_valid_report(data)
        assert data["schema"] == "depfree.report/2"
        assert [b["sha256"] for b in data["binaries"]] == [expected], args
    for verb in ("hardening", "targets"):  # their JSON carries no hash: --hash changes nothing else in it
        runs = [_cli(verb, flag, "--json", str(app)) for flag in ("--hash", "--no-hash")]
        assert {p.returncode for p in runs} <= {0, 1}, runs[0].stderr  # (targets: 1 when a target fails)
        assert runs[0].stdout == runs[1].stdout and json.loads(runs[0].stdout)
    text = _cli("inspect", "--no-hash", str(app)).stdout
    assert "sha256" not in text and truth not in text  # the text report says nothing of a hash it did not take
    assert truth in _cli("inspect", str(app)).stdout
