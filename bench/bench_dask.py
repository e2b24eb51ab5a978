"""`depfree scan` of a fleet of image tarballs: the local process pool against Dask (a `LocalCluster` started by the
command, and a standing cluster of a `dask scheduler` and two `dask worker` processes), interleaved in one run.
Writes bench/results/dask.md.

    python bench/bench_dask.py [--images N] [--runs N] [--out FILE]

The fleet: N docker-archive tarballs (one uncompressed layer each, written here with tarfile), each holding 14 shared
libraries from /usr/lib/x86_64-linux-gnu and 6 programs from /usr/bin chosen at random (seeded by the image's number)
plus a unique /etc/fleet-id. Every executable gets a trailer of 1-64 bytes unique to its image (ignored by the loader,
like a signature), so no two images share a file and the content cache short-circuits nothing: both executors do the
same work. Cached under the depfree cache (bench-dask-fleet/).

Measured per run: wall time, images/s, peak RSS of the client process and of the largest worker process (psutil,
sampled every 50 ms over the whole process tree; GNU time cannot see a LocalCluster's workers). On the standing
cluster, the scheduler's task stream gives each task's compute time; the scheduler overhead per task is
(wall x worker threads - sum of compute times) / tasks, the time a worker thread was not computing, per task.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from common import depfree_argv

from depfree.toolchains import cache_root

HERE = Path(__file__).resolve().parent
LIBS, BINS = "/usr/lib/x86_64-linux-gnu", "/usr/bin"
PER_IMAGE = (14, 6)
LOCAL = "local pool, -j 2"
SMALL = 4  # images of the run that measures each way's fixed costs
STANDING = "Dask standing cluster, 2 workers (--scheduler)"
MAX_FILE = 3 << 20


def table(header: list[str], rows: list[list[str]]) -> str:
    aligns = ["---"] + ["---:"] * (len(header) - 1)
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|",
                      *("| " + " | ".join(r) + " |" for r in rows)])


def _elf_files(root: str) -> list[str]:
    out = []
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) <= MAX_FILE:
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def _docker_archive(out: Path, i: int, files: list[str]) -> None:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        dirs = sorted({os.path.dirname(f).lstrip("/") for f in files} | {"etc"})
        for d in dirs:
            parts = d.split("/")
            for k in range(1, len(parts) + 1):
                sub = "/".join(parts[:k])
                if sub not in tf.getnames():
                    ti = tarfile.TarInfo(sub)
                    ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                    tf.addfile(ti)
        for f in files:
            data = Path(f).read_bytes() + hashlib.sha256(f"{i}:{f}".encode()).digest()[: 1 + (i + len(f)) % 64]
            ti = tarfile.TarInfo(f.lstrip("/"))
            ti.size, ti.mode = len(data), 0o755
            tf.addfile(ti, io.BytesIO(data))
        ident = f"fleet image {i}\n".encode()
        ti = tarfile.TarInfo("etc/fleet-id")
        ti.size = len(ident)
        tf.addfile(ti, io.BytesIO(ident))
    blob = layer.getvalue()
    diff_id = hashlib.sha256(blob).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [f"fleet/img{i}:latest"],
                            "Layers": [f"{diff_id}/layer.tar"]}]).encode()
    tmp = out.with_suffix(".part")
    with tarfile.open(tmp, "w") as tf:
        for name, data in ((f"{diff_id}/layer.tar", blob), (config_name, config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    tmp.rename(out)


def build_fleet(n: int) -> list[Path]:
    root = cache_root() / "bench-dask-fleet"
    root.mkdir(parents=True, exist_ok=True)
    libs, bins = _elf_files(LIBS), _elf_files(BINS)
    out = []
    for i in range(n):
        path = root / f"img{i:05d}.tar"
        if not path.exists():
            rng = random.Random(i)
            _docker_archive(path, i, sorted(rng.sample(libs, PER_IMAGE[0]) + rng.sample(bins, PER_IMAGE[1])))
        out.append(path)
    return out


class Sampler(threading.Thread):
    """Peak RSS of a process (the client) and of every process below it or in ``extra`` (workers), every 50 ms."""

    def __init__(self, pid: int, extra: list[int]) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.pid, self.extra = pid, extra
        self.peaks: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        ps = self.psutil
        while not self.stop.is_set():
            try:
                top = ps.Process(self.pid)
                procs = [top, *top.children(recursive=True)]
                for pid in self.extra:
                    p = ps.Process(pid)
                    procs += [p, *p.children(recursive=True)]
            except ps.Error:
                procs = []
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except ps.Error:
                    continue
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
            time.sleep(0.05)

    def client_mib(self) -> float:
        return self.peaks.get(self.pid, 0) / 2**20

    def worker_mib(self, worker_pids: set[int] | None = None) -> float:
        vals = [v for pid, v in self.peaks.items() if pid != self.pid and (worker_pids is None or pid in worker_pids)]
        return max(vals, default=0) / 2**20


def cpu_seconds(pids: list[int]) -> float:
    """User + system seconds used so far by these processes (not their children)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def run(cmd: list[str], out: Path, extra: list[int], worker_pids: set[int] | None = None,
        scheduler_pid: int | None = None) -> dict[str, float]:
    """Wall, CPU seconds (the command and every child it reaped, plus the ``extra`` processes' own), peak RSS."""
    load = os.getloadavg()[0]
    before = cpu_seconds(extra)
    sched_before = cpu_seconds([scheduler_pid]) if scheduler_pid else 0.0
    t0 = time.perf_counter()
    with open(out, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL)
        sampler = Sampler(proc.pid, extra)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    cmd_cpu = usage.ru_utime + usage.ru_stime
    cpu = cmd_cpu + cpu_seconds(extra) - before
    sched = cpu_seconds([scheduler_pid]) - sched_before if scheduler_pid else 0.0
    return {"wall": wall, "rc": proc.returncode, "client": sampler.client_mib(),
            "worker": sampler.worker_mib(worker_pids), "load": load, "t0": t0, "cpu": cpu, "sched": sched,
            "cmd_cpu": cmd_cpu}


