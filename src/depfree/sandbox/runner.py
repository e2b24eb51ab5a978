"""Run a binary in a constructed root: `unshare -r -m -p -n -f` (user, mount, PID and network namespaces; loopback
only) + `chroot`, a clean environment, a timeout that kills the whole namespace, output capped, under `strace -f`.

Nothing on the host is written: the root is a temporary directory removed afterwards, mounted read-only inside the
private mount namespace (only /tmp is a writable tmpfs); the binary and any user rootfs are bind-mounted read-only.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from depfree.dataclass import dataclass
from depfree.errors import DepfreeError, InputError, UsageError
from depfree.formats.elf import ElfExecutable
from depfree.model_verdicts import Run as Run  # re-exported: the sandbox's result type lives in the model
from depfree.sandbox.classify import classify, exec_refused
from depfree.sandbox.observe import parse_strace
from depfree.sandbox.process import SETUP_FAILED, Outcome, Repeat, execute, shell, target_path
from depfree.sandbox.roots import Root, RootCache, build_root
from depfree.sources.file import FileSource

ROOT_KINDS = ("scratch", "scratch+certs", "musl", "glibc", "busybox")
EMULATOR = "/.depfree-qemu"
MAX_OUTPUT = 64 * 1024
_HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "riscv64": "riscv64"}.get(platform.machine(),
                                                                                               platform.machine())
_QEMU = {"arm64": "aarch64", "386": "i386", "riscv64": "riscv64", "arm": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "mips": "mips", "mipsle": "mipsel", "mips64": "mips64", "mips64le": "mips64el",
         "amd64": "x86_64", "loong64": "loongarch64"}
_KILLED = re.compile(r"\+\+\+ killed by (SIG[A-Z0-9]+)")


class SandboxError(DepfreeError):
    """The sandbox cannot be set up on this machine (no user namespaces, no unshare)."""


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name.replace(".", "/")).read_text().strip()
    except OSError:
        return None


def userns_hint() -> str:
    """What to enable so that unprivileged user namespaces work, from the sysctls this kernel has."""
    hints = []
    if _sysctl("user.max_user_namespaces") == "0":
        hints.append("user.max_user_namespaces is 0: `sysctl -w user.max_user_namespaces=15000`")
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        hints.append("kernel.unprivileged_userns_clone is 0: `sysctl -w kernel.unprivileged_userns_clone=1`")
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        hints.append("AppArmor restricts unprivileged user namespaces: "
                     "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for unshare")
    if not hints:
        hints.append("enable user namespaces (`sysctl -w kernel.unprivileged_userns_clone=1` on Debian, "
                     "`sysctl -w user.max_user_namespaces=15000`), or run as root")
    return "; ".join(hints)


def isolation_check() -> str:
    """Which isolation works here; raises SandboxError with what to enable when none does."""
    missing = [t for t in ("unshare", "chroot", "mount") if shutil.which(t) is None]
    if missing:
        raise SandboxError(f"depfree verify needs {', '.join(missing)} (util-linux, coreutils), which is not on PATH")
    probe = subprocess.run(["unshare", "-r", "-m", "-p", "-n", "-f", "true"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        raise SandboxError("cannot create user namespaces here (" + (probe.stderr.strip() or "unshare failed")
                           + "): " + userns_hint())
    return "unshare(user,mount,pid,net)+chroot"


_NOT_LINUX = ((b"MZ", "a PE (Windows) file"), (b"\xfe\xed\xfa\xce", "a Mach-O (macOS) file"),
              (b"\xfe\xed\xfa\xcf", "a Mach-O (macOS) file"), (b"\xce\xfa\xed\xfe", "a Mach-O (macOS) file"),
              (b"\xcf\xfa\xed\xfe", "a Mach-O (macOS) file"), (b"\xca\xfe\xba\xbe", "a universal Mach-O (macOS) file"))


def _not_linux(path: str) -> str | None:
    """What the file is when it is a PE or Mach-O file (no sandbox here can run those)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    for magic, what in _NOT_LINUX:
        if head.startswith(magic):
            return what
    return None


