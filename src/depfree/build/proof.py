"""Run a built variant in the sandbox roots (traced, once each) and time it (untraced, N times) with its peak RSS.

The traced runs (empty, CA-only, musl, glibc roots; in parallel, each in its own namespaces) say whether the binary
started there and what it reached for. The timed runs go one after another in the smallest root where it started,
without strace, in a forked child process.

The clock and the peak RSS come from a one-line ``unshare`` shim the forked child puts first on its PATH (the sandbox
starts ``unshare`` by name): it notes the nanoseconds around the real ``unshare`` run under GNU ``time -f %M``. The
runner's own wall clock (it waits on a pidfd, so it stops when the process tree ends) also counts starting the
process from Python and collecting its output; and a process started from Python inherits Python's resident-set
high-water mark through fork and exec,
so no ``getrusage`` here could see a 4 MB program, while ``time`` forks ``unshare`` from its own small process. A
run's time is thus the whole sandboxed process tree's — namespaces, mounts, chroot, the program — and its peak RSS
the largest among the program and the sandbox's ``sh``/``mount`` helpers (about 2.5 MB). Without GNU time, or if the
sandbox ever starts ``unshare`` by its full path, the runner's clock is used (``clock: runner``) and the peak is
reported as unknown, never guessed.
"""

from __future__ import annotations

import json
import os
import posixpath
import shlex
import shutil
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from depfree.errors import DepfreeError
from depfree.sandbox.runner import Run, Sandbox, verify

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
    clock: str = "shim"  # whose clock timed the runs: the unshare shim's, or the sandbox runner's

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
    """``n`` untraced runs in ``root`` in a forked child; their times and the peak RSS of what they ran. The child
    builds its roots in ``sandbox``'s directory when given (a fresh :class:`Sandbox` otherwise): the roots the
    parent built are reused, and whatever the child adds goes when the parent's sandbox is closed."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only the sandbox runs, then the numbers down the pipe
        code = 0
        try:
            os.close(rfd)
            with tempfile.TemporaryDirectory(prefix="depfree-rss-") as shim:
                logs = _shim(shim)
                own = sandbox or Sandbox()
                runs = verify(path, (root,) * n, args=args, timeout=timeout, expect_exit=None, trace=False,
                              sandbox=own)
                if own is not sandbox:
                    own.close()
                walls, rss = _read_logs(logs)
                # The shim's clock when it saw every run (the runner's also counts Python's side of each run);
                # else the runner's.
                msg: dict[str, Any] = {"durations": walls if len(walls) == n else [r.duration for r in runs], "rss": rss,
                       "clock": "shim" if len(walls) == n else "runner"}
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as one message
            msg = {"error": f"{type(exc).__name__}: {exc}"}
            code = 1
        try:
            os.write(wfd, json.dumps(msg).encode())
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as fh:
        while chunk := fh.read(65536):
            chunks.append(chunk)
    os.waitpid(pid, 0)
    try:
        msg = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        msg = {}
    if "durations" not in msg:
        raise DepfreeError(f"{path}: timed sandbox runs failed: {msg.get('error', 'no result from the child')}")
    d = msg["durations"]
    return Timing(root=root, runs=len(d), median=round(statistics.median(d), 4), min=round(min(d), 4),
                  max=round(max(d), 4), stdev=round(statistics.stdev(d), 4) if len(d) > 1 else 0.0,
                  peak_rss_kb=msg["rss"], clock=msg["clock"])


def _shim(directory: str) -> tuple[str, str] | None:
    """Put an ``unshare`` shim first on this (forked) process's PATH: it runs the real one under GNU ``time -f %M``
    and notes, for the sandbox's runs (``--kill-child``; not its ``unshare … true`` probe), the nanoseconds from
    before ``time`` starts to after it ends. Returns (the RSS log, the wall-time log)."""
    gnu_time, real = shutil.which("time", path="/usr/bin:/bin"), shutil.which("unshare")
    date = shutil.which("date", path="/usr/bin:/bin")
    if not gnu_time or not real or not date:
        return None
    rss, wall = os.path.join(directory, "rss.log"), os.path.join(directory, "wall.log")
    q = shlex.quote
    script = f"""#!/bin/sh
t0=$({q(date)} +%s%N)
{q(gnu_time)} -f %M -a -o {q(rss)} {q(real)} "$@"
rc=$?
t1=$({q(date)} +%s%N)
case " $* " in *" --kill-child "*) echo $((t1 - t0)) >> {q(wall)} ;; esac
exit $rc
"""
    shim = os.path.join(directory, "unshare")
    with open(shim, "w") as fh:
        fh.write(script)
    os.chmod(shim, 0o755)
    os.environ["PATH"] = directory + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
    return rss, wall


def _numbers(path: str) -> list[int]:
    """The integer lines of a log (GNU time's 'Command exited with non-zero status 1' lines are skipped)."""
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [int(line) for line in fh.read().split("\n") if line.strip().isdigit()]


def _read_logs(logs: tuple[str, str] | None) -> tuple[list[float], int | None]:
    """(wall seconds of each sandbox run, the largest resident set GNU time saw in KiB, None when it saw none)."""
    if logs is None:
        return [], None
    rss = _numbers(logs[0])
    return [ns / 1e9 for ns in _numbers(logs[1])], (max(rss) if rss else None)
