"""`depfree sbom` against `depfree scan --json` of the same docker-archive as bench/bench_scan.py (the host's
/usr/lib/x86_64-linux-gnu, uncompressed layers): the SBOM goes through the same scan, so it should cost at most
1.2× the scan. Each SBOM format is timed; writes bench/results/sbom.md.

Besides wall time, the CPU time (user + system, the worker processes included: ``os.wait4`` of the command) is
recorded: on a shared machine the wall time of a 2-worker scan swings with the load, its CPU time much less.

    python bench/bench_sbom.py [--runs N] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench_scan import build_image
from common import depfree_argv, markdown_table, run_command

HERE = Path(__file__).resolve().parent


def cpu_seconds(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Median user + system CPU seconds of ``argv`` and everything it waited for."""
    times = []
    for _ in range(runs):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        times.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "sbom.md")
    args = ap.parse_args()
    built = build_image()
    if built is None:
        print("umoci and skopeo are needed to build the image", file=sys.stderr)
        return 2
    _, archive = built
    df = depfree_argv()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    commands = [("depfree scan --json", [*df, "scan", "--json", str(archive)])]
    for fmt in ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"):
        commands.append((f"depfree sbom --format {fmt}", [*df, "sbom", "--format", fmt, str(archive)]))
    results = [run_command(name, argv, args.runs, env=env) for name, argv in commands]
    by = {r.name: r for r in results if r.walls}
    scan = by.get("depfree scan --json")
    cpu = {name: cpu_seconds(argv, args.runs, env) for name, argv in commands}
    lines = []
    for r in results[1:]:
        if scan and r.name in by:
            lines.append(f"- {r.name} = {r.median / scan.median:.2f}× `depfree scan --json` wall, "
                         f"{cpu[r.name] / cpu[scan.name]:.2f}× its CPU time ({cpu[r.name]:.2f} s vs "
                         f"{cpu[scan.name]:.2f} s; target ≤ 1.2×)")
    size = archive.stat().st_size / 2**20
    table = markdown_table(results, "depfree scan --json")
    text = (f"# depfree sbom benchmark\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}. docker-archive of "
            f"/usr/lib/x86_64-linux-gnu ({size:.0f} MiB, built by bench/bench_scan.py). Median wall time of "
            f"{args.runs} runs after a warm-up, output to /dev/null; peak RSS from GNU time; CPU time (user + system, "
            f"workers included) the median of {args.runs} more runs.\n\n"
            + "\n".join(lines) + "\n\n" + table + "\n")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
