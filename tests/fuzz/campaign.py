"""A fuzz campaign: ``budget`` mutants of the seeds, run ``jobs`` at a time, each in its own limited child.

Mutant ``i`` picks its seed (weighted towards small seeds, which run fast: a campaign is a number of inputs), its
strategy and its mutation from ``random.Random(f"{seed}:{i}")`` alone, so a finding is reproduced from its index.
Lanes are forked from this process after the seeds are loaded and depfree is imported; lane ``k`` runs the indexes
``k, k + jobs, ...`` and appends one JSON line per input to ``workdir/lane-k.jsonl``; a finding's bytes are kept as
``workdir/findings/<index>-<status><suffix>``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzz.engine import mutate, rng_for
from fuzz.harness import prewarm, run_input
from fuzz.seeds import Seed


@dataclass
class Summary:
    inputs: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_strategy: Counter[str] = field(default_factory=Counter)
    by_seed: Counter[str] = field(default_factory=Counter)
    findings: list[dict[str, object]] = field(default_factory=list)
    max_rss_ratio: float = 0.0
    max_rss_input: dict[str, object] = field(default_factory=dict)
    max_seconds: float = 0.0
    wall: float = 0.0

    def add(self, rec: dict[str, object]) -> None:
        self.inputs += 1
        self.by_status[str(rec["status"])] += 1
        self.by_strategy[str(rec["strategy"])] += 1
        self.by_seed[str(rec["seed"])] += 1
        ratio = float(rec["rss"]) / (2 * float(rec["size"]) + (200 << 20))  # type: ignore[arg-type]
        if ratio > self.max_rss_ratio:
            self.max_rss_ratio, self.max_rss_input = ratio, rec
        self.max_seconds = max(self.max_seconds, float(rec["seconds"]))  # type: ignore[arg-type]
        if rec["status"] in ("crash", "hang", "blowup"):
            self.findings.append(rec)


def pick(seeds: list[Seed], i: int, seed: int) -> tuple[Seed, object]:
    rng = rng_for(seed, i)
    weights = [1.0 / max(1.0, (len(s.data) / 65536) ** 0.5) for s in seeds]
    return rng.choices(seeds, weights)[0], rng


def make_mutant(seeds: list[Seed], i: int, seed: int) -> tuple[Seed, str, str, bytes]:
    s, rng = pick(seeds, i, seed)
    others = [o.data for o in seeds if o.mode == s.mode and o is not s]
    strategy, detail, data = mutate(s.data, rng, others)  # type: ignore[arg-type]
    return s, strategy, detail, data


def _lane(k: int, jobs: int, seeds: list[Seed], budget: int, seed: int, timeout: float, workdir: Path) -> None:
    findings = workdir / "findings"
    with open(workdir / f"lane-{k}.jsonl", "a", buffering=1) as log:
        for i in range(k, budget, jobs):
            s, strategy, detail, data = make_mutant(seeds, i, seed)
            out = run_input(data, s.mode, timeout, str(workdir), s.suffix)
            rec = {"index": i, "seed": s.name, "mode": s.mode, "strategy": strategy, "detail": detail[:200],
                   "status": out.status, "outcome": out.detail[:500], "rss": out.rss, "size": out.size,
                   "seconds": round(out.seconds, 3)}
            if out.finding:
                findings.mkdir(exist_ok=True)
                (findings / f"{i}-{out.status}{s.suffix}").write_bytes(data)
            log.write(json.dumps(rec) + "\n")


def run(seeds: list[Seed], budget: int, seed: int = 0, jobs: int = 2, timeout: float = 60.0,
        workdir: Path | None = None, progress: Callable[[Summary], None] | None = None) -> Summary:
    import tempfile

    workdir = Path(workdir or tempfile.mkdtemp(prefix="depfree-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("lane-*.jsonl"):
        old.unlink()
    prewarm()
    start = time.monotonic()
    pids = []
    for k in range(jobs):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - a lane
            code = 0
            _die_with_parent()
            try:
                _lane(k, jobs, seeds, budget, seed, timeout, workdir)
            except BaseException:  # noqa: BLE001
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        pids.append(pid)
    try:
        while pids:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid:
                pids.remove(pid)
                continue
            if progress:
                progress(collect(workdir, time.monotonic() - start))
            time.sleep(2 if progress else 0.2)
    except BaseException:
        for pid in pids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        raise
    return collect(workdir, time.monotonic() - start)


def _die_with_parent() -> None:
    """A lane ends when the campaign process does, however it ends (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def collect(workdir: Path, wall: float) -> Summary:
    summary = Summary(wall=wall)
    for lane in sorted(workdir.glob("lane-*.jsonl")):
        with open(lane) as fh:
            for line in fh:
                if line.endswith("\n"):
                    summary.add(json.loads(line))
    return summary
