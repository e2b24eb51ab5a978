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
from pathlib import Path

from depfree.dataclass import dataclass
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


TMPFS = "size=64m,nosuid,nodev"  # the private /tmp of every run


def _fstab_field(text: str) -> str:
    """One fstab field: libmount reads a space, tab, newline or backslash in a path as an octal escape."""
    return (text.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
            .replace("\n", "\\012"))


def fstab(entries: list[tuple[str, str, str, str]]) -> str:
    """(source, target, type, options) lines in fstab(5) form, for ``mount -a -T``: one ``mount`` process mounts
    them all, in order (instead of one process per mount)."""
    return "".join(" ".join(map(_fstab_field, e)) + " 0 0\n" for e in entries)


@dataclass
class Repeat:
    """Run the program ``n`` times in one sandbox set-up, each run timed apart: a fresh /tmp (outside the timed
    span), then ``date`` (nanoseconds) around GNU ``time`` (the peak RSS; optional) around ``timeout`` (per run)
    around ``unshare -m -p -f`` (each run its own mount and PID namespace, the program its PID 1, whatever it mounts
    or leaves running gone with it) around the chroot command. One ``nanoseconds exit-status`` line per run goes to
    ``clock``; GNU time appends each peak to ``rss``."""

    n: int
    timeout: float
    clock: Path
    rss: Path
    date: str
    timeout_cmd: str
    unshare: str
    gnu_time: str | None


def _loop(root: Path, cmd: list[str], rep: Repeat) -> list[str]:
    q = shlex.quote
    tmp = q(str(root / "tmp"))
    run = [rep.timeout_cmd, "-s", "KILL", f"{rep.timeout:g}", rep.unshare, "-m", "-p", "-f", "--kill-child", *cmd]
    if rep.gnu_time:
        run = [rep.gnu_time, "-f", "%M", "-a", "-o", str(rep.rss), *run]
    return [f"i=0; while [ $i -lt {rep.n} ]; do",
            "  [ $i -eq 0 ] || " + must("fresh /tmp", f"umount {tmp} && mount -t tmpfs -o {TMPFS} tmpfs {tmp}"),
            f"  t0=$({q(rep.date)} +%s%N)",
            "  " + " ".join(q(c) for c in run),
            "  rc=$?",
            f"  t1=$({q(rep.date)} +%s%N)",
            f"  echo \"$((t1 - t0)) $rc\" >> {q(str(rep.clock))}",
            "  i=$((i + 1))",
            "done"]


def _mount_command(source: str, target: str, fstype: str, options: str) -> str:
    q = shlex.quote
    if fstype == "none" and options.startswith("bind"):
        return f"mount --bind{' -o ro' if ',ro' in options else ''} {q(source)} {q(target)}"
    return f"mount -t {fstype} -o {options} {q(source)} {q(target)}"


def shell(root: Path, binds: list[tuple[str, str]], binary: str, copied: bool, cmd: list[str], tmp: Path,
          repeat: Repeat | None = None) -> str:
    """The script the namespace's first process runs: loopback up, the root read-only, a private /tmp, the binary
    and the user's rootfs bound read-only, the device nodes and /proc (all one ``mount -a`` of an fstab in
    ``tmp``), then exec (strace) env -i chroot, or ``repeat``'s timed runs. When ``mount -a`` fails, the mounts are
    made again one by one: a failed read-only or private mount stops the script, naming it (nothing runs in a root
    that is not sealed); a device node or /proc that cannot be mounted is left out, as a container runtime might."""
    r = str(root)
    sealed = [("read-only root", (r, r, "none", "bind,ro")),
              ("private /tmp", ("tmpfs", f"{r}/tmp", "tmpfs", TMPFS))]
    sealed += [(f"bind {host} read-only", (host, r + inside, "none", "bind,ro")) for host, inside in binds]
    if not copied:
        sealed.append(("bind the binary read-only",
                       (os.path.abspath(binary), r + target_path(binary), "none", "bind,ro")))
    # what a container runtime puts into /dev, bound from the host's; then /proc
    extra = [(f"/dev/{dev}", f"{r}/dev/{dev}", "none", "bind") for dev in DEVICES]
    extra.append(("proc", f"{r}/proc", "proc", "defaults"))
    tab = tmp / "mounts.fstab"
    tab.write_text(fstab([e for _step, e in sealed] + extra))
    one_by_one = [must(step, _mount_command(*e)) for step, e in sealed]
    one_by_one += [f"{_mount_command(*e)} 2>/dev/null || true" for e in extra]
    script = ["ip link set lo up 2>/dev/null || true",
              f"mount -a -T {shlex.quote(str(tab))} 2>/dev/null || {{ {'; '.join(one_by_one)}; }}"]
    if repeat is not None:
        script += _loop(root, cmd, repeat)
    else:
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
