#!/usr/bin/env python3
"""The worst cases of docs/limits.md, measured with the fuzz harness (each input in a forked child, peak RSS from
wait4): ``bench/limits.py [--workdir /tmp/depfree-limits]``. Builds a 3 GiB-of-zeros gzip bomb (14 MB) once."""

from __future__ import annotations

import argparse
import gzip
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fuzz import hostile  # noqa: E402
from fuzz.harness import prewarm, run_path  # noqa: E402
from helpers.factory import Factory  # noqa: E402


def gzip_bomb(path: Path, size: int = 3 << 30) -> None:
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=1) as gz:
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            gz.write(block)


def show(name: str, path: Path, mode: str = "scan") -> None:
    o = run_path(str(path), mode, timeout=900, size=path.stat().st_size)
    print(f"| {name} | {path.stat().st_size:,} B | {o.status}: {o.detail[:80]} | {o.seconds:.1f} s | "
          f"{o.rss / 2**20:.0f} MiB |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/depfree-limits"))
    args = ap.parse_args()
    d = args.workdir
    d.mkdir(parents=True, exist_ok=True)
    prewarm()
    bomb = d / "bomb.tar.gz"
    if not bomb.exists():
        gzip_bomb(bomb)
    show("gzip bomb, 3 GiB of zeros", bomb)
    goroot = Factory().goroot()
    show("gnu-sparse-many-zeros.tar.bz2", goroot / "src/archive/tar/testdata/gnu-sparse-many-zeros.tar.bz2")
    (d / "overlap.zip").write_bytes(hostile.overlapping_zip(200))
    show("200 overlapping zip entries", d / "overlap.zip")
    (d / "huge.tar.gz").write_bytes(hostile.huge_declared_targz())
    show("2^62 declared in a .tar.gz", d / "huge.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
