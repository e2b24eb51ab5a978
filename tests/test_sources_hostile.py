"""Hostile archives: every bad entry becomes a clear per-entry error, the scan goes on, nothing is written outside
the scan's own temp dir, and memory stays bounded.

Hostile entries no tool writes on purpose are made with Python's ``tarfile``/``zipfile`` (the header fields are
what is hostile, not the bytes around them)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from depfree.scan import iter_scan, scan
from depfree.sources.archive import Limits
from helpers.factory import Factory


def add_bytes(tf: tarfile.TarFile, name: str, data: bytes, **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in fields.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data))


@pytest.fixture()
def hostile_tar(factory: Factory, tmp_path: Path) -> Path:
    app = factory.go("plain").read_bytes()
    out = tmp_path / "hostile.tar"
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tf:
        add_bytes(tf, "../../evil", app)
        add_bytes(tf, "/etc/abs", app)
        add_bytes(tf, "ok/../../up", b"x")
        dev = tarfile.TarInfo("dev/sda")
        dev.type, dev.devmajor, dev.devminor = tarfile.BLKTYPE, 8, 0
        tf.addfile(dev)
        tty = tarfile.TarInfo("dev/tty")
        tty.type, tty.devmajor, tty.devminor = tarfile.CHRTYPE, 5, 0
        tf.addfile(tty)
        fifo = tarfile.TarInfo("run/fifo")
        fifo.type = tarfile.FIFOTYPE
        tf.addfile(fifo)
        add_bytes(tf, "bin/app", app)
    return out


def test_hostile_tar_entries_are_per_entry_errors(hostile_tar: Path) -> None:
    report = scan(hostile_tar, jobs=1)
    errors = {e.path.split("!", 1)[1]: e.error for e in report.errors}
    assert "path traversal" in errors["../../evil"]
    assert "absolute path" in errors["/etc/abs"]
    assert "path traversal" in errors["ok/../../up"]
    assert errors["dev/sda"].startswith("block device")
    assert errors["dev/tty"].startswith("character device")
    assert errors["run/fifo"].startswith("FIFO")
    assert [b.path for b in report.binaries] == [f"{hostile_tar}!bin/app"]  # the scan went on
    assert not (hostile_tar.parent.parent / "evil").exists()


def test_cli_reports_entry_errors_and_exits_2(hostile_tar: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "depfree", "scan", "--jobs", "1", str(hostile_tar)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{hostile_tar}!../../evil: path traversal" in proc.stderr
    assert "bin/app" in proc.stdout


def _huge_member(name: str, declared: int, real: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = declared
    return info.tobuf(format=tarfile.GNU_FORMAT) + real


def test_huge_declared_size(tmp_path: Path, factory: Factory) -> None:
    app = factory.go("plain").read_bytes()
    plain = tmp_path / "huge.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        add_bytes(tf, "bin/app", app)
    good = buf.getvalue().rstrip(b"\0")
    good += b"\0" * (-len(good) % 512)
    plain.write_bytes(good + _huge_member("big.bin", 1 << 40, b"\x7fELF" + b"\0" * 1020))
    report = scan(plain, jobs=1)
    errors = {e.path: e.error for e in report.errors}
    assert "exceeds the limit" in errors[f"{plain}!big.bin"]
    assert [b.path for b in report.binaries] == [f"{plain}!bin/app"]
    # within the limit but past the end of the archive
    plain.write_bytes(good + _huge_member("cut.bin", 10 << 20, b"\x7fELF" + b"\0" * 1020))
    report = scan(plain, jobs=1)
    assert "runs past the end of the archive" in {e.path: e.error for e in report.errors}[f"{plain}!cut.bin"]


def test_zip_bomb_ratio(tmp_path: Path, factory: Factory) -> None:
    out = tmp_path / "bomb.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\x7fELF" + b"\0" * (8 << 20))
        zf.write(factory.go("plain"), "bin/app")
    results = list(iter_scan(out, jobs=1, limits=Limits(ratio_floor=1 << 20)))
    errors = {e.path: e.error for r in results for e in r.errors}
    assert "looks like a zip bomb" in errors[f"{out}!zeros.bin"]
    assert [b.path for r in results for b in r.binaries] == [f"{out}!bin/app"]


def test_gzip_bomb_stops_the_stream(tmp_path: Path) -> None:
    out = tmp_path / "bomb.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        add_bytes(tf, "zeros.bin", b"\0" * (8 << 20))
    results = list(iter_scan(out, jobs=1, limits=Limits(ratio_floor=1 << 20)))
    (err,) = [e for r in results for e in r.errors]
    assert err.path == str(out) and "decompression bomb" in err.error


def test_corrupt_archives(tmp_path: Path, factory: Factory) -> None:
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tf:
        tf.add(factory.go("plain"), "bin/app")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    report = scan(cut, jobs=1)
    assert [e.path for e in report.errors] == [str(cut)]
    assert report.errors[0].error.startswith("bin/app: corrupt member data (Compressed file ended")
    notzip = tmp_path / "broken.zip"
    notzip.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    report = scan(notzip, jobs=1)
    assert report.errors[0].error.startswith("not a readable zip archive")
    text = tmp_path / "notes.gz"
    import gzip

    text.write_bytes(gzip.compress(b"hello"))
    report = scan(text, jobs=1)
    assert report.errors[0].error == "a gzip stream that does not hold a tar archive"
    missing = scan(tmp_path / "nope.tar", jobs=1)
    assert missing.errors[0].error == "no such file"


def test_nothing_written_outside_and_spool_cleaned(hostile_tar: Path, tmp_path: Path, factory: Factory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Large members are spooled to a private temp dir (forced here with a tiny spool limit), removed afterwards;
    the scan writes nothing else, wherever it runs."""
    gz = tmp_path / "in" / "hostile.tar.gz"
    gz.parent.mkdir()
    with tarfile.open(hostile_tar) as src, tarfile.open(gz, "w:gz") as dst:
        for ti in src.getmembers():
            dst.addfile(ti, src.extractfile(ti) if ti.isreg() else None)
    spool = tmp_path / "tmp"
    spool.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    results = list(iter_scan(gz, jobs=1, limits=Limits(spool_over=1024)))
    assert [b.path for r in results for b in r.binaries] == [f"{gz}!bin/app"]
    assert list(spool.iterdir()) == [] and list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "hostile.tar", "in", "tmp"]


