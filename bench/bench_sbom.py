"""`depfree sbom` against `depfree scan --json` of the same docker-archive as bench/bench_scan.py (the host's
/usr/lib/x86_64-linux-gnu, uncompressed layers): the SBOM goes through the same scan, so it should cost at most
1.2× the scan (issue 19). Each SBOM format is timed, and `scan --json --hash` for reference (an SBOM names every
file by its sha256, which `scan --json` no longer computes); writes bench/results/sbom.md.

The commands run interleaved, one round of every command after another, so that a change in the machine's load
(it is shared) falls on all of them alike. Besides wall time, the CPU time (user + system, the worker processes
included, from GNU time) is recorded: on a shared machine the wall time of a 2-worker scan swings with the load,
its CPU time much less. ``--before SRC`` also times the SBOM commands with ``PYTHONPATH=SRC`` (an older tree's
``src``), in the same rounds, for a before/after comparison.

    python bench/bench_sbom.py [--runs N] [--before SRC] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench_scan import build_image
from common import Result, depfree_argv, markdown_table, run_command

HERE = Path(__file__).resolve().parent
FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv")
SCAN = "depfree scan --json"


def interleaved(commands: list[tuple[str, list[str], dict[str, str]]], runs: int) -> list[Result]:
    """A warm-up round, then ``runs`` rounds of every command in turn; one Result per command."""
    results = [Result(name=name, command="") for name, _, _ in commands]
    for round_ in range(runs + 1):
        for res, (name, argv, env) in zip(results, commands, strict=True):
            got = run_command(name, argv, 1, warmup=0, env=env)
            res.command, res.note = got.command, got.note
            if round_ == 0:
                continue
            res.walls += got.walls
            res.cpus += got.cpus
            res.rss_kib += got.rss_kib
            res.exit_codes |= got.exit_codes
    return results


def uptime() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before", type=Path, default=None, metavar="SRC",
                    help="also time the SBOM commands with PYTHONPATH=SRC (the src directory of an older tree)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "sbom.md")
    args = ap.parse_args()
    built = build_image()
    if built is None:
        print("umoci and skopeo are needed to build the image", file=sys.stderr)
        return 2
    _, archive = built
    df = depfree_argv()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    commands = [(SCAN, [*df, "scan", "--json", str(archive)], env),
                ("depfree scan --json --hash", [*df, "scan", "--json", "--hash", str(archive)], env)]
    for fmt in FORMATS:
        commands.append((f"depfree sbom --format {fmt}", [*df, "sbom", "--format", fmt, str(archive)], env))
        if args.before is not None:
            before = {**env, "PYTHONPATH": str(args.before.resolve())}
            commands.append((f"depfree sbom --format {fmt} (before)", [*df, "sbom", "--format", fmt, str(archive)],
                             before))
    load_start = uptime()
    started = datetime.now(timezone.utc)
    results = interleaved(commands, args.runs)
    load_end = uptime()
    by = {r.name: r for r in results if r.walls}
    scan = by.get(SCAN)
    lines = []
    for r in results[1:]:
        if scan and r.name in by:
            lines.append(f"- {r.name} = {r.median / scan.median:.2f}× `{SCAN}` wall ({r.median:.2f} s "
                         f"[{min(r.walls):.2f}–{max(r.walls):.2f}] vs {scan.median:.2f} s "
                         f"[{min(scan.walls):.2f}–{max(scan.walls):.2f}]), {r.cpu / scan.cpu:.2f}× its CPU time "
                         f"({r.cpu:.2f} s vs {scan.cpu:.2f} s)"
                         + ("; target ≤ 1.2×" if r.name.startswith("depfree sbom") else ""))
    size = archive.stat().st_size / 2**20
    table = markdown_table(results, SCAN)
    text = (f"# depfree sbom benchmark\n\n{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average (1, 5, 15 min) {load_start} at the start and "
            f"{load_end} at the end. docker-archive of /usr/lib/x86_64-linux-gnu ({size:.0f} MiB, built by "
            f"bench/bench_scan.py). A warm-up round, then {args.runs} interleaved rounds of every command; median "
            f"wall time (range in brackets), output to /dev/null; CPU time (user + system, workers included) and "
            f"peak RSS from GNU time, `SOURCE_DATE_EPOCH=0`."
            + (f" \"(before)\": PYTHONPATH={args.before}." if args.before is not None else "") + "\n\n"
            + "\n".join(lines) + "\n\n"
            + table + "\n")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
