"""Hostile archives and images (issue 17): hangs, slow overlapping zips, sparse-map memory, tracebacks and silent
truncation. Each input is made in the run (tests/fuzz/hostile.py) or is Go's own archive/tar testdata; what is
hostile about it is confirmed by GNU tar, unzip or zstd; memory and time are measured on a child process by the
fuzz harness (each run has a deadline: a hang fails the test instead of hanging it)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from fuzz import hostile
from fuzz.harness import rss_limit, run_path
from helpers.factory import Factory


def scan_json(path: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", "scan", "--jobs", "1", "--json", *extra, str(path)],
                          capture_output=True, text=True, check=False, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def errors_of(report: dict[str, object]) -> dict[str, str]:
    return {e["path"]: e["error"] for e in report["errors"]}  # type: ignore[attr-defined,index]


@pytest.fixture(scope="module")
def app(factory: Factory) -> bytes:
    return factory.c("hello.c").read_bytes()


def test_huge_declared_size_in_a_stream_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "huge.tar.gz"
    path.write_bytes(hostile.huge_declared_targz())
    assert path.stat().st_size < 100
    gnu = subprocess.run(["tar", "tzf", str(path)], capture_output=True, text=True, check=False)
    assert gnu.returncode != 0 and "Unexpected EOF" in gnu.stderr
    outcome = run_path(str(path), "scan", timeout=120, size=path.stat().st_size)
    assert outcome.status == "ok", outcome  # scan returns, with errors in the report
    rc, report, _ = scan_json(path)
    errors = errors_of(report)
    assert rc == 2
    assert "exceeds the limit" in errors[f"{path}!big.bin"]
    assert "runs 4,611,686,018,427,387,904 bytes past the end of the stream" in errors[str(path)]


def test_overlapping_zip_entries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "overlap.zip"
    path.write_bytes(hostile.overlapping_zip(200))
    unzip = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert "overlapped components" in unzip.stdout + unzip.stderr
    outcome = run_path(str(path), "scan", timeout=120, size=path.stat().st_size)
    assert outcome.status == "ok", outcome
    rc, report, _ = scan_json(path)
    errors = errors_of(report)
    assert rc == 2
    assert len([p for p, e in errors.items() if "overlaps member" in e]) == 200
    assert report["binaries"] == []


def test_go_sparse_many_zeros_is_bounded(factory: Factory) -> None:
    """Go's archive/tar/testdata/gnu-sparse-many-zeros.tar.bz2: 1,642 bytes declaring a sparse map of 10 million
    regions (1.9 GB and 15 s before)."""
    path = factory.goroot() / "src" / "archive" / "tar" / "testdata" / "gnu-sparse-many-zeros.tar.bz2"
    outcome = run_path(str(path), "scan", timeout=120, size=path.stat().st_size)
    assert outcome.status == "ok", outcome
    assert outcome.rss <= rss_limit(path.stat().st_size)
    rc, report, _ = scan_json(path)
    assert rc == 2
    assert "declares 10,000,001 regions (at most 100,000 expected)" in errors_of(report)[str(path)]


def test_old_gnu_sparse_map_too_large_is_a_per_entry_error(tmp_path: Path, app: bytes) -> None:
    """An old-style GNU sparse member whose extension blocks chain 200,000 regions: that member is skipped with an
    error, the members after it are read."""
    hdr = bytearray(tarfile.TarInfo("holes").tobuf(format=tarfile.GNU_FORMAT))
    hdr[156:157] = b"S"
    hdr[386:482] = b"".join(f"{i * 2 + 1:011o}\0{1:011o}\0".encode() for i in range(4))  # 4 regions inline
    hdr[482] = 1  # isextended
    hdr[483:495] = f"{1 << 30:011o}\0".encode()  # realsize
    hdr[148:156] = b" " * 8
    hdr[148:156] = f"{sum(hdr):06o}\0 ".encode()
    ext = bytearray()
    n_blocks = 200_000 // 21 + 1
    for b in range(n_blocks):
        block = bytearray(512)
        for i in range(21):
            block[i * 24 : i * 24 + 24] = f"{(b * 21 + i) * 4 + 64:011o}\0{1:011o}\0".encode()
        block[504] = 1 if b < n_blocks - 1 else 0
        ext += block
    rest = hostile.tar_of([("bin/app", app)])
    path = tmp_path / "sparse.tar"
    path.write_bytes(bytes(hdr) + bytes(ext) + rest)
    gnu = subprocess.run(["tar", "tvf", str(path)], capture_output=True, text=True, check=False)
    assert "bin/app" in gnu.stdout
    rc, report, _ = scan_json(path)
    errors = errors_of(report)
    regions = 4 + n_blocks * 21
    assert f"sparse map of {regions:,} regions (at most 100,000 expected): skipped" in errors[f"{path}!holes"]
    assert [b["path"] for b in report["binaries"]] == [f"{path}!bin/app"]  # type: ignore[index,union-attr]


def test_corrupt_deb_data_member_is_one_error(tmp_path: Path, app: bytes) -> None:
    path = tmp_path / "bad.deb"
    path.write_bytes(hostile.deb_with_corrupt_zst(app))
    subprocess.run(["ar", "x", str(path), "data.tar.zst"], cwd=tmp_path, check=True)
    zstd = subprocess.run(["zstd", "-t", str(tmp_path / "data.tar.zst")], capture_output=True, text=True,
                          check=False)
    assert zstd.returncode != 0
    rc, report, _ = scan_json(path)
    assert rc == 2
    assert errors_of(report)[str(path)].startswith("data.tar.zst: ")


def test_oci_manifest_layers_as_object(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(hostile.oci_layers_as_object())
    rc, report, _ = scan_json(path)
    assert rc == 2
    assert "'layers': expected a list of objects, found dict" in errors_of(report)[str(path)]


@pytest.mark.parametrize("compress", ["", "gz"])
def test_corrupt_header_mid_tar_is_reported_and_the_walk_goes_on(tmp_path: Path, app: bytes, compress: str) -> None:
    data, bad_at = hostile.corrupt_header_mid_tar([("bin/a", app), ("doc/b", b"x" * 700), ("bin/c", app)])
    path = tmp_path / ("mid.tar" + (".gz" if compress else ""))
    if compress:
        import gzip

        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    gnu = subprocess.run(["tar", "tvf", str(path)], capture_output=True, text=True, check=False)
    assert gnu.returncode == 2 and "Skipping to next header" in gnu.stderr
    listed = [line.split()[-1] for line in gnu.stdout.splitlines()]
    rc, report, _ = scan_json(path)
    assert rc == 2
    assert [b["path"].split("!", 1)[1] for b in report["binaries"]] == [n for n in listed if n.startswith("bin/")]
    assert f"corrupt tar header at offset {bad_at:,} after 1 members; read on from the next valid header" in \
        errors_of(report)[str(path)]


def test_hard_link_to_a_missing_target(tmp_path: Path, app: bytes) -> None:
    path = tmp_path / "link.tar"
    path.write_bytes(hostile.hardlink_to_missing(app))
    out = tmp_path / "x"
    out.mkdir()
    gnu = subprocess.run(["tar", "xf", str(path), "-C", str(out)], capture_output=True, text=True, check=False)
    assert gnu.returncode != 0 and "Cannot hard link" in gnu.stderr
    rc, report, _ = scan_json(path)
    assert rc == 2
    assert "hard link to '/bin/not-there', which the archive does not hold" in errors_of(report)[f"{path}!bin/ghost"]


def test_compressible_archive_of_300_binaries_is_not_a_bomb(tmp_path: Path, app: bytes) -> None:
    """300 near-identical real binaries in a tar.zst (long-distance matching: far above 200:1, which the old rule
    refused past 64 MiB of output, stopping a real release after a third of it): every one is scanned, as
    ``tar -t`` lists them."""
    import io

    import zstandard

    path = tmp_path / "release.tar.zst"
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27, enable_ldm=True)
    with open(path, "wb") as fh, zstandard.ZstdCompressor(compression_params=params).stream_writer(fh) as zw, \
            tarfile.open(fileobj=zw, mode="w|", format=tarfile.GNU_FORMAT) as tf:
        for i in range(300):
            data = app + i.to_bytes(2, "little")
            info = tarfile.TarInfo(f"bin/app{i:03d}")
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    assert path.stat().st_size * 200 < 300 * len(app)  # the ratio is above 200:1
    listed = subprocess.run(["tar", "--zstd", "-tf", str(path)], capture_output=True, text=True,
                            check=True).stdout.split()
    assert len(listed) == 300
    rc, report, stderr = scan_json(path)
    assert rc == 0, stderr
    assert sorted(b["path"].split("!", 1)[1] for b in report["binaries"]) == sorted(listed)  # type: ignore[index]


def test_limits_are_options(tmp_path: Path, app: bytes) -> None:
    path = tmp_path / "plain.tar"
    path.write_bytes(hostile.tar_of([("bin/app", app)]))
    listed = subprocess.run(["tar", "tvf", str(path)], capture_output=True, text=True, check=True).stdout.split()
    size = int(listed[2])
    rc, report, _ = scan_json(path, "--limit", f"max_member={size - 1}")
    assert rc == 2
    assert errors_of(report)[f"{path}!bin/app"] == (f"declared size {size:,} bytes exceeds the limit of "
                                                   f"{size - 1:,} (max_member): skipped")
    rc, report, _ = scan_json(path, "--limit", f"max_member={size}")
    assert rc == 0 and len(report["binaries"]) == 1  # type: ignore[arg-type]
    proc = subprocess.run([sys.executable, "-m", "depfree", "scan", "--limit", "max_sizes=1G", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "expected NAME=VALUE with NAME one of max_member, max_total" in proc.stderr
    gz = tmp_path / "zeros.tar.gz"
    gz.write_bytes(__import__("gzip").compress(hostile.tar_of([("zeros", b"\0" * (4 << 20))]), mtime=0))
    rc, report, _ = scan_json(gz, "--limit", "max_total=1M")
    assert "bytes decompressed (the max_total limit): refused" in errors_of(report)[str(gz)]
