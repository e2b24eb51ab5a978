"""Run a binary in a constructed root: `unshare -r -m -p -n -f` (user, mount, PID and network namespaces; loopback
only) + `chroot`, a clean environment, a timeout that kills the whole namespace, output capped, under `strace -f`.

Nothing on the host is written: the root is a temporary directory removed afterwards, mounted read-only inside the
private mount namespace (only /tmp is a writable tmpfs); the binary and any user rootfs are bind-mounted read-only.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depfree.errors import DepfreeError, InputError, UsageError
from depfree.sandbox.classify import classify
from depfree.sandbox.observe import parse_strace
from depfree.sandbox.roots import build_root

ROOT_KINDS = ("scratch", "scratch+certs", "musl", "glibc", "busybox")
TARGET = "/.depfree-app"
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


@dataclass
class Run:
    binary: str
    root: str
    started: bool
    exit_code: int | None
    signal: str | None
    timed_out: bool
    failure: str
    details: dict[str, str]
    missing: list[str]
    accessed: list[str]
    denied: list[str]
    execve: list[dict[str, Any]]
    connect: list[dict[str, Any]]
    stdout: str
    stderr: str
    isolation: dict[str, Any]
    root_contents: list[str] = field(default_factory=list)
    expectations_met: bool = True
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def isolation_check() -> str:
    """Which isolation works here; raises SandboxError with what to enable when none does."""
    if shutil.which("unshare") is None or shutil.which("chroot") is None:
        raise SandboxError("depfree verify needs unshare and chroot (util-linux, coreutils)")
    probe = subprocess.run(["unshare", "-r", "-m", "-p", "-n", "-f", "true"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        raise SandboxError("cannot create user namespaces here (" + (probe.stderr.strip() or "unshare failed")
                           + "); enable them with `sysctl -w kernel.unprivileged_userns_clone=1` (Debian) or "
                             "`sysctl -w user.max_user_namespaces=15000`, or run as root")
    return "unshare(user,mount,pid,net)+chroot"


def _binary_arch(path: str) -> str | None:
    from depfree.api import inspect_path

    try:
        return inspect_path(path)[0].arch
    except DepfreeError:
        return None


def verify(path: str, roots: tuple[str, ...] | list[str] = ("scratch",), *, args: tuple[str, ...] = (),
           env: dict[str, str] | None = None, timeout: float = 10.0, expect_exit: int | None = 0,
           expect_output: str | None = None, zoneinfo: bool = False, trace: bool = True,
           max_output: int = MAX_OUTPUT) -> list[Run]:
    """Run ``path`` once in each root and report what happened and what it reached for."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    if expect_output is not None:
        try:
            re.compile(expect_output)
        except re.error as exc:
            raise UsageError(f"--expect-output: not a regular expression: {exc}") from None
    mode = isolation_check()
    strace = shutil.which("strace") if trace else None
    arch = _binary_arch(path)
    return [_run_one(path, kind, args=args, env=env or {}, timeout=timeout, expect_exit=expect_exit,
                     expect_output=expect_output, zoneinfo=zoneinfo, strace=strace, arch=arch, mode=mode,
                     max_output=max_output) for kind in roots]


