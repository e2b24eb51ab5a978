"""Run each fuzz input in its own forked child, with a time limit and a memory limit, and judge the outcome.

The parent imports depfree once (a zygote); each input is written to a temp file and a child forked to read it:
``inspect --deep`` (facts, hardening, targets, Go packages), the JSON and text renderings and ``size`` for a binary;
``scan`` for an archive or image. The child reports through a pipe; the parent waits with ``os.wait4`` (which gives
the child's peak RSS) and kills it at the deadline.

Outcomes:

* ``ok`` / ``error`` — read, or refused with a :class:`~depfree.errors.DepfreeError`: the promise kept;
* ``crash`` — any other exception (or an "internal error" a scan reported instead of raising);
* ``hang`` — the child still running at the deadline (killed);
* ``blowup`` — peak RSS above 2 x the input size + 200 MiB (an address-space cap well above that stops a runaway
  child before it hurts the machine; hitting it is a blow-up too). The peak is the child's VmHWM (reset at the fork through
  /proc/self/clear_refs) above the VmRSS it forked with, plus the peak of a fresh interpreter that has imported depfree (``fresh_baseline``): what a depfree
  process started for that input would reach, whatever size the zygote (a long-lived pytest worker) has grown to.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass

MiB = 1 << 20
RSS_SLACK = 200 * MiB


def rss_limit(size: int) -> int:
    return 2 * size + RSS_SLACK


@dataclass
class Outcome:
    status: str  # ok | error | crash | hang | blowup
    detail: str
    rss: int  # peak RSS of the child, bytes
    seconds: float
    size: int

    @property
    def finding(self) -> bool:
        return self.status in ("crash", "hang", "blowup")

    @property
    def rss_ratio(self) -> float:
        return self.rss / rss_limit(self.size)


def prewarm() -> None:
    """Import everything a child needs before forking, so children start in a millisecond and share the pages."""
    import depfree.analysis.pipeline  # noqa: F401
    import depfree.analysis.size  # noqa: F401
    import depfree.formats.elf  # noqa: F401
    import depfree.formats.macho  # noqa: F401
    import depfree.formats.pe  # noqa: F401
    import depfree.render.json  # noqa: F401
    import depfree.render.text  # noqa: F401
    import depfree.scan  # noqa: F401
    import depfree.sources.image  # noqa: F401
    from depfree.datafiles import load

    for name in ("glibc.toml", "hardening.toml", "packers.toml", "stdlib_needs.toml", "go_versions.toml",
                 "targets.toml", "windows.toml", "macos.toml"):
        load(name)


def _binary(path: str) -> str:
    import io

    from rich.console import Console

    from depfree.analysis.context import Options
    from depfree.api import inspect_path, size_path, tool_info
    from depfree.model import Report
    from depfree.render import json as render_json
    from depfree.render.text import print_report

    report = Report(tool=tool_info())
    report.binaries = inspect_path(path, Options(deep=True))
    render_json.dumps(report.to_json())
    print_report(report, console=Console(file=io.StringIO(), width=120))
    size_path(path)
    return f"{len(report.binaries)} binaries"


def _archive(path: str) -> str:
    from depfree.render import json as render_json
    from depfree.scan import scan

    report = scan(path, jobs=1)
    render_json.dumps(report.to_json())
    internal = [e for e in report.errors if "internal error" in e.error]
    if internal:
        raise RuntimeError(f"scan reported {internal[0].path}: {internal[0].error}")
    return f"{len(report.binaries)} binaries, {len(report.errors)} errors"


def _child(path: str, mode: str, wfd: int, as_cap: int) -> None:
    from depfree.errors import DepfreeError

    status, detail = "ok", ""
    try:  # the peak inherited from the zygote is not this input's: reset VmHWM to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    start_rss = _status_kib("VmRSS")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (as_cap, as_cap))
        detail = (_archive if mode == "scan" else _binary)(path)
    except DepfreeError as exc:
        status, detail = "error", str(exc)
    except BaseException as exc:  # noqa: BLE001 - the point: anything else is a finding
        status = "blowup" if isinstance(exc, MemoryError) else "crash"
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename.rsplit('/src/', 1)[-1]}:{tb[-1].lineno} {tb[-1].name}" if tb else "?"
        detail = f"{type(exc).__name__}: {str(exc)[:300]} at {where}"
    try:
        grew = max(0, _status_kib("VmHWM") - start_rss) * 1024  # the peak above what the fork started with
        os.write(wfd, json.dumps({"status": status, "detail": detail[:2000], "grew": grew}).encode())
    finally:
        os._exit(0)


def _vsize() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _status_kib(field: str) -> int:
    """A ``kB`` line of /proc/self/status (VmRSS: resident now; VmHWM: the peak so far)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


