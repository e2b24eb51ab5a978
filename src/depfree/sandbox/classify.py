"""Why a run failed, in one word, from the exit status, the loader's messages and what strace saw."""

from __future__ import annotations

import re
import signal

from depfree.sandbox.observe import Observation

_GLIBC_LIB = re.compile(r"error while loading shared libraries: ([^:]+): cannot open shared object file")
_MUSL_LIB = re.compile(r"Error loading shared library ([^:]+): No such file or directory")
_VERSION = re.compile(r"version `([^']+)' not found")
_MUSL_SYM = re.compile(r"Error relocating [^:]+: ([^:]+): symbol not found")
# chroot's own message when its execve of the program fails (seen without strace): the program is there, so ENOENT
# means its interpreter is not.
_CHROOT_EXEC = re.compile(r"chroot: failed to run command '[^']*': (No such file or directory|Permission denied)")


def exec_refused(stderr: str) -> bool:
    """chroot said it could not execute the program at all (without strace, the only sign the program never ran)."""
    return _CHROOT_EXEC.search(stderr) is not None


def classify(*, exit_code: int | None, sig: int | None, timed_out: bool, stderr: str, obs: Observation | None,
             exec_error: str | None) -> tuple[str, dict[str, str]]:
    """(failure, details): failure is one of exec-format, interpreter-missing, library-missing, symbol-version,
    symbol-missing, crash, timeout, nonzero-exit, ok."""
    if timed_out:
        return "timeout", {}
    err = exec_error or (obs.target_exec_error if obs else None)
    if err == "ENOEXEC" or "Exec format error" in stderr:
        return "exec-format", {"hint": "wrong architecture for this machine: install qemu-user-static to run it"}
    m = _VERSION.search(stderr)
    if m:
        return "symbol-version", {"version": m.group(1)}
    m = _GLIBC_LIB.search(stderr) or _MUSL_LIB.search(stderr)
    if m:
        return "library-missing", {"library": m.group(1)}
    m = _MUSL_SYM.search(stderr)
    if m:
        return "symbol-missing", {"symbol": m.group(1)}
    chroot_err = _CHROOT_EXEC.search(stderr) if obs is None else None
    if err == "ENOENT" or (obs is not None and not obs.target_started and exit_code == 127) or (
            chroot_err and chroot_err.group(1).startswith("No such")):
        return "interpreter-missing", {"hint": "the ELF interpreter (PT_INTERP) is not in this root"}
    if err == "EACCES" or chroot_err:
        return "nonzero-exit", {"hint": "the kernel refused to execute it (EACCES): is it on a noexec mount?"}
    if sig is not None:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "crash", {"signal": name}
    if exit_code:
        return "nonzero-exit", {}
    return "ok", {}