def _binary_facts(path: str) -> tuple[str | None, str | None]:
    """(arch, interpreter) read from the file without running it: the ELF machine and PT_INTERP, or a #! line."""
    try:
        with FileSource(path) as src:
            head = src.read_at(0, 256)
            if head.startswith(b"#!"):
                line = head[2:].split(b"\n", 1)[0].strip().split()
                return None, line[0].decode("utf-8", "replace") if line else None
            if head[:4] != b"\x7fELF":
                return None, None
            exe = ElfExecutable(src)
            return exe.arch, exe.interpreter
    except (DepfreeError, OSError):
        return None, None


def verify(path: str | os.PathLike[str], roots: str | tuple[str, ...] | list[str] = ("scratch",), *,
           args: tuple[str, ...] | list[str] = (), env: dict[str, str] | None = None, timeout: float = 10.0,
           expect_exit: int | None = 0, expect_output: str | None = None, zoneinfo: bool = False, trace: bool = True,
           max_output: int = MAX_OUTPUT, sandbox: Sandbox | None = None) -> list[Run]:
    """Run ``path`` once in each root and report what happened and what it reached for.

    ``roots``: scratch, scratch+certs, musl, glibc, busybox or a directory (a user rootfs). ``env`` is the program's
    whole environment. A run meets its expectations when it started, did not time out, exited with ``expect_exit``
    (None: any) and its stdout matches ``expect_output``. Raises InputError/UsageError for bad input and SandboxError
    when this machine cannot build the sandbox (with what to enable). ``sandbox``: what a series of calls shares (the
    isolation check, the roots), see :class:`Sandbox`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file" + (" (a directory)" if os.path.isdir(path) else ""))
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable")
    roots = [roots] if isinstance(roots, str) else list(roots)
    if not roots:
        raise UsageError("verify: no roots given")
    for kind in roots:
        if kind in ROOT_KINDS or os.path.isdir(kind):
            continue
        if os.path.exists(kind):
            raise UsageError(f"--root {kind}: not a directory (expected {', '.join(ROOT_KINDS)} or a directory)")
        if "/" in kind or kind.startswith("."):
            raise UsageError(f"--root {kind}: no such directory")
        raise UsageError(f"unknown root {kind!r}: expected {', '.join(ROOT_KINDS)} or a directory")
    other = _not_linux(path)
    if other:
        raise UsageError(f"{path}: {other}: verify runs Linux binaries on this host (inspect and targets read it "
                         "without running it)")
    if not timeout > 0:
        raise UsageError(f"--timeout must be more than 0 seconds, got {timeout}")
    if max_output < 0:
        raise UsageError(f"max_output must be 0 or more, got {max_output}")
    env = dict(env or {})
    for k, v in env.items():
        if not k or "=" in k or "\0" in k or "\0" in v:
            raise UsageError(f"--env: not a valid variable: {k!r}")
    if expect_output is not None:
        try:
            re.compile(expect_output)
        except re.error as exc:
            raise UsageError(f"--expect-output: not a regular expression: {exc}") from None
    mode = sandbox.isolation() if sandbox is not None else isolation_check()
    strace = shutil.which("strace") if trace else None
    arch, interpreter = _binary_facts(path)
    return [_run_one(path, kind, args=tuple(args), env=env, timeout=timeout, expect_exit=expect_exit,
                     expect_output=expect_output, zoneinfo=zoneinfo, strace=strace, arch=arch, interpreter=interpreter,
                     mode=mode, max_output=max_output, sandbox=sandbox) for kind in roots]


class Sandbox:
    """What a series of runs shares, such as a build matrix's (nine variants, four roots each, then timed runs): the
    isolation check, made once (it starts a namespace of its own), and each root, built once in a directory removed
    by :meth:`close` (a program bound read-only into a root changes nothing in it). Use it as a context manager."""

    def __init__(self) -> None:
        self.roots = RootCache()
        self._mode: str | None = None
        self._lock = threading.Lock()

    def isolation(self) -> str:
        with self._lock:
            if self._mode is None:
                self._mode = isolation_check()
            return self._mode

    def close(self) -> None:
        self.roots.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Prepared:
    """A root ready for one run: where the program sits in it, whether it was copied in (no execute bit), the
    emulator copied in for a foreign architecture."""

    root: Root
    inside: str
    copied: bool
    emulator: str | None


def _prepare(path: str, kind: str, tmp: Path, zoneinfo: bool, arch: str | None, sandbox: Sandbox | None) -> _Prepared:
    """The root of one run. A program bound read-only into a root of the sandbox's cache shares that root with every
    other run (nothing in it changes); a program copied in, or one that needs an emulator, gets a root of its own."""
    inside = target_path(path)
    copied = not os.access(path, os.X_OK)  # a file without the execute bit (a fresh download) is copied in with it
    qemu = shutil.which(f"qemu-{_QEMU[arch]}-static") if arch and arch != _HOST_ARCH and arch in _QEMU else None
    if sandbox is not None and not copied and not qemu:
        return _Prepared(sandbox.roots.get(kind, path, inside, zoneinfo=zoneinfo), inside, False, None)
    root = build_root(kind, path, tmp, zoneinfo=zoneinfo)
    target = root.path / inside.lstrip("/")
    target.parent.mkdir(exist_ok=True)
    if copied:
        shutil.copyfile(path, target)
        target.chmod(0o555)
    else:
        target.touch()
    if qemu:
        shutil.copy2(qemu, root.path / EMULATOR.lstrip("/"))
    return _Prepared(root, inside, copied, qemu)


def _command(prep: _Prepared, args: tuple[str, ...], env: dict[str, str], strace: str | None, log: Path) -> list[str]:
    """(strace) env -i chroot ROOT [emulator] program args: what the namespace's shell finally execs."""
    cmd = [shutil.which("env") or "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()),
           shutil.which("chroot") or "/usr/sbin/chroot", str(prep.root.path)]
    cmd += [EMULATOR, prep.inside] if prep.emulator else [prep.inside]
    cmd += list(args)
    if strace:  # strace runs inside the namespaces but before chroot, so the root needs no copy of it
        # --seccomp-bpf: only the traced syscall classes stop the program (a Go runtime's hundreds of
        # rt_sigaction, mmap and futex calls run at full speed); what is recorded is the same
        fast = ["--seccomp-bpf"] if _seccomp_filter(strace) else []
        cmd = [strace, "-f", *fast, "-qq", "-s", "256", "-o", str(log), "-e", "trace=file,process,network", *cmd]
    return cmd