_FRESH: list[int] = []


def fresh_baseline() -> int:
    """Peak RSS of a fresh interpreter that has imported what a child uses (``prewarm``): what a depfree process
    holds before it reads anything. A forked child starts with the zygote's resident pages counted in its peak; the
    zygote may be a long-lived test process far larger than depfree, so the child is judged by what it added to
    the zygote, plus this baseline (as if depfree had been started afresh for the input)."""
    if not _FRESH:
        import subprocess
        import sys

        tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        # VmHWM, not getrusage's ru_maxrss: that one keeps the peak of the forked parent from before the exec
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from fuzz.harness import prewarm, _status_kib; "
                "prewarm(); print(_status_kib('VmHWM') * 1024)")
        out = subprocess.run([sys.executable, "-c", code, tests], capture_output=True, text=True, check=True)
        _FRESH.append(int(out.stdout.strip()))
    return _FRESH[0]


def run_input(data: bytes, mode: str, timeout: float, workdir: str, suffix: str = "") -> Outcome:
    """Write ``data`` to a file and run it in a child (``mode``: ``inspect`` or ``scan``)."""
    fd, path = tempfile.mkstemp(dir=workdir, suffix=suffix)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        return run_path(path, mode, timeout, len(data))
    finally:
        os.unlink(path)


def run_path(path: str, mode: str, timeout: float, size: int) -> Outcome:
    rfd, wfd = os.pipe()
    # The address space holds the interpreter and its libraries, the mapped input and the heap: capped at four
    # times the RSS budget above what the zygote already has, far above the limit judged below.
    as_cap = _vsize() + 4 * rss_limit(size) + size
    baseline = fresh_baseline()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(rfd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _child(path, mode, wfd, as_cap)
    os.close(wfd)
    chunks: list[bytes] = []
    deadline = start + timeout
    status = None
    rusage = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                _, _, rusage = os.wait4(pid, 0)
                status = "hang"
                break
            ready, _, _ = select.select([rfd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(rfd, 1 << 16)
                if chunk:
                    chunks.append(chunk)
                    continue
                _, _, rusage = os.wait4(pid, 0)  # EOF: the child has exited (or is exiting)
                break
    finally:
        os.close(rfd)
    seconds = time.monotonic() - start
    rss = rusage.ru_maxrss * 1024 if rusage else 0  # includes the zygote's pages: used when the child said nothing
    if status == "hang":
        return Outcome("hang", f"still running after {timeout:.0f} s", rss, seconds, size)
    try:
        msg = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        msg = {}
    if not msg:
        return Outcome("crash", "the child died without a word (a signal?)", rss, seconds, size)
    # judged as a fresh depfree process would peak: what this input added to the zygote's pages, plus a fresh start
    out = Outcome(msg["status"], msg["detail"], int(msg.get("grew", rss)) + baseline, seconds, size)
    if out.status in ("ok", "error") and out.rss > rss_limit(size):
        out.status = "blowup"
        out.detail = f"peak RSS {out.rss / MiB:.0f} MiB > 2 x {size / MiB:.1f} MiB + 200 MiB ({out.detail})"
    return out
