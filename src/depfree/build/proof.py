"""Run a built variant in the sandbox roots (traced, once each) and time it (untraced, N times) with its peak RSS.

The traced runs (empty, CA-only, musl, glibc roots; in parallel, each in its own namespaces) say whether the binary
started there and what it reached for. The timed runs go one after another in the smallest root where it started,
without strace, inside one sandbox set-up (:func:`depfree.sandbox.runner.time_runs`): the namespaces and mounts are
made once, then each run gets a fresh /tmp and a mount and PID namespace of its own (the program its PID 1), and is
timed by ``date`` in nanoseconds around it, so a run's time is the program's start-up in a sandbox already there
(a fresh namespace, chroot, the program), not the sandbox's set-up. Its peak RSS comes from GNU ``time -f %M``
started by the sandbox's shell (a process started from Python would inherit Python's resident-set high-water mark
through fork and exec, so no ``getrusage`` here could see a 4 MB program): the largest among the program and the
``timeout``/``unshare`` helpers around it (about 2 MB). Without GNU time the peak is reported as unknown, never
guessed; without coreutils' ``date`` and ``timeout`` the runs are separate sandboxes timed by the runner
(``clock: runner``).
"""

from __future__ import annotations

import posixpath
import statistics
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.sandbox.runner import Run, Sandbox, time_runs, verify

ROOTS = ("scratch", "scratch+certs", "musl", "glibc")
LOADER_PROBE_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/etc/ld.so")  # the loader's search


@dataclass
class RootRun:
    root: str
    started: bool
    passed: bool  # started, no signal, and exited 0 (or was still running at the timeout)
    failure: str
    exit_code: int | None
    signal: str | None
    timed_out: bool
    missing: list[str] = field(default_factory=list)
    accessed: int = 0
    stdout: str = ""
    stderr: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Timing:
    root: str
    runs: int
    median: float  # seconds
    min: float
    max: float
    stdev: float
    peak_rss_kb: int | None
    clock: str = "sandbox"  # whose clock timed the runs: ``date`` inside the sandbox around each, or the runner's

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _missing(run: Run) -> list[str]:
    """What the program looked for and did not find, without the loader's library search probes."""
    interpreter = run.details.get("interpreter")
    return [m for m in dict.fromkeys(map(posixpath.normpath, run.missing))
            if m == interpreter or not m.startswith(LOADER_PROBE_DIRS)]


def _root_run(run: Run) -> RootRun:
    passed = run.started and run.signal is None and (run.exit_code == 0 or run.timed_out)
    return RootRun(root=run.root, started=run.started, passed=passed, failure=run.failure, exit_code=run.exit_code,
                   signal=run.signal, timed_out=run.timed_out, missing=_missing(run), accessed=len(run.accessed),
                   stdout=run.stdout[-2000:], stderr=run.stderr[-2000:], details=dict(run.details))


def sandbox_runs(path: str, args: tuple[str, ...] = (), roots: tuple[str, ...] = ROOTS,
                 timeout: float = 10.0, sandbox: Sandbox | None = None) -> list[RootRun]:
    """One traced run per root, the roots in parallel (in ``sandbox``'s roots when given)."""
    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        runs = list(pool.map(lambda r: verify(path, r, args=args, timeout=timeout, expect_exit=None,
                                              sandbox=sandbox)[0], roots))
    return [_root_run(r) for r in runs]


def timed_runs(path: str, root: str, n: int, args: tuple[str, ...] = (), timeout: float = 10.0,
               sandbox: Sandbox | None = None) -> Timing:
    """``n`` untraced runs in ``root``, timed apart inside one sandbox set-up (:func:`~depfree.sandbox.runner.
    time_runs`), in ``sandbox``'s roots when given; their median and spread, and the peak RSS of what they ran."""
    got = time_runs(path, root, n, args=args, timeout=timeout, sandbox=sandbox)
    d = got.durations
    return Timing(root=root, runs=len(d), median=round(statistics.median(d), 4), min=round(min(d), 4),
                  max=round(max(d), 4), stdev=round(statistics.stdev(d), 4) if len(d) > 1 else 0.0,
                  peak_rss_kb=got.peak_rss_kb, clock=got.clock)
