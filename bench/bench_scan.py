"""`depfree scan --json` side by side with `scanelf -R -q -a` and `checksec --dir` over /usr/bin and /usr/lib, and
over a several-hundred-MB container image (read in place, never extracted). Writes bench/results/scan.md.

    python bench/bench_scan.py [--runs N] [--usr-lib-runs N] [--out FILE] [--no-checksec] [--checksec-usr-lib] [--no-usr-lib]
                               [--no-image]

The image is an OCI layout built once with umoci from the host's /usr/lib/x86_64-linux-gnu (one gzip layer) and the
same image copied by skopeo into a `docker save` tarball (uncompressed layers); both are cached under the depfree
cache. A per-analyzer cost table (one in-process `scan(jobs=1)` of /usr/bin with every analyzer timed) shows where
the time goes.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common import Result, depfree_argv, markdown_table, run_command, tool_version

from depfree.toolchains import cache_root

HERE = Path(__file__).resolve().parent
IMAGE_SOURCE = "/usr/lib/x86_64-linux-gnu"


def build_image() -> tuple[Path, Path] | None:
    """(OCI layout dir, docker-archive tarball) of IMAGE_SOURCE, built once."""
    umoci, skopeo = shutil.which("umoci"), shutil.which("skopeo")
    if not umoci or not skopeo:
        return None
    root = cache_root() / "bench-image"
    layout, archive = root / "layout", root / "image.tar"
    if archive.exists():
        return layout, archive
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run([umoci, "init", "--layout", str(layout)], check=True)
    subprocess.run([umoci, "new", "--image", f"{layout}:bench"], check=True)
    subprocess.run([umoci, "insert", "--image", f"{layout}:bench", IMAGE_SOURCE, IMAGE_SOURCE], check=True)
    subprocess.run([skopeo, "copy", "--quiet", f"oci:{layout}:bench", f"docker-archive:{archive}:bench:latest"],
                   check=True)
    return layout, archive


def analyzer_costs(tree: str, hashed: bool = False) -> tuple[float, int, list[tuple[str, float]]]:
    """One in-process scan with every analyzer (and the format sniff/open, the sha256 with ``hashed``) timed."""
    import depfree.analysis.pipeline as pipeline
    import depfree.formats.detect as detect
    from depfree.scan import scan

    cost: collections.Counter[str] = collections.Counter()
    saved_analyzers, saved_open = list(pipeline.ANALYZERS), detect.open_executables

    def timed(fn):  # type: ignore[no-untyped-def]
        def run(ctx):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            fn(ctx)
            cost[fn.__name__] += time.perf_counter() - t
        return run

    def open_timed(src):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return saved_open(src)
        finally:
            cost["(open_executables: ELF/PE/Mach-O headers)"] += time.perf_counter() - t

    saved_sha = pipeline.sha256_of

    def sha_timed(src):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return saved_sha(src)
        finally:
            cost["(sha256 of the file: --hash only)"] += time.perf_counter() - t

    import depfree.api as api

    saved_judge = api.judge_targets

    def judge_timed(binary, options):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return saved_judge(binary, options)
        finally:
            cost["judge_targets"] += time.perf_counter() - t

    pipeline.ANALYZERS[:] = [timed(f) for f in saved_analyzers]
    detect.open_executables = api.open_executables = open_timed  # (api.analyse_source calls its own imports)
    pipeline.sha256_of = api.sha256_of = sha_timed
    api.judge_targets = judge_timed
    try:
        start = time.perf_counter()
        report = scan(tree, jobs=1, options=_options(hashed))
        total = time.perf_counter() - start
    finally:
        pipeline.ANALYZERS[:] = saved_analyzers
        detect.open_executables = api.open_executables = saved_open
        pipeline.sha256_of = api.sha256_of = saved_sha
        api.judge_targets = saved_judge
    cost["(the rest: walk, sniffing every file, resolution, bookkeeping)"] = total - sum(cost.values())
    return total, len(report.binaries), cost.most_common()


def _options(hashed: bool) -> Any:
    from depfree.analysis.context import Options

    return Options(hash=hashed) if "hash" in Options.__dataclass_fields__ else Options()


def parts(tree: str, runs: int, df: list[str]) -> str:
    """The cost of every part of `depfree scan TREE --json`, each measured on its own: interpreter start-up, the
    imports of the verb, the walk (every file opened and its head sniffed), the analyses, the resolution and the
    JSON; and, for the real run with its pool, the CPU time of the main process against the workers'."""
    import resource

    from depfree.render.json import dumps_model
    from depfree.scan import iter_scan, scan
    from depfree.sources.tree import walk

    start_up = run_command("python3 -c pass", [sys.executable, "-c", "pass"], runs)
    imports = run_command("imports of scan", [sys.executable, "-c", SCAN_IMPORTS], runs)
    walks = []
    for _ in range(runs):
        t = time.process_time()
        n_walked = sum(1 for _ in walk(tree, lambda p, m: None))
        walks.append(time.process_time() - t)
    report = scan(tree, jobs=1)
    encodes = []
    for _ in range(runs):
        t = time.process_time()
        dumps_model(report)
        encodes.append(time.process_time() - t)
    main_cpu, child_cpu, wall = [], [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t, w = time.process_time(), time.perf_counter()
        results = list(iter_scan(tree, jobs=os.cpu_count()))
        main_cpu.append(time.process_time() - t)
        wall.append(time.perf_counter() - w)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        del results
    med = statistics.median
    rows = [
        ("Python start-up (`python3 -c pass`), wall", start_up.median),
        (f"imports of the scan verb (`python3 -c '{SCAN_IMPORTS}'`), wall", imports.median - start_up.median),
        (f"walk: {n_walked:,} executables and archives found, every file's head read and sniffed (CPU)",
         med(walks)),
        (f"JSON of the report ({len(report.binaries):,} binaries, `render.json.dumps_model`, CPU)", med(encodes)),
        (f"`iter_scan(jobs={os.cpu_count()})` in-process: wall", med(wall)),
        ("  CPU of the main process (walk, sniff, copy detection, resolution, bookkeeping)", med(main_cpu)),
        (f"  CPU of the {os.cpu_count()} workers (analyses)", med(child_cpu)),
    ]
    lines = ["| part | ms |", "|---|---:|"] + [f"| {name} | {secs * 1000:.0f} |" for name, secs in rows]
    return (f"## The parts of `depfree scan {tree} --json`, measured one by one (median of {runs})\n\n"
            + "\n".join(lines) + "\n")


SCAN_IMPORTS = "import depfree.cli.main, depfree.cli.scan, depfree.analysis.pipeline, depfree.formats.elf"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "scan.md")
    ap.add_argument("--no-checksec", action="store_true", help="skip checksec (about a minute per run on /usr/bin)")
    ap.add_argument("--checksec-usr-lib", action="store_true",
                    help="also time checksec --dir=/usr/lib (one run; it calls `file` twice on each of its 63k files)")
    ap.add_argument("--no-usr-lib", action="store_true")
    ap.add_argument("--usr-lib-runs", type=int, default=None, help="runs for /usr/lib (default: --runs)")
    ap.add_argument("--no-image", action="store_true")
    args = ap.parse_args()
    df = depfree_argv()
    sections: list[str] = []
    ratios: list[str] = []

    def block(title: str, results: list[Result], baseline: str) -> None:
        sections.append(f"## {title}\n\n{markdown_table(results, baseline)}\n")
        print(sections[-1], flush=True)

    for tree, with_checksec in (("/usr/bin", True), ("/usr/lib", args.checksec_usr_lib)):
        if tree == "/usr/lib" and args.no_usr_lib:
            continue
        runs = args.usr_lib_runs if tree == "/usr/lib" and args.usr_lib_runs else args.runs
        results = [
            run_command("scanelf -R -q -a", ["scanelf", "-R", "-q", "-a", tree], runs),
            run_command("depfree scan --json", [*df, "scan", "--json", tree], runs),
            run_command("depfree scan --json --hash", [*df, "scan", "--json", "--hash", tree], runs),
            run_command("depfree scan --json -j1", [*df, "scan", "--json", "--jobs", "1", tree], 1, warmup=0),
            # What the report's sha256 of every file costs on its own: OpenSSL (SHA extensions, as Python's
            # hashlib) on as many processes as cores, a floor for any tool that reports it.
            run_command("openssl sha256 of every file", ["sh", "-c", f"find {tree} -type f -print0 | xargs -0 -r "
                                                         f"-P{os.cpu_count() or 1} -n64 openssl dgst -sha256 -r"],
                        runs),
        ]
        if with_checksec and not args.no_checksec:
            results.append(run_command("checksec --dir", ["checksec", f"--dir={tree}"], 1, warmup=0))
        block(f"{tree} (every file)", results, "depfree scan --json")
        by = {r.name: r for r in results if r.walls}
        d = by.get("depfree scan --json")
        if d and "scanelf -R -q -a" in by:
            ratios.append(f"- {tree}: depfree scan = {d.median / by['scanelf -R -q -a'].median:.1f}× scanelf's wall "
                          "time (target ≤ 10×)")
        floor = by.get("openssl sha256 of every file")
        if floor and "scanelf -R -q -a" in by:
            ratios.append(f"- {tree}: hashing every file alone (openssl, {os.cpu_count()} processes) = "
                          f"{floor.median / by['scanelf -R -q -a'].median:.1f}× scanelf's wall time")
        hashed = by.get("depfree scan --json --hash")
        if d and hashed and floor:
            ratios.append(f"- {tree}: `--hash` costs {(hashed.median - d.median) * 1000:.0f} ms of wall time "
                          f"({(hashed.cpu - d.cpu) * 1000:.0f} ms CPU) over the scan without it; the openssl floor "
                          f"is {floor.median * 1000:.0f} ms ({floor.cpu * 1000:.0f} ms CPU) (target: at most the "
                          "floor)")
        if d:
            ratios.append(f"- {tree}: depfree scan peak RSS {d.peak_rss_mib or 0:.0f} MiB (target ≤ 200 MiB), "
                          f"CPU {d.cpu * 1000:.0f} ms")
        if d and "checksec --dir" in by:
            ratios.append(f"- {tree}: checksec --dir takes {by['checksec --dir'].median / d.median:.1f}× as long as "
                          "depfree scan (target ≥ 100×)")

    if not args.no_image:
        built = build_image()
        if built:
            layout, archive = built
            size = archive.stat().st_size
            lsize = sum(p.stat().st_size for p in layout.rglob("*") if p.is_file())
            tmp_before = set(os.listdir("/tmp"))
            results = [
                run_command("depfree scan docker-archive", [*df, "scan", "--json", str(archive)], 1),
                run_command("depfree scan OCI layout (gzip layer)", [*df, "scan", "--json", str(layout)], 1),
                run_command("tar -tf (list only)", ["tar", "-tf", str(archive)], 1),
            ]
            leftovers = sorted(set(os.listdir("/tmp")) - tmp_before)
            block(f"Image of {IMAGE_SOURCE}: docker-archive {size / 2**20:.0f} MiB, OCI layout {lsize / 2**20:.0f} "
                  "MiB (nothing extracted)", results, "depfree scan docker-archive")
            sections.append(f"Files left in /tmp by the image scans: {leftovers or 'none'}\n")

    for hashed in (False, True):
        total, n, costs = analyzer_costs("/usr/bin", hashed)
        lines = ["| step | total ms | ms per binary | share |", "|---|---:|---:|---:|"]
        for name, secs in costs:
            lines.append(f"| {name} | {secs * 1000:.0f} | {secs * 1000 / max(n, 1):.2f} | {secs / total:.0%} |")
        sections.append(f"## Where the time goes: in-process scan of /usr/bin{' --hash' if hashed else ''}, jobs=1 "
                        f"({n} binaries, {total:.2f} s)\n\n" + "\n".join(lines) + "\n")
        print(sections[-1])
    sections.append(parts("/usr/bin", args.runs, df))
    print(sections[-1])

    header = (f"# depfree scan benchmark\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
              f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{tool_version(['scanelf', '--version'])}; {tool_version(['checksec', '--version'])}.\n"
              "Median wall time of the measured runs (one warm-up run first, output to /dev/null); peak RSS from "
              "GNU time.\n\n" + "\n".join(ratios) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
