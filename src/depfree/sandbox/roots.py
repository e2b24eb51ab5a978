"""Roots to run a binary in, built in a temporary directory (removed afterwards) from host files copied in.

scratch        nothing but the binary
scratch+certs  the host's CA bundle (and, with zoneinfo=True, its zoneinfo)
musl           the musl loader and libc only (Debian musl: /lib/ld-musl-<arch>.so.1)
glibc          the host's loader and exactly the libraries the binary resolves to (like distroless-base)
busybox        busybox-static and its applet links
DIR            the user's own rootfs, bind-mounted read-only inside the sandbox
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from depfree.errors import UsageError
from depfree.formats.elf import ElfExecutable
from depfree.sources.file import FileSource

CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
HOST_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
                 "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/i386-linux-gnu")
MUSL_LOADERS = ("/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1", "/lib/ld-musl-i386.so.1")
BUSYBOX = "/bin/busybox"


@dataclass
class Root:
    kind: str
    path: Path  # the directory that becomes /
    binds: list[tuple[str, str]] = field(default_factory=list)  # (host path, path inside) bound read-only
    contents: list[str] = field(default_factory=list)  # what was put in, for the report


def _copy_in(root: Path, host: str, inside: str | None = None) -> str:
    """Copy a host file into the root at the same path (following symlinks for the content)."""
    inside = inside or host
    dst = root / inside.lstrip("/")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(os.path.realpath(host), dst)
    return inside


def resolve_host_libraries(binary: str) -> list[tuple[str, str]]:
    """(host path, name) of every library the binary needs, found the way ld.so would on this host, recursively;
    unresolved names are left out so the run shows `library-missing`. Nothing is executed (unlike ldd)."""
    out: dict[str, str] = {}
    todo = [binary]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            with FileSource(path) as src:
                exe = ElfExecutable(src)
                needed, runpath, rpath = exe.needed, exe.runpath, exe.rpath
        except Exception:  # noqa: BLE001 - a library we cannot read is simply not copied
            continue
        origin = os.path.dirname(os.path.abspath(path))
        search = [p.replace("$ORIGIN", origin) for p in (runpath or rpath)] + list(HOST_LIB_DIRS)
        for name in needed:
            for d in search:
                cand = os.path.join(d, name)
                if os.path.isfile(cand):
                    out[name] = cand
                    todo.append(cand)
                    break
    return [(p, n) for n, p in out.items()]


def build_root(kind: str, binary: str, tmp: Path, *, zoneinfo: bool = False) -> Root:
    root = tmp / "root"
    root.mkdir()
    for d in ("proc", "tmp", "dev"):
        (root / d).mkdir()
    r = Root(kind=kind, path=root)
    if kind == "scratch":
        pass
    elif kind == "scratch+certs":
        for ca in CA_BUNDLES:
            if os.path.isfile(ca):
                r.contents.append(_copy_in(root, ca))
                break
        else:
            raise UsageError("scratch+certs: no CA bundle on this host (install ca-certificates)")
        if zoneinfo:
            if not os.path.isdir("/usr/share/zoneinfo"):
                raise UsageError("scratch+certs with zoneinfo: /usr/share/zoneinfo is missing (install tzdata)")
            shutil.copytree("/usr/share/zoneinfo", root / "usr/share/zoneinfo", symlinks=True)
            r.contents.append("/usr/share/zoneinfo")
    elif kind == "musl":
        loaders = [p for p in MUSL_LOADERS if os.path.exists(p)]
        if not loaders:
            raise UsageError("musl root: no musl loader on this host (install musl: apt-get install musl)")
        for p in loaders:
            r.contents.append(_copy_in(root, p))
    elif kind == "glibc":
        with FileSource(binary) as src:
            interp = ElfExecutable(src).interpreter if src.read_at(0, 4) == b"\x7fELF" else None
        loader = interp or "/lib64/ld-linux-x86-64.so.2"
        if os.path.exists(loader):
            r.contents.append(_copy_in(root, loader))
        for host, _name in resolve_host_libraries(binary):
            r.contents.append(_copy_in(root, host))
    elif kind == "busybox":
        if not os.path.isfile(BUSYBOX):
            raise UsageError("busybox root: /bin/busybox is missing (apt-get install busybox-static)")
        _copy_in(root, BUSYBOX)
        for applet in ("sh", "ls", "cat", "env"):
            (root / "bin" / applet).symlink_to("busybox")
        r.contents.append(BUSYBOX)
    elif os.path.isdir(kind):
        for entry in sorted(os.listdir(kind)):
            host = os.path.join(kind, entry)
            if entry in ("proc", "dev", "tmp"):
                continue
            target = root / entry
            if os.path.isdir(host) and not os.path.islink(host):
                target.mkdir()
            elif os.path.islink(host):
                target.symlink_to(os.readlink(host))
                continue
            else:
                target.touch()
            r.binds.append((host, "/" + entry))
        r.kind = "dir"
        r.contents.append(kind)
    else:
        raise UsageError(f"unknown root {kind!r}: expected scratch, scratch+certs, musl, glibc, busybox or a directory")
    return r