def _run_one(path: str, kind: str, *, args: tuple[str, ...], env: dict[str, str], timeout: float,
             expect_exit: int | None, expect_output: str | None, zoneinfo: bool, strace: str | None,
             arch: str | None, mode: str, max_output: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="depfree-verify-") as tmpdir:
        tmp = Path(tmpdir)
        root = build_root(kind, path, tmp, zoneinfo=zoneinfo)
        (root.path / TARGET.lstrip("/")).touch()
        emulator = None
        if arch and arch != _HOST_ARCH and arch in _QEMU:
            qemu = shutil.which(f"qemu-{_QEMU[arch]}-static")
            if qemu:
                shutil.copy2(qemu, root.path / EMULATOR.lstrip("/"))
                emulator = qemu
        log = tmp / "strace.log"
        r = shlex.quote(str(root.path))
        # The whole root is read-only (like an image); only /tmp is a private, writable tmpfs.
        script = ["ip link set lo up 2>/dev/null || true",
                  f"mount --bind {r} {r} && mount -o remount,bind,ro {r}",
                  f"mount -t tmpfs -o size=64m tmpfs {r}/tmp"]
        for host, inside in root.binds:
            dst = shlex.quote(str(root.path) + inside)
            script.append(f"mount --rbind {shlex.quote(host)} {dst} && mount -o remount,bind,ro {dst}")
        dst = shlex.quote(str(root.path) + TARGET)
        script.append(f"mount --bind {shlex.quote(os.path.abspath(path))} {dst} && mount -o remount,bind,ro {dst}")
        script.append(f"mount -t proc proc {shlex.quote(str(root.path / 'proc'))} 2>/dev/null || true")
        cmd = [shutil.which("env") or "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()),
               shutil.which("chroot") or "/usr/sbin/chroot", str(root.path)]
        cmd += [EMULATOR, TARGET] if emulator else [TARGET]
        cmd += list(args)
        if strace:
            cmd = [strace, "-f", "-qq", "-s", "256", "-o", str(log), "-e", "trace=file,process,network", *cmd]
        script.append("exec " + " ".join(shlex.quote(c) for c in cmd))
        out_f, err_f = tmp / "stdout", tmp / "stderr"
        t0 = time.monotonic()
        with open(out_f, "wb") as out, open(err_f, "wb") as err:
            proc = subprocess.Popen(["unshare", "-r", "-m", "-p", "-n", "-f", "--kill-child", "sh", "-c",
                                     "\n".join(script)], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
        duration = time.monotonic() - t0
        stdout = out_f.read_bytes()[:max_output].decode("utf-8", "replace")
        stderr = err_f.read_bytes()[:max_output].decode("utf-8", "replace")
        trace_text = log.read_text("utf-8", "replace") if strace and log.exists() else ""
        obs = parse_strace(trace_text, EMULATOR if emulator else TARGET) if strace else None
        killed = _KILLED.findall(trace_text)
        sig_name = killed[-1] if killed else (signal.Signals(-rc).name if rc < 0 and not timed_out else None)
        sig_num = signal.Signals[sig_name].value if sig_name else None
        exit_code = None if (timed_out or sig_name) else rc
        failure, details = classify(exit_code=exit_code, sig=sig_num, timed_out=timed_out, stderr=stderr, obs=obs,
                                    exec_error=None)
        if arch and arch != _HOST_ARCH and not emulator and failure in ("interpreter-missing", "nonzero-exit"):
            failure, details = "exec-format", {"hint": f"{arch} binary on a {_HOST_ARCH} host: install "
                                                       f"qemu-user-static (qemu-{_QEMU.get(arch, arch)}-static)"}
        started = obs.target_started if obs else failure not in ("exec-format", "interpreter-missing",
                                                                 "library-missing", "symbol-version")
        if failure in ("library-missing", "symbol-version", "symbol-missing"):
            started = False  # the loader ran, the program did not
        met = started and not timed_out
        if expect_exit is not None:
            met = met and exit_code == expect_exit
        if expect_output is not None:
            met = met and re.search(expect_output, stdout) is not None
        isolation = {"mode": mode, "network": "loopback only", "environment": sorted(env),
                     "traced": bool(strace), "emulator": emulator,
                     "bubblewrap_installed": shutil.which("bwrap") is not None}
        if not strace:
            isolation["note"] = ("strace not installed: failure is diagnosed from the exit status and the loader's "
                                 "messages only; accessed/missing files are not recorded")
        return Run(binary=path, root=kind if root.kind != "dir" else f"dir:{kind}", started=started,
                   exit_code=exit_code, signal=sig_name, timed_out=timed_out, failure=failure, details=details,
                   missing=obs.missing if obs else [], accessed=obs.accessed if obs else [],
                   denied=obs.denied if obs else [], execve=obs.execve if obs else [],
                   connect=obs.connect if obs else [], stdout=stdout, stderr=stderr, isolation=isolation,
                   root_contents=root.contents, expectations_met=met, duration=round(duration, 3))