@functools.cache
def _seccomp_filter(strace: str) -> bool:
    """Whether this strace can filter with seccomp-bpf (strace 5.3 and later, on a kernel that has it)."""
    try:
        return subprocess.run([strace, "-f", "--seccomp-bpf", "-qq", "-o", os.devnull, "-e", "trace=execve", "true"],
                              capture_output=True, check=False, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _run_one(path: str, kind: str, *, args: tuple[str, ...], env: dict[str, str], timeout: float,
             expect_exit: int | None, expect_output: str | None, zoneinfo: bool, strace: str | None,
             arch: str | None, interpreter: str | None, mode: str, max_output: int,
             sandbox: Sandbox | None = None) -> Run:
    with tempfile.TemporaryDirectory(prefix="depfree-verify-") as tmpdir:
        tmp = Path(tmpdir)
        prep = _prepare(path, kind, tmp, zoneinfo, arch, sandbox)
        log = tmp / "strace.log"
        cmd = _command(prep, args, env, strace, log)
        res = execute(shell(prep.root.path, prep.root.binds, path, prep.copied, cmd, tmp), timeout, max_output)
        _setup_failed(res)
        trace_text = log.read_text("utf-8", "replace") if strace and log.exists() else ""
    return _judge(path, kind, prep, res, trace_text, strace=strace, arch=arch, interpreter=interpreter, env=env,
                  mode=mode, max_output=max_output, expect_exit=expect_exit, expect_output=expect_output,
                  timeout=timeout)


def _setup_failed(res: Outcome) -> None:
    """Raise SandboxError when the namespace's script stopped at a setup step (a mount it cannot do without)."""
    if res.rc == 125 and SETUP_FAILED in res.stderr:
        raise SandboxError("could not set up the sandbox (" + res.stderr.split(SETUP_FAILED, 1)[1].split("\n")[0]
                           + "): " + " ".join(res.stderr.split(SETUP_FAILED, 1)[0].split())[-300:])


@dataclass
class Timed:
    """What :func:`time_runs` measured: each run's seconds, the largest resident set GNU time saw (KiB; None
    without GNU time), each run's exit status (None: the runner's clock did not see it), and whose clock it was."""

    durations: list[float]
    peak_rss_kb: int | None
    exit_codes: list[int | None]
    clock: str  # sandbox: ``date`` inside the sandbox around each run; runner: the runner's around each process tree


@functools.cache
def _nested_namespaces(unshare: str) -> bool:
    """Whether a sandbox's shell can give each run a mount and PID namespace of its own (a nested ``unshare``)."""
    try:
        return subprocess.run(["unshare", "-r", "-m", "-p", "-n", "-f", unshare, "-m", "-p", "-f", "--kill-child",
                               "true"], capture_output=True, check=False, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _timing_tools() -> tuple[str, str, str, str | None] | None:
    """(date, timeout, unshare, GNU time or None) for :func:`time_runs`; None when coreutils' date or timeout is
    missing or the namespaces cannot be nested here."""
    date, limit = shutil.which("date", path="/usr/bin:/bin"), shutil.which("timeout", path="/usr/bin:/bin")
    unshare = shutil.which("unshare")
    if not date or not limit or not unshare or not _nested_namespaces(unshare):
        return None
    return date, limit, unshare, shutil.which("time", path="/usr/bin:/bin")


def _log_numbers(path: Path) -> list[list[int]]:
    """The lines of integers of a log (GNU time's 'Command exited with non-zero status 1' lines are skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8", "replace").splitlines():
        fields = line.split()
        if fields and all(f.isdigit() for f in fields):
            out.append([int(f) for f in fields])
    return out


def time_runs(path: str | os.PathLike[str], kind: str, n: int, *, args: tuple[str, ...] = (),
              env: dict[str, str] | None = None, timeout: float = 10.0, sandbox: Sandbox | None = None) -> Timed:
    """``n`` untraced runs of ``path`` in the root ``kind``, timed apart inside one sandbox set-up (one namespace
    tree, its mounts made once): each run gets a fresh /tmp and its own mount and PID namespace, and is timed by
    ``date`` in nanoseconds around it, with its peak RSS from GNU time (see :class:`~depfree.sandbox.process.
    Repeat`). The set-up is the sandbox's cost, not the program's, so it is outside every run's time. Without
    coreutils' date and timeout, or where namespaces cannot be nested, the runs are separate sandboxes timed by the
    runner (``clock: runner``)."""
    path = os.fspath(path)
    if n < 1:
        raise UsageError(f"timed runs: n must be 1 or more, got {n}")
    env = dict(env or {})
    tools = _timing_tools()
    if tools is None:
        runs = verify(path, (kind,) * n, args=args, env=env, timeout=timeout, expect_exit=None, trace=False,
                      sandbox=sandbox)
        return Timed([r.duration for r in runs], None, [r.exit_code for r in runs], "runner")
    if sandbox is not None:
        sandbox.isolation()
    else:
        isolation_check()
    arch, _interpreter = _binary_facts(path)
    with tempfile.TemporaryDirectory(prefix="depfree-timed-") as tmpdir:
        tmp = Path(tmpdir)
        prep = _prepare(path, kind, tmp, False, arch, sandbox)
        rep = Repeat(n=n, timeout=timeout, clock=tmp / "clock.log", rss=tmp / "rss.log", date=tools[0],
                     timeout_cmd=tools[1], unshare=tools[2], gnu_time=tools[3])
        cmd = _command(prep, args, env, None, tmp / "strace.log")
        res = execute(shell(prep.root.path, prep.root.binds, path, prep.copied, cmd, tmp, repeat=rep),
                      n * (timeout + 5), MAX_OUTPUT)
        _setup_failed(res)
        clock = [line for line in _log_numbers(rep.clock) if len(line) == 2]
        rss = [line[0] for line in _log_numbers(rep.rss) if len(line) == 1]
    if len(clock) != n:
        why = "timed out" if res.timed_out else f"exit {res.rc}"
        raise SandboxError(f"{path}: {len(clock)} of {n} timed runs in {kind} finished ({why}): "
                           + (" ".join(res.stderr.split())[-300:] or "no message"))
    return Timed([ns / 1e9 for ns, _rc in clock], max(rss) if rss else None, [rc for _ns, rc in clock], "sandbox")


def _judge(path: str, kind: str, prep: _Prepared, res: Outcome, trace_text: str, *, strace: str | None,
           arch: str | None, interpreter: str | None, env: dict[str, str], mode: str, max_output: int,
           expect_exit: int | None, expect_output: str | None, timeout: float) -> Run:
    """The run's report: what the trace and the exit status say happened, measured against the expectations."""
    emulator, rc, timed_out = prep.emulator, res.rc, res.timed_out
    obs = parse_strace(trace_text, EMULATOR if emulator else prep.inside, emulated=bool(emulator)) if strace else None
    killed = _KILLED.findall(trace_text)
    sig_name = killed[-1] if killed else (signal.Signals(-rc).name if rc < 0 and not timed_out else None)
    sig_num = signal.Signals[sig_name].value if sig_name else None
    exit_code = None if (timed_out or sig_name) else rc
    failure, details = classify(exit_code=exit_code, sig=sig_num, timed_out=timed_out, stderr=res.stderr, obs=obs,
                                exec_error=None)
    if arch and arch != _HOST_ARCH and not emulator and failure in ("interpreter-missing", "nonzero-exit"):
        failure, details = "exec-format", {"hint": f"{arch} binary on a {_HOST_ARCH} host: install "
                                                   f"qemu-user-static (qemu-{_QEMU.get(arch, arch)}-static)"}
    missing = obs.missing if obs else []
    if failure == "interpreter-missing" and interpreter:
        details["interpreter"] = interpreter
        if interpreter not in missing:  # the kernel's own lookup: strace shows it only as execve's ENOENT
            missing = [interpreter, *missing]
    started = obs.target_started if obs else not exec_refused(res.stderr) and failure not in (
        "exec-format", "interpreter-missing", "library-missing", "symbol-version")
    if failure in ("library-missing", "symbol-version", "symbol-missing"):
        started = False  # the loader ran, the program did not
    unmet = _unmet(started, timed_out, failure, exit_code, sig_name, res.stdout, expect_exit, expect_output, timeout)
    isolation = {"mode": mode, "network": "loopback only", "environment": sorted(env),
                 "traced": bool(strace), "emulator": emulator, "binary": "copied" if prep.copied else "bound read-only",
                 "output_limit": max_output, "bubblewrap_installed": shutil.which("bwrap") is not None}
    if not strace:
        isolation["note"] = ("strace not installed: failure is diagnosed from the exit status and the loader's "
                             "messages only; accessed/missing files are not recorded")
    root = prep.root
    return Run(binary=path, root=kind if root.kind != "dir" else f"dir:{kind}", started=started,
               exit_code=exit_code, signal=sig_name, timed_out=timed_out, failure=failure, details=details,
               missing=missing, accessed=obs.accessed if obs else [],
               denied=obs.denied if obs else [], execve=obs.execve if obs else [],
               connect=obs.connect if obs else [], stdout=res.stdout, stderr=res.stderr, isolation=isolation,
               root_contents=root.contents, expectations_met=not unmet, unmet=unmet, duration=round(res.duration, 3),
               stdout_bytes=res.stdout_bytes, stderr_bytes=res.stderr_bytes)


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return (lines[-1][:200] if lines else "") or "(nothing)"


def _unmet(started: bool, timed_out: bool, failure: str, exit_code: int | None, sig: str | None, stdout: str,
           expect_exit: int | None, expect_output: str | None, timeout: float) -> list[str]:
    """Each expectation the run did not meet, as "expected X, got Y"."""
    if timed_out:
        return [f"expected the program to finish, got a timeout after {timeout:g} s"]
    if not started:
        return [f"expected the program to start, got {failure}"]
    out = []
    if expect_exit is not None and exit_code != expect_exit:
        got = f"exit {exit_code}" if exit_code is not None else f"signal {sig}" if sig else "no exit status"
        out.append(f"expected exit {expect_exit}, got {got}")
    if expect_output is not None and re.search(expect_output, stdout) is None:
        out.append(f"expected stdout to match /{expect_output}/; got: {_last_line(stdout)}")
    return out
