"""Where the wall time of one ``depfree scan DIR --json`` goes, process by process (issue 23): when each analysing
process (the main one and the pool's workers) starts and stops analysing, how long it is busy, and what comes before
the first analysis (interpreter, imports, fork) and after the last (the last containers' resolution, the JSON, the
exit). Writes bench/results/scan-timeline.md.

Usage: python bench/bench_scan_timeline.py [--dir DIR] [--runs N] (or bench/run_all.sh scan_timeline; DIR: /usr/bin).
Each run is one scan in a fresh process; the table is the run with the median wall time. The timing wraps the two functions that analyse files
(``scan.batches.analyse_blob`` in the main process, ``scan.worker._work_many`` in the workers, inherited by fork),
so it adds one clock read per file and one per batch.

Beside the scan, in the same run: the least a Python program does to read what ``scanelf -a`` reads (READER), the
analysis of the scan's own files in one process with nothing around it (ANALYSIS), and from them and scanelf's own
wall time a lower bound of the scan's wall time as a multiple of scanelf's (issue 23's target is 10×).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path


def _table(head: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1),
                      *("| " + " | ".join(r) + " |" for r in rows)])

# Run in a child process: the scan's CLI with the two analysing functions timed (perf_counter is the system-wide
# monotonic clock on Linux, so the workers' times and the main process's compare).
CHILD = r"""
import json, os, sys, time
start = time.perf_counter()
log_path, root = sys.argv[1], sys.argv[2]
sys.argv = ["depfree", "scan", root, "--json", "-o", os.devnull]
import depfree.cli.main as cli
import depfree.scan.batches as batches
import depfree.scan.worker as worker

def record(*row):
    with open(log_path, "a") as fh:
        fh.write(json.dumps(row) + "\n")

many = worker._work_many
def timed_many(items, *args, **kwargs):
    t = time.perf_counter()
    out = many(items, *args, **kwargs)
    record(os.getpid(), t - start, time.perf_counter() - start, len(items))
    record("files", [blob.path for blob, _name in items])
    return out
worker._work_many = batches._work_many = timed_many

one = batches.analyse_blob
def timed_one(blob, name, options):
    t = time.perf_counter()
    out = one(blob, name, options)
    record(os.getpid(), t - start, time.perf_counter() - start, 1)
    record("files", [blob.path])
    return out
batches.analyse_blob = timed_one