class StandingCluster:
    def __init__(self, tmp: Path) -> None:
        import distributed

        self.procs = []
        sched_file = tmp / "scheduler.json"
        dask = [sys.executable, "-m", "dask"]
        self.procs.append(subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                            "--no-dashboard", "--scheduler-file", str(sched_file)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        while not sched_file.exists():
            time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            self.procs.append(subprocess.Popen([*dask, "worker", self.address, "--host", "127.0.0.1", "--nworkers",
                                                "1", "--nthreads", "1", "--no-dashboard"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.client = distributed.Client(self.address, set_as_default=False)
        self.client.wait_for_workers(2, timeout=120)
        self.client.get_task_stream()  # installs the task-stream plugin on the scheduler
        self.worker_pids = set(self.client.run(os.getpid).values())

    def compute_times(self, since: float) -> list[float]:
        """Compute seconds of every task that started after ``since`` (epoch seconds)."""
        out = []
        for rec in self.client.get_task_stream(start=since):
            for ss in rec.get("startstops", []):
                if ss["action"] == "compute" and ss["start"] >= since:
                    out.append(ss["stop"] - ss["start"])
        return out

    def close(self) -> None:
        self.client.close()
        for p in reversed(self.procs):
            p.kill()
            p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dask.md")
    args = ap.parse_args()

    t = time.perf_counter()
    fleet = build_fleet(args.images)
    built = time.perf_counter() - t
    size = sum(p.stat().st_size for p in fleet)
    depfree = depfree_argv()
    with tempfile.TemporaryDirectory(prefix="depfree-bench-dask-") as tmpdir:
        tmp = Path(tmpdir)
        listing = tmp / "fleet.txt"
        listing.write_text("".join(f"{p}\n" for p in fleet))
        base = [*depfree, "scan", "--format", "jsonl", "--from", str(listing)]
        cluster = StandingCluster(tmp)
        kinds = {
            LOCAL: [*base, "-j", "2"],
            "Dask LocalCluster, -j 2 (started by the command)": [*base, "--executor", "dask", "-j", "2"],
            STANDING: [*base, "--executor", "dask", "--scheduler",
                                                               cluster.address],
        }
        results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        fixed: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        outputs: dict[str, Path] = {}
        computes: list[list[float]] = []
        try:
            for p in fleet:  # warm-up: the page cache, then the imports of the standing cluster's workers
                p.read_bytes()
            warm = tmp / "warm.txt"
            warm.write_text("".join(f"{p}\n" for p in fleet[:4]))
            run([*depfree, "scan", "--format", "jsonl", "--from", str(warm), "--executor", "dask", "--scheduler",
                 cluster.address], tmp / "warm.jsonl", [])
            small = tmp / "small.txt"
            small.write_text("".join(f"{p}\n" for p in fleet[-SMALL:]))
            for r in range(args.runs):
                for name, cmd in kinds.items():  # the fixed costs: the same command on 4 images
                    standing = name.startswith("Dask standing")
                    extra = [cluster.procs[0].pid, *cluster.worker_pids] if standing else []
                    small_cmd = [str(small) if a == str(listing) else a for a in cmd]
                    fixed[name].append(run(small_cmd, tmp / "small.jsonl", extra, None,
                                           cluster.procs[0].pid if standing else None))
                for name, cmd in kinds.items():
                    out = tmp / f"{abs(hash(name))}-{r}.jsonl"
                    standing = name.startswith("Dask standing")
                    since = time.time()
                    extra = [cluster.procs[0].pid, *cluster.worker_pids] if standing else []
                    res = run(cmd, out, extra, cluster.worker_pids if standing else None,
                              cluster.procs[0].pid if standing else None)
                    if standing:
                        time.sleep(1)
                        computes.append(cluster.compute_times(since))
                    results[name].append(res)
                    outputs[name] = out
                    print(f"run {r + 1} {name}: {res['wall']:.2f} s (load {res['load']:.1f})", flush=True)
        finally:
            cluster.close()
        texts = {name: p.read_text() for name, p in outputs.items()}
        identical = len(set(texts.values())) == 1
        summary = json.loads(next(iter(texts.values())).splitlines()[-1])

    n = args.images
    local_wall = statistics.median(r["wall"] for r in results[LOCAL])
    local_cpu = statistics.median(r["cpu"] for r in results[LOCAL])

    def med(rs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rs)

    def marginal(name: str, key: str) -> float:
        """Per image beyond the fixed costs: (full run - 4-image run) / (N - 4)."""
        return (med(results[name], key) - med(fixed[name], key)) / (n - SMALL)

    local_marginal = marginal(LOCAL, "cpu")
    rows = []
    for name, rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        rows.append([name, f"{wall:.2f} s", f"{n / wall:.1f}", f"{(wall / local_wall - 1) * 100:+.1f} %",
                     f"{cpu:.1f} s", f"{(cpu / local_cpu - 1) * 100:+.1f} %",
                     f"{med(fixed[name], 'wall'):.2f} s / {med(fixed[name], 'cpu'):.2f} s",
                     f"{marginal(name, 'cpu') * 1000:.1f} ms",
                     f"{max(r['client'] for r in rs):.0f} MiB", f"{max(r['worker'] for r in rs):.0f} MiB",
                     " / ".join(f"{r['wall']:.2f}" for r in rs), " / ".join(f"{r['load']:.1f}" for r in rs)])
    standing = results[STANDING]
    standing_walls = [r["wall"] for r in standing]
    per_run = []
    for wall, comp in zip(standing_walls, computes, strict=True):
        tasks = len(comp)
        per_run.append(((wall * 2 - sum(comp)) / max(tasks, 1), sum(comp) / max(tasks, 1), tasks))
    overhead = statistics.median(o for o, _, _ in per_run)
    compute = statistics.median(c for _, c, _ in per_run)
    tasks = per_run[0][2]
    standing_wall = statistics.median(standing_walls)
    standing_cpu = statistics.median(r["cpu"] for r in standing)
    for rs in (standing, fixed[STANDING]):
        for r in rs:
            r["workers_cpu"] = r["cpu"] - r["cmd_cpu"] - r["sched"]
    sched_cpu = marginal(STANDING, "sched")  # scheduler CPU per task
    client_cpu = marginal(STANDING, "cmd_cpu")  # the client's CPU per image
    worker_cpu = marginal(STANDING, "workers_cpu")
    standing_marginal = marginal(STANDING, "cpu")

    def projection(workers: int) -> list[str]:
        spread = 10_000 * worker_cpu / workers
        serial = 10_000 * max(client_cpu, sched_cpu)
        return [str(workers), f"{spread / 60:.1f} min", f"{10_000 * client_cpu / 60:.1f} min",
                f"{10_000 * sched_cpu:.0f} s", f"**{max(spread, serial) / 60:.1f} min**"]

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    loads = [r["load"] for rs in results.values() for r in rs]
    lines = [
        "# depfree scan on Dask vs the local pool",
        "",
        f"Measured {now} by `python bench/bench_dask.py --images {n} --runs {args.runs}` on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}). The three ways ran interleaved in each run "
        "(local, LocalCluster, standing cluster, then again), after a warm-up (the fleet read once into the page "
        "cache, 4 images scanned on the standing cluster); medians. **Load**: the machine was shared with other "
        f"engineers' test runs: the 1-minute load average at the start of the runs was {min(loads):.1f}-"
        f"{max(loads):.1f} on 2 cores ({max(loads) / (os.cpu_count() or 1):.1f} runnable processes per core at "
        "the most), so the wall times include waiting for the CPU and vary from run to run; CPU seconds (user + system of every process involved) are much less "
        "sensitive to the contention and are the basis of the overhead and the projection.",
        "",
        f"Fleet: {n} docker-archive tarballs, {size / 2**30:.2f} GiB, built here in {built:.0f} s (cached): each one "
        f"uncompressed layer of {PER_IMAGE[0]} shared libraries from {LIBS} and {PER_IMAGE[1]} programs from "
        f"{BINS} (files ≤ 3 MiB, a seeded random choice per image), each with a trailer unique to the image, plus "
        f"/etc/fleet-id. Scan result: {summary['containers']} containers, {summary['binaries']:,} binaries, "
        f"{summary['errors']} errors. Outputs (`--format jsonl`) of every way and run byte-identical: "
        f"**{'yes' if identical else 'NO'}**.",
        "",
        table(["executor", "wall (median)", "images/s", "wall vs local", "CPU (median)", "CPU vs local",
               f"fixed: {SMALL}-image run wall / CPU", "CPU per image beyond that", "client peak RSS", "largest worker peak RSS", "walls per run (s)", "load at start"], rows),
        "",
        "CPU: local pool = the command and its forked workers; LocalCluster = the command, its scheduler (a thread "
        "of the command) and its worker processes; standing cluster = the command, the scheduler and the two "
        "worker processes (psutil, before and after).",
        "",
        "### Scheduler overhead per task (standing cluster)",
        "",
        f"* {tasks} tasks per run, one per image (no image has 64 executables, so none is split into batches).",
        f"* CPU per image beyond the fixed costs (full run − {SMALL}-image run, ÷ {n - SMALL}): "
        f"{standing_marginal * 1000:.1f} ms on the standing cluster vs {local_marginal * 1000:.1f} ms on the local "
        f"pool: **{(standing_marginal / local_marginal - 1) * 100:+.1f} %** (target ≤ +5 %), that is "
        f"{(standing_marginal - local_marginal) * 1000:.1f} ms of overhead per task. Of the cluster's: workers "
        f"{worker_cpu * 1000:.1f} ms, the scheduler {sched_cpu * 1000:.2f} ms, the client {client_cpu * 1000:.1f} ms "
        "(taking in the facts of 20 binaries, writing a JSON line).",
        f"* All in, fixed costs included: {standing_cpu / n * 1000:.1f} ms per image vs {local_cpu / n * 1000:.1f} "
        f"ms ({(standing_cpu / local_cpu - 1) * 100:+.1f} %); the fixed costs of a command are the client's start-up "
        "and import of distributed and, for a LocalCluster, starting its workers (the fixed column).",
        f"* Time (the scheduler's task stream): mean compute {compute * 1000:.1f} ms per task; "
        f"(wall × 2 worker threads − Σ compute) / tasks = {overhead * 1000:.1f} ms per task not computing "
        f"({overhead / (compute + overhead) * 100:.1f} % of the workers' time), wall "
        f"{(standing_wall / local_wall - 1) * 100:+.1f} % vs the local pool. Under this load these wall-based "
        "figures mostly measure the other engineers' processes; the CPU figures above are the ones to compare.",
        "",
        "## Projection: 10,000 images",
        "",
        "wall ≈ max(10,000 × worker CPU per image ÷ workers, 10,000 × client CPU per image, 10,000 × scheduler CPU "
        "per task), cluster start-up aside:",
        "",
        table(["workers (1 core each)", "spread over the workers", "client floor (serial)",
               "scheduler floor (serial)", "projected wall"], [projection(10), projection(100)]),
        "",
        "Assumptions: images like these (20 executables, ~11 MiB; time grows with executables and bytes, not with "
        "the image count); each worker has a core of this machine's speed to itself (CPU time = wall time for this "
        "CPU-bound work, no contention as here); the inputs are on a shared filesystem that keeps up (10,000 × "
        "~11 MiB ≈ 105 GiB: at 100 workers and the projected wall, about 1 GiB/s — past that the filesystem is the "
        "limit, not Dask); the client and the scheduler each on a core of their own (they are serial: the client "
        "takes every image's facts in and writes its line, the scheduler handles every task — at 100 workers the "
        "client is the floor); results are small (~75 KiB pickled per image) so the network is not the limit; "
        "cluster start-up (a few seconds; the LocalCluster row includes starting two workers) not included.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
