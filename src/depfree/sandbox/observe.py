"""What a run reached for, from `strace -f` output: files opened or looked at, the ones that were missing (ENOENT),
programs executed, and network connections attempted."""

from __future__ import annotations

import re

from depfree.dataclass import dataclass, field

FILE_CALLS = {"open", "openat", "openat2", "stat", "lstat", "newfstatat", "fstatat64", "statx", "access", "faccessat",
              "faccessat2", "readlink", "readlinkat", "execve", "execveat", "stat64", "lstat64", "chdir", "mkdir",
              "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "creat", "truncate"}
_LINE = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<call>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)(?:\s+(?P<err>E[A-Z]+))?")
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_ADDR = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"')
_UNIX = re.compile(r'sun_path=@?"((?:[^"\\]|\\.)*)"')
QEMU_PREFIX = "/etc/qemu-binfmt/"  # qemu-user looks every path up under its sysroot prefix first


@dataclass
class Observation:
    accessed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    execve: list[dict[str, object]] = field(default_factory=list)
    connect: list[dict[str, object]] = field(default_factory=list)
    target_started: bool = False  # the traced program's execve of the binary succeeded
    target_exec_error: str | None = None


def _connect(args: str, ret: str, err: str | None) -> dict[str, object]:
    port, addr, unix = _PORT.search(args), _ADDR.search(args), _UNIX.search(args)
    fam = "AF_UNIX" if "AF_UNIX" in args else "AF_INET6" if "AF_INET6" in args else "AF_INET"
    address = (addr.group(1) or addr.group(2)) if addr else unix.group(1) if unix else ""
    return {"family": fam, "address": address, "port": int(port.group(1)) if port else None, "ok": ret == "0",
            "error": err}


def parse_strace(text: str, target: str, *, emulated: bool = False) -> Observation:
    """Parse strace -f output; everything before the successful execve of ``target`` (chroot's own work) is skipped.
    ``emulated``: the target runs under qemu-user, whose probes under its sysroot prefix are left out."""
    obs = Observation()
    started = False
    seen_acc: set[str] = set()
    seen_miss: set[str] = set()
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        call, args, ret, err = m.group("call"), m.group("args"), m.group("ret"), m.group("err")
        paths = _PATH.findall(args)
        if call in ("execve", "execveat"):
            path = paths[0] if paths else "?"
            ok = ret == "0"
            if path == target:
                if ok:
                    started = True
                    obs.target_started = True
                elif not started:
                    obs.target_exec_error = err
            if started:
                obs.execve.append({"path": path, "ok": ok, "error": err})
            continue
        if not started:
            continue
        if call == "connect":
            obs.connect.append(_connect(args, ret, err))
            continue
        if call not in FILE_CALLS or not paths:
            continue
        path = paths[0]
        if path == "" or path.startswith("/proc/self") and call.startswith("readlink"):
            continue
        if emulated and path.startswith(QEMU_PREFIX):
            continue
        if err == "ENOENT":
            if path not in seen_miss:
                seen_miss.add(path)
                obs.missing.append(path)
        elif err in ("EACCES", "EPERM", "EROFS"):
            obs.denied.append(path)
        elif ret != "?" and not ret.startswith("-"):
            if path not in seen_acc:
                seen_acc.add(path)
                obs.accessed.append(path)
    return obs