import atexit
atexit.register(lambda: record("end", time.perf_counter() - start))
cli.cli(prog_name="depfree")
"""


ROUNDS = 3  # of ANALYSIS

# The least a Python program does to read what scanelf -a reads of each file: walk the tree, open each file, read its
# ELF header, program headers and dynamic tags (64-bit little-endian only; the others are opened and skipped).
READER = r"""
import os, struct, sys
for dirpath, _dirs, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            head = os.pread(fd, 64, 0)
            if head[:4] != b"\x7fELF" or head[4:6] != b"\x02\x01":
                continue
            (phoff,), (phnum,) = struct.unpack_from("<Q", head, 32), struct.unpack_from("<H", head, 56)
            ph = os.pread(fd, 56 * phnum, phoff)
            for i in range(len(ph) // 56):
                typ, _fl, off, _va, _pa, fsz, _msz, _al = struct.unpack_from("<IIQQQQQQ", ph, i * 56)
                if typ == 2:  # PT_DYNAMIC
                    dyn = os.pread(fd, min(fsz, 1 << 20), off)
                    tags = [struct.unpack_from("<qQ", dyn, j) for j in range(0, len(dyn) - 15, 16)]
        finally:
            os.close(fd)
"""


# The same analysis as the scan's, of the same files, in one process with no pool, no pickling and no scan around it:
# each file's least CPU time over the rounds, summed (the floor of the analysis itself; a file whose scan failed
# is timed the same way).
ANALYSIS = r"""
import json, sys, time
from depfree.options import Options
from depfree.scan.worker import analyse_blob
from depfree.sources.blob import Blob
paths, rounds = json.load(open(sys.argv[1])), int(sys.argv[2])
options = Options(hash=False)
best = [float("inf")] * len(paths)
for _ in range(rounds):
    for i, path in enumerate(paths):
        t = time.process_time()
        analyse_blob(Blob.of_file(path), path, options)
        best[i] = min(best[i], time.process_time() - t)
print(sum(best))
"""


def median_wall(cmd: list[str], runs: int) -> float:
    """Median wall seconds of ``cmd`` (output discarded) over ``runs`` runs, after a warm-up."""
    import time

    walls = []
    for i in range(runs + 1):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        if i:
            walls.append(time.perf_counter() - t)
    return sorted(walls)[len(walls) // 2]


def analysis_floor(paths: list[str], rounds: int) -> float:
    """CPU seconds of ANALYSIS over ``paths``."""
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp, "paths.json")
        listed.write_text(json.dumps(paths))
        out = subprocess.run([sys.executable, "-c", ANALYSIS, str(listed), str(rounds)], capture_output=True,
                             text=True, check=True)
    return float(out.stdout)


def reader_floor(root: str, runs: int) -> float:
    """Median wall seconds of READER over ``root`` (interpreter start included), after a warm-up."""
    return median_wall([sys.executable, "-c", READER, root], runs)


def one_run(root: str) -> dict[str, object]:
    """One scan: the main process's pid, each process's (first start, last end, busy seconds, files) and the end."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "log")
        proc = subprocess.run([sys.executable, "-c", CHILD, str(log), root], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
        rows = [json.loads(line) for line in log.read_text().splitlines()]
    end = next(r[1] for r in rows if r[0] == "end")
    spans: dict[int, list[tuple[float, float, int]]] = {}
    for pid, t0, t1, n in (r for r in rows if r[0] not in ("end", "files")):
        spans.setdefault(pid, []).append((t0, t1, n))
    paths = sorted({p for r in rows if r[0] == "files" for p in r[1] if p})
    return {"end": end, "spans": spans, "paths": paths}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", dest="root", default="/usr/bin")
    ap.add_argument("--runs", type=int, default=5)
    args, _others = ap.parse_known_args()  # (bench/run_all.sh passes every script the same options)
    one_run(args.root)  # warm-up (page cache, derived cache)
    runs = [one_run(args.root) for _ in range(args.runs)]
    walls = [float(r["end"]) for r in runs]  # type: ignore[arg-type]
    run = runs[walls.index(sorted(walls)[len(walls) // 2])]
    end = float(run["end"])  # type: ignore[arg-type]
    spans: dict[int, list[tuple[float, float, int]]] = run["spans"]  # type: ignore[assignment]
    rows = []
    busy_total = 0.0
    for _pid, ss in sorted(spans.items(), key=lambda kv: min(s[0] for s in kv[1])):
        first, last = min(s[0] for s in ss), max(s[1] for s in ss)
        busy = sum(s[1] - s[0] for s in ss)
        busy_total += busy
        rows.append([f"process {len(rows) + 1}", f"{1000 * first:.0f}", f"{1000 * last:.0f}", f"{1000 * busy:.0f}",
                     f"{100 * busy / (last - first):.0f} %", str(sum(s[2] for s in ss))])
    floor = reader_floor(args.root, args.runs)
    paths: list[str] = run["paths"]  # type: ignore[assignment]
    cores = os.cpu_count() or 1
    analysis = analysis_floor(paths, ROUNDS)
    budget = []
    if shutil.which("scanelf"):
        scanelf = median_wall(["scanelf", "-R", "-q", "-a", args.root], args.runs)
        fixed = median_wall([sys.executable, "-c", "import click, orjson"], args.runs)
        bound = fixed + analysis / cores
        budget = [
            f"- issue 23's budget, 10× `scanelf -R -q -a {args.root}` (median {1000 * scanelf:.1f} ms): "
            f"{10000 * scanelf:.0f} ms. A lower bound of this design: the interpreter with click and orjson "
            f"imported, nothing else ({1000 * fixed:.0f} ms), plus the analysis above split perfectly over the "
            f"cores ({1000 * analysis / cores:.0f} ms) = {1000 * bound:.0f} ms = **{bound / scanelf:.1f}× "
            "scanelf**, before depfree's own imports, the walk, the pool, the resolution and the JSON",
        ]
    first_all = min(s[0] for ss in spans.values() for s in ss)
    last_all = max(s[1] for ss in spans.values() for s in ss)
    lines = [
        f"# Where the wall time of `depfree scan {args.root} --json` goes",
        "",
        "Produced by `python bench/bench_scan_timeline.py` (see its docstring): the run with the median wall time of "
        f"{args.runs}, after a warm-up. Times in ms from the start of the interpreter's main module.",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.2f}; "
        f"{os.cpu_count()} CPUs",
        f"- wall (to the last exit handler): {1000 * end:.0f} ms; walls of the runs: "
        + ", ".join(f"{1000 * w:.0f}" for w in walls),
        f"- before the first analysis (interpreter, imports, the pool's fork): {1000 * first_all:.0f} ms",
        f"- analysing: {1000 * (last_all - first_all):.0f} ms, {1000 * busy_total:.0f} ms of it busy over all "
        f"processes ({1000 * busy_total / len(spans):.0f} ms each on average: the floor of this part on "
        f"{len(spans)} cores with the same analysis)",
        f"- after the last analysis (the last containers' resolution, the JSON, the exit): "
        f"{1000 * (end - last_all):.0f} ms",
        f"- for comparison, the least a Python program does to read what `scanelf -a` reads (walk, open, ELF header, "
        f"program headers, dynamic tags: READER in the script), interpreter start included: {1000 * floor:.0f} ms",
        f"- the same analysis of the same {len(paths)} files in one process, with no pool and no scan around it "
        f"(ANALYSIS in the script: each file's least CPU time of {ROUNDS} rounds, summed): {1000 * analysis:.0f} ms "
        f"of CPU, {1000 * analysis / cores:.0f} ms on each of {cores} cores if split perfectly",
        *budget,
        "",
        _table(["process", "first analysis starts", "last ends", "busy", "busy share", "files"], rows),
        "",
    ]
    out = Path(__file__).parent / "results" / "scan-timeline.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
