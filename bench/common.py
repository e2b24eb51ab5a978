"""Benchmark helpers: run a command N times, keep the median wall time and the peak RSS, print tables with ratios.

Wall time is measured around fork+exec+wait (``time.perf_counter``). Peak RSS is the command's ``ru_maxrss``
(KiB on Linux) as reported by GNU time (``/usr/bin/time -f %M``, Debian package ``time``): a child forked straight from
this Python process inherits the parent's RSS high-water mark across exec (Linux keeps ``signal->maxrss`` through
exec), so ``os.wait4`` here would report at least this process's size; the small ``time`` process keeps that floor at
about 1 MiB. Without GNU time, ``os.wait4``'s figure is used and marked as an upper bound. Output goes to /dev/null
so terminal speed does not count.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    name: str
    command: str
    walls: list[float] = field(default_factory=list)  # seconds
    rss_kib: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # user + system seconds, waited-for children included
    exit_codes: set[int] = field(default_factory=set)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def best(self) -> float:
        return min(self.walls) if self.walls else float("nan")

    @property
    def cpu(self) -> float:
        """Median CPU seconds (user + system of the command and the children it waited for)."""
        return statistics.median(self.cpus) if self.cpus else float("nan")

    @property
    def peak_rss_mib(self) -> float | None:
        return max(self.rss_kib) / 1024 if self.rss_kib else None


def depfree_argv() -> list[str]:
    """The installed ``depfree`` script, else ``python -m depfree``."""
    exe = shutil.which("depfree")
    return [exe] if exe else [sys.executable, "-m", "depfree"]


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints for its version, or "not installed"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def run_command(name: str, argv: Sequence[str], runs: int = 5, *, warmup: int = 1,
                env: Mapping[str, str] | None = None) -> Result:
    """Run ``argv`` ``warmup`` + ``runs`` times; record wall time and peak RSS of the measured runs."""
    res = Result(name=name, command=" ".join(argv if len(argv) < 8 else [*argv[:6], f"… ({len(argv) - 6} more)"]))
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        res.note = f"{argv[0]} not installed"
        return res
    gnu_time = GNU_TIME if os.access(GNU_TIME, os.X_OK) else None
    if not gnu_time:
        res.note = "RSS upper bound: includes the benchmark process (no /usr/bin/time)"
    with tempfile.NamedTemporaryFile(prefix="bench-rss-") as rss_file:
        cmd = [gnu_time, "-f", "%U %S %M", "-o", rss_file.name, *argv] if gnu_time else list(argv)
        for i in range(warmup + runs):
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=bench_env(env))
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            if i < warmup:
                continue
            res.walls.append(wall)
            res.exit_codes.add(os.waitstatus_to_exitcode(status))
            if gnu_time:
                cpu, rss = _gnu_time_usage(rss_file.name)
            else:
                cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
            res.rss_kib.append(rss)
            res.cpus.append(cpu)
    return res


GNU_TIME = "/usr/bin/time"


def bench_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured command: as given (or this one) without ``PYTHONDONTWRITEBYTECODE``, so that
    Python runs from bytecode as an installed depfree does (the warm-up run writes it) instead of compiling every
    module on every run (~50 ms)."""
    out = dict(env if env is not None else os.environ)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def _gnu_time_usage(path: str) -> tuple[float, int]:
    """(user + system seconds, peak RSS KiB) from the last line GNU time wrote (earlier lines say "Command exited
    with non-zero status N"). GNU time reports the command's own usage plus that of the children it waited for
    (a scan's pool workers)."""
    with open(path) as fh:
        lines = [ln.split() for ln in fh if ln.strip()]
    try:
        user, system, rss = lines[-1]
        return float(user) + float(system), int(rss)
    except (IndexError, ValueError):
        return float("nan"), 0


def run_callable(name: str, fn: Callable[[], object], runs: int = 5, *, warmup: int = 1, note: str = "") -> Result:
    """Time a Python callable in this process (no interpreter start-up; no RSS figure)."""
    res = Result(name=name, command="(in-process)", note=note)
    for i in range(warmup + runs):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        wall = time.perf_counter() - start
        if i >= warmup:
            res.walls.append(wall)
            res.cpus.append(time.process_time() - cpu)
    return res


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def markdown_table(results: Sequence[Result], baseline: str) -> str:
    """A markdown table; the ratio column is the baseline's median divided by each tool's median (how many times as
    long the baseline takes)."""
    base = next((r for r in results if r.name == baseline), None)
    lines = [f"| tool | command | median ms | best ms | CPU ms | peak RSS MiB | {baseline} ÷ tool | exit |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        if not r.walls:
            lines.append(f"| {r.name} | `{r.command}` | — | — | — | — | — | {r.note} |")
            continue
        cpu = _ms(r.cpu) if r.cpus else "—"
        ratio = f"{base.median / r.median:.2f}×" if base and base.walls else "—"
        rss = f"{r.peak_rss_mib:.1f}" if r.peak_rss_mib is not None else "—"
        codes = ",".join(str(c) for c in sorted(r.exit_codes)) or "—"
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {r.name} | `{r.command}` | {_ms(r.median)} | {_ms(r.best)} | {cpu} | {rss} | {ratio} | "
                     f"{codes}{note} |")
    return "\n".join(lines)
