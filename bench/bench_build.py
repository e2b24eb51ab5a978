"""`depfree build`: the whole default matrix of tests/programs/go/shipit on a warm build cache, time per variant split
into build, analysis and sandboxed runs. Writes bench/results/build.md.

    python bench/bench_build.py [--go 1.27.3] [--rounds N] [--runs N] [--out FILE]
    python bench/bench_build.py --cpu [--repeat N]   # the CPU time of analysis and runs alone, per variant

``--cpu``: the steadier measure on a shared machine. The matrix is built once (binaries kept); then, with nothing else
of the matrix running, each variant's analysis, four traced runs and timed runs are repeated ``--repeat`` times and
their CPU time (this process and its children: user + sys, from getrusage) and wall time are reported per variant.

A warm-up matrix fills the GOCACHE (and Zig's cache) first; then ``--rounds`` matrices are measured in-process with
:func:`depfree.build.matrix.run_matrix` and the round with the median wall time is reported. The analysis and the
traced sandbox runs of a variant go on in a worker thread while the next variant builds; the timed runs come after
all builds, one after another, each variant's in one sandbox set-up ("timed runs s" is that whole sandbox, set-up
included; "start-up median ms" the program's runs inside it, see depfree.build.proof). Two shares are given: the sum of the analysis and run durations over the wall time
(counting overlapped work in full), and the wall time the matrix spends outside its build phase.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import resource
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from depfree.build.matrix import Matrix, run_matrix, variants_for
from depfree.build.runner import toolchain_for

HERE = Path(__file__).resolve().parent
PROGRAM = HERE.parent / "tests" / "programs" / "go" / "shipit"
TARGET = 0.25


def one(go: str, runs: int) -> Matrix:
    return run_matrix(PROGRAM, toolchain_for(go), variants=variants_for(None), targets=["scratch", "centos-7"],
                      runs=runs)


def report(m: Matrix, rounds: list[Matrix], runs: int, go: str) -> str:
    j = m.to_json()
    s = j["seconds"]
    lines = [f"# `depfree build`: the default matrix of tests/programs/go/shipit ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
             "",
             f"`python bench/bench_build.py --go {go} --rounds {len(rounds)} --runs {runs}` on {platform.node()} "
             f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end); {m.go}, "
             f"{len(m.results)} variants, targets {', '.join(m.targets)}, {runs} timed runs per variant. Warm build "
             "cache (a warm-up matrix ran first); the round with the median wall time of "
             f"{len(rounds)} is shown (walls: {', '.join(f'{r.wall_seconds:.1f}' for r in rounds)} s). \"timed runs s\": "
             "the variant's whole timed sandbox, its set-up included; \"start-up\": each run inside it"
             + (f" (sandbox floor, busybox-static exiting at once: median {m.floor.median * 1000:.1f} ms)."
                if m.floor else "."),
             "",
             "| variant | size | build s | analysis s | traced runs s (4 roots) | timed runs s | start-up median ms | peak RSS KiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in m.results:
        t = r.timing
        size = f"{r.facts.binary.size:,}" if r.facts else r.build.status
        lines.append(f"| {r.name} | {size} | {r.build.seconds:.2f} | {r.analysis_seconds:.3f} | "
                     f"{r.runs_seconds - r.timed_seconds:.3f} | {r.timed_seconds:.3f} | "
                     f"{t.median * 1000:.0f} |" if t else f"| {r.name} | {size} | {r.build.seconds:.2f} | - | - | - | - |")
        if t:
            lines[-1] += f" {t.peak_rss_kb or '-'} |"
    ar = s["analysis"] + s["runs"]
    shares = [100 * (r.to_json()["seconds"]["analysis"] + r.to_json()["seconds"]["runs"]) / r.wall_seconds
              for r in rounds]
    outside = s["wall"] - s["build_phase"]
    lines += ["",
              f"- wall {s['wall']:.2f} s; builds {s['build']:.2f} s (sum), build phase {s['build_phase']:.2f} s "
              "(builds with the overlapped analysis and traced runs)",
              f"- analysis {s['analysis']:.2f} s + sandboxed runs {s['runs']:.2f} s = {ar:.2f} s = "
              f"**{100 * ar / s['wall']:.1f} %** of the wall counting overlapped work in full "
              f"(target ≤ {TARGET:.0%}: {'met' if ar / s['wall'] <= TARGET else 'missed'})",
              f"- wall outside the build phase (timed runs, the recommendation): {outside:.2f} s = "
              f"**{100 * outside / s['wall']:.1f} %**; wall beyond the builds' own time: "
              f"{s['wall'] - s['build']:.2f} s = {100 * (s['wall'] - s['build']) / s['wall']:.1f} %",
              f"- median over the {len(rounds)} rounds of the first share: {statistics.median(shares):.1f} % "
              f"(each round: {', '.join(f'{x:.1f}' for x in shares)} %)",
              ""]
    return "\n".join(lines)


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_report(go: str, runs: int, repeat: int) -> str:
    """Each phase of each variant's proof alone (no build beside it), ``repeat`` times: CPU and wall per variant."""
    import inspect
    import tempfile

    from depfree.build.facts import facts_of
    from depfree.build.proof import ROOTS, sandbox_runs, timed_runs
    from depfree.sandbox.runner import Sandbox

    lean = {"digests": False} if "digests" in inspect.signature(facts_of).parameters else {}
    names = ["scratch", "centos-7"]
    with tempfile.TemporaryDirectory(prefix="bench-build-") as keep:
        m = run_matrix(PROGRAM, toolchain_for(go), variants=variants_for(None), targets=names, runs=runs,
                       keep=keep)
        rows, totals = [], {"analysis": [0.0, 0.0], "traced": [0.0, 0.0], "timed": [0.0, 0.0]}
        with Sandbox() as sb:
            for r in m.results:
                if r.build.status != "built":
                    continue
                path = str(r.build.path)
                first = next((x.root for x in r.runs if x.passed), "glibc")
                phases: dict[str, Any] = {
                    "analysis": functools.partial(facts_of, path, names, **lean),
                    "traced": functools.partial(sandbox_runs, path, (), ROOTS, 10.0, sb),
                    "timed": functools.partial(timed_runs, path, first, runs, (), 10.0, sb)}
                cells = []
                for key, fn in phases.items():
                    fn()  # warm: the roots built, the file in the page cache
                    c0, w0 = _cpu(), time.monotonic()
                    for _ in range(repeat):
                        fn()
                    cpu, wall = (_cpu() - c0) / repeat, (time.monotonic() - w0) / repeat
                    totals[key][0] += cpu
                    totals[key][1] += wall
                    cells.append(f"{cpu * 1000:.0f} / {wall * 1000:.0f}")
                rows.append(f"| {r.name} | {' | '.join(cells)} |")
    cpu_sum = sum(c for c, _w in totals.values())
    return "\n".join([
        f"# `depfree build` proof phases alone, CPU / wall ms per variant ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "", f"`python bench/bench_build.py --cpu --repeat {repeat} --runs {runs}` on {platform.node()} "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end); {m.go}; CPU = user + sys of "
        "this process and its children, each phase repeated alone.", "",
        "| variant | analysis CPU / wall ms | 4 traced runs CPU / wall ms | timed runs CPU / wall ms |",
        "|---|---:|---:|---:|", *rows, "",
        "- sums over the variants, CPU / wall: " + ", ".join(f"{k} {c:.2f} / {w:.2f} s" for k, (c, w) in totals.items())
        + f"; CPU in all {cpu_sum:.2f} s", ""])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--go", default="1.27.3")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None, help="default results/build.md (results/build-cpu.md with --cpu)")
    ap.add_argument("--cpu", action="store_true", help="CPU time of each proof phase alone, per variant")
    ap.add_argument("--repeat", type=int, default=5)
    ns = ap.parse_args()
    if ns.cpu:
        text = cpu_report(ns.go, ns.runs, ns.repeat)
        Path(ns.out or HERE / "results" / "build-cpu.md").write_text(text)
        print(text)
        return 0
    print("warm-up matrix …", file=sys.stderr)
    one(ns.go, ns.runs)
    rounds = []
    for i in range(ns.rounds):
        rounds.append(one(ns.go, ns.runs))
        print(f"round {i + 1}: {rounds[-1].wall_seconds:.1f} s", file=sys.stderr)
    median = sorted(rounds, key=lambda r: r.wall_seconds)[len(rounds) // 2]
    text = report(median, rounds, ns.runs, ns.go)
    Path(ns.out or HERE / "results" / "build.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
