"""The sandbox's process layer: the shell script the namespace's first process runs (mounts, then exec), the
``unshare`` process tree started and waited for on a pidfd, its output captured up to a limit, the whole tree
killed at the timeout or on Ctrl-C. ``runner`` prepares the root and judges the outcome."""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from depfree.sandbox.roots import DEVICES

TARGET_DIR = "/.depfree"  # the program is put at /.depfree/<its own basename>: multi-call binaries read argv[0]
SETUP_FAILED = "depfree-sandbox: setup failed: "


def target_path(path: str) -> str:
    """Where the program is inside the root: its own basename under TARGET_DIR, so argv[0] keeps its name."""
    return f"{TARGET_DIR}/{os.path.basename(path)}"


@dataclass
class Outcome:
    """What the sandboxed process tree did: exit status (or a timeout), wall time, the captured output."""

    rc: int
    timed_out: bool
    duration: float
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int


class Capture(threading.Thread):
    """Reads a pipe to its end, keeping the first ``limit`` bytes and counting the rest (so the program never blocks
    on a full pipe and nothing unbounded is stored)."""

    def __init__(self, fd: int, limit: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit = fd, limit
        self.data = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                if len(self.data) < self.limit:
                    self.data += chunk[: self.limit - len(self.data)]
        except OSError:
            pass
        finally:
            os.close(self.fd)


def must(step: str, command: str) -> str:
    """A setup step the sandbox cannot do without: on failure the script stops before running anything."""
    return f"{{ {command}; }} || {{ echo {shlex.quote(SETUP_FAILED + step)} >&2; exit 125; }}"


def shell(root: Path, binds: list[tuple[str, str]], binary: str, copied: bool, cmd: list[str]) -> str:
    """The script the namespace's first process runs: loopback up, the root read-only, a private /tmp and /proc,
    the binary and the user's rootfs bound read-only, then exec (strace) env -i chroot. A failed read-only or
    private mount stops it: nothing runs in a root that is not sealed."""
    r = shlex.quote(str(root))
    script = ["ip link set lo up 2>/dev/null || true",
              must("read-only root", f"mount --bind -o ro {r} {r}"),
              must("private /tmp", f"mount -t tmpfs -o size=64m,nosuid,nodev tmpfs {r}/tmp")]
    for host, inside in binds:
        dst = shlex.quote(str(root) + inside)
        script.append(must(f"bind {host} read-only", f"mount --bind -o ro {shlex.quote(host)} {dst}"))
    for dev in DEVICES:  # what a container runtime puts into /dev, bound from the host's
        dst = shlex.quote(str(root / "dev" / dev))
        script.append(f"mount --bind /dev/{dev} {dst} 2>/dev/null || true")
    if not copied:
        dst = shlex.quote(str(root) + target_path(binary))
        script.append(must("bind the binary read-only", f"mount --bind -o ro {shlex.quote(os.path.abspath(binary))} "
                                                         f"{dst}"))
    script.append(f"mount -t proc proc {shlex.quote(str(root / 'proc'))} 2>/dev/null || true")
    script.append("exec " + " ".join(shlex.quote(c) for c in cmd))
    return "\n".join(script)


def wait(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The exit status, or None at the timeout. A pidfd (Linux 5.3) becomes readable the moment the process ends,
    so the wait ends with it; ``Popen.wait(timeout)`` polls in steps of up to 50 ms, half of a short run."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # an older kernel or Python: the polling wait
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return proc.wait() if ready else None


def execute(script: str, timeout: float, max_output: int) -> Outcome:
    """Run the namespace's shell script with its output captured; at the timeout (or Ctrl-C) kill its whole tree."""
    t0 = time.monotonic()
    proc = subprocess.Popen(["unshare", "-r", "-m", "-p", "-n", "-f", "--kill-child", "sh", "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert proc.stdout is not None and proc.stderr is not None
    readers = [Capture(os.dup(proc.stdout.fileno()), max_output), Capture(os.dup(proc.stderr.fileno()), max_output)]
    proc.stdout.close()
    proc.stderr.close()
    for t in readers:
        t.start()
    try:
        rc = wait(proc, timeout)
        timed_out = rc is None
        if rc is None:
            # unshare and the namespace's init (strace, or the program) share this process group; when the init
            # dies the kernel kills everything else in the PID namespace, setsid() or not.
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
    except BaseException:  # Ctrl-C (KeyboardInterrupt): leave nothing running behind
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    for t in readers:
        t.join(timeout=5)
    duration = time.monotonic() - t0
    out, err = readers
    return Outcome(rc=rc, timed_out=timed_out, duration=duration, stdout=bytes(out.data).decode("utf-8", "replace"),
                    stderr=bytes(err.data).decode("utf-8", "replace"), stdout_bytes=out.total, stderr_bytes=err.total)