def test_memory_stays_bounded_for_a_large_member(tmp_path: Path, factory: Factory) -> None:
    """A 96 MiB member of incompressible data in a zstd tar is streamed past, never held: the scan's peak RSS
    (GNU time) stays below what holding it would cost."""
    gnu_time = "/usr/bin/time"
    if not os.access(gnu_time, os.X_OK):
        factory.require("time")
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.write(os.urandom(96 << 20))
    out = tmp_path / "big.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", str(out), "-C", str(tmp_path), "big.bin"], check=True)
    big.unlink()
    rss = tmp_path / "rss"
    proc = subprocess.run([gnu_time, "-f", "%M", "-o", str(rss), sys.executable, "-m", "depfree", "scan", "--json",
                           "--jobs", "1", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    peak_mib = int(rss.read_text().split()[-1]) / 1024
    assert peak_mib < 96, f"peak RSS {peak_mib:.0f} MiB"


def _ar(members: list[tuple[bytes, bytes]]) -> bytes:
    """An ar archive written by hand (GNU short names): ``ar`` itself stores only base names, so a climbing name
    cannot come from it."""
    out = b"!<arch>\n"
    for name, data in members:
        out += (name + b"/").ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"644".ljust(8)
        out += str(len(data)).encode().ljust(10) + b"`\n" + data + b"\n" * (len(data) & 1)
    return out


def test_one_member_policy_for_tar_zip_and_ar(tmp_path: Path, factory: Factory) -> None:
    """The same hostile entries give the same per-entry errors whatever the format: one policy judges them all."""
    app = factory.go("plain").read_bytes()
    hello = factory.c("hello.c").read_bytes()
    members = [("../evil", b"x"), ("big", app), ("hello", hello)]
    tar = tmp_path / "m.tar"
    with tarfile.open(tar, "w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members:
            add_bytes(tf, name, data)
    zp = tmp_path / "m.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    ar = tmp_path / "m.a"
    ar.write_bytes(_ar([(n.encode(), d) for n, d in members]))
    limit = len(app) - 1
    for path in (tar, zp, ar):
        results = list(iter_scan(path, jobs=1, limits=Limits(max_member=limit)))
        errors = {e.path: e.error for r in results for e in r.errors}
        assert errors == {
            f"{path}!../evil": "path traversal ('..') in archive member name: refused",
            f"{path}!big": f"declared size {len(app):,} bytes exceeds the limit of {limit:,} (max_member): skipped",
        }, path
        assert [b.path for r in results for b in r.binaries] == [f"{path}!hello"]  # the walk went on


def test_ar_member_name_that_is_not_utf8_leaves_as_its_own_bytes(tmp_path: Path) -> None:
    """A static library made by binutils ``ar`` from a gcc object whose name is Latin-1: the member is shown with
    the bytes ``ar t`` prints, as tar member names are (not with U+FFFD)."""
    name = b"caf\xe9.o"
    src = tmp_path / "a.c"
    src.write_text("int f(void) { return 1; }\n")
    subprocess.run(["gcc", "-c", str(src), "-o", os.fsdecode(bytes(tmp_path) + b"/" + name)], check=True)
    lib = tmp_path / "lib.a"
    subprocess.run(["ar", "rc", str(lib), os.fsdecode(name)], check=True, cwd=tmp_path)
    listed = subprocess.run(["ar", "t", str(lib)], check=True, capture_output=True).stdout.splitlines()
    assert listed == [name]
    report = scan(lib, jobs=1)
    assert [b.path for b in report.binaries] == [f"{lib}!{os.fsdecode(listed[0])}"]
