"""How `depfree scan --json` grows with its input: 1×, 2×, 4× and 8× copies of one tree, every copy with distinct
content (each file gets a trailer naming its copy, so that no copy is recognised as another and skipped). Wall time,
CPU time and peak RSS for each; the cost should grow linearly and the memory stay flat. Writes
bench/results/scaling.md.

    python bench/bench_scaling.py [--runs N] [--out FILE] [--base-mb MB]

The base tree is the ELF files of /usr/bin in name order up to ``--base-mb`` (default 100 MB), built once under
the depfree cache (bench-scaling/copyK/).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from common import depfree_argv, run_command

from depfree.toolchains import cache_root

HERE = Path(__file__).resolve().parent
COPIES = (1, 2, 4, 8)


def base_files(limit: int) -> list[Path]:
    out, total = [], 0
    for p in sorted(Path("/usr/bin").iterdir()):
        if p.is_symlink() or not p.is_file():
            continue
        with open(p, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        size = p.stat().st_size
        if total + size > limit:
            continue
        out.append(p)
        total += size
    return out


def build(limit: int) -> list[Path]:
    """copy0 … copy7 of the base tree; each file with its copy's trailer appended (built once)."""
    root = cache_root() / "bench-scaling" / f"{limit >> 20}mb"
    done = root / ".done"
    dirs = [root / f"copy{k}" for k in range(max(COPIES))]
    if done.exists():
        return dirs
    shutil.rmtree(root, ignore_errors=True)
    files = base_files(limit)
    for k, d in enumerate(dirs):
        d.mkdir(parents=True)
        for p in files:
            data = p.read_bytes()
            (d / p.name).write_bytes(data + f"\0depfree-scaling-copy-{k}\0".encode())
    done.write_text(f"{len(files)} files\n")
    return dirs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "scaling.md")
    ap.add_argument("--base-mb", type=int, default=100)
    args = ap.parse_args()
    dirs = build(args.base_mb << 20)
    n_files = len(os.listdir(dirs[0]))
    mb = sum(f.stat().st_size for f in dirs[0].iterdir()) / 1e6
    df = depfree_argv()
    lines = []
    for fmt in ("json", "jsonl"):  # json: one document (the report is held to the end); jsonl: container by container
        rows = []
        for k in COPIES:
            r = run_command(f"{k}×", [*df, "scan", "--format", fmt, *map(str, dirs[:k])], args.runs)
            rows.append((k, r))
            print(f"{fmt} {k}x: wall {r.median:.2f} s, cpu {r.cpu:.2f} s, rss {r.peak_rss_mib or 0:.0f} MiB",
                  file=sys.stderr)
        base = rows[0][1]
        lines += [f"\n`--format {fmt}`:\n", "| copies | binaries | MB | wall s (median) | wall ÷ 1× | CPU s | CPU ÷ 1× | "
                  "CPU ms per binary | peak RSS MiB | exit |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for k, r in rows:
            codes = ",".join(str(c) for c in sorted(r.exit_codes))
            lines.append(f"| {k} | {k * n_files:,} | {k * mb:,.0f} | {r.median:.2f} | {r.median / base.median:.2f} | "
                         f"{r.cpu:.2f} | {r.cpu / base.cpu:.2f} | {r.cpu * 1000 / (k * n_files):.2f} | "
                         f"{r.peak_rss_mib or 0:.0f} | {codes} |")
    load = os.getloadavg()
    text = (f"# depfree scan: scaling with the input\n\n"
            f"Produced by `python bench/bench_scaling.py --runs {args.runs} --base-mb {args.base_mb}` "
            f"(bench/run_all.sh). {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"{os.cpu_count()} cores, load average {load[0]:.2f} at the end. Base tree: {n_files} ELF files of "
            f"/usr/bin ({mb:.0f} MB); copy K has every file with a trailer naming K (distinct content: no copy is "
            "skipped as a duplicate of another). Command: `depfree scan --format json|jsonl copy0 … copyK-1`, "
            "output to /dev/null; peak RSS of the largest process of the tree (GNU time).\n\n" + "\n".join(lines) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
