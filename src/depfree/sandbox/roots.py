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
import tempfile
import threading
from pathlib import Path

from depfree.analysis.resolution import ld_so_conf_dirs
from depfree.dataclass import dataclass, field
from depfree.errors import DepfreeError, UsageError
from depfree.formats.elf import ElfExecutable
from depfree.sources.file import FileSource
from depfree.sources.fsview import DirView

CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
HOST_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
                 "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/i386-linux-gnu")
MUSL_LOADERS = ("/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1", "/lib/ld-musl-i386.so.1")
BUSYBOX = "/bin/busybox"
DEVICES = ("null", "zero", "full", "random", "urandom")  # what a container runtime gives /dev


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


def _elf_identity(path: str) -> tuple[str, int, list[str], list[str], list[str]] | None:
    """(arch, bits, needed, runpath, rpath) of an ELF file, or None when it is not a readable ELF file."""
    try:
        with FileSource(path) as src:
            if src.read_at(0, 4) != b"\x7fELF":
                return None
            exe = ElfExecutable(src)
            return exe.arch, exe.bits, list(exe.needed), list(exe.runpath), list(exe.rpath)
    except (DepfreeError, OSError):
        return None


_TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
             "riscv64": "riscv64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu"}


def _loader_dirs(arch: str, bits: int) -> list[str]:
    """Directories ld.so searches without an ld.so.cache (the root has none): the multiarch ones, lib64, lib."""
    trip = _TRIPLETS.get(arch)
    dirs = [f"/lib/{trip}", f"/usr/lib/{trip}"] if trip else []
    if bits == 64:
        dirs += ["/lib64", "/usr/lib64"]
    return dirs + ["/lib", "/usr/lib"]


def _expand(entry: str, origin: str) -> str:
    path = os.path.normpath(entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
    return "/" + path.lstrip("/") if path.startswith("/") else path  # normpath keeps a leading "//"


def resolve_host_libraries(binary: str) -> list[tuple[str, str, str]]:
    """(host path, name, path inside the root) of every library the binary needs, found the way ld.so would on this
    host, recursively: DT_RPATH (inherited by the libraries it loads, unless they have DT_RUNPATH), DT_RUNPATH, the
    directories of /etc/ld.so.conf, then the default directories; a candidate of another architecture or ELF class is
    skipped, as ld.so skips it. Inside the root the binary sits in /, so $ORIGIN paths are rebased there, and a
    library found only through ld.so.conf goes into a directory the loader searches without a cache. Unresolved
    names are left out so the run shows `library-missing`. Nothing is executed (unlike ldd)."""
    ident = _elf_identity(binary)
    if ident is None:
        return []
    arch, bits = ident[0], ident[1]
    defaults = _loader_dirs(arch, bits)
    fallback = next((d for d in defaults if os.path.isdir(d)), "/lib")
    conf = ld_so_conf_dirs(DirView("/"))  # the host's, as its ldconfig reads it
    system = [(d, d if d in defaults else fallback) for d in conf]
    system += [(d, d) for d in (*defaults, *HOST_LIB_DIRS) if d not in conf]
    out: dict[str, tuple[str, str]] = {}
    # (host file, its directory inside the root, (host dir, inside dir) RPATHs inherited from what loaded it)
    todo: list[tuple[str, str, list[tuple[str, str]]]] = [(binary, "/", [])]
    seen: set[str] = set()
    while todo:
        path, inside_dir, inherited = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        info = _elf_identity(path)
        if info is None:
            continue
        _arch, _bits, needed, runpath, rpath = info
        origin = os.path.dirname(os.path.abspath(path))
        own = [] if runpath else [(_expand(e, origin), _expand(e, inside_dir)) for e in rpath]
        rpaths = own + inherited
        search = rpaths + [(_expand(e, origin), _expand(e, inside_dir)) for e in runpath] + system
        for name in needed:
            if name in out:
                continue
            candidates = [(name, os.path.dirname(name))] if "/" in name else [(os.path.join(h, name), i)
                                                                               for h, i in search]
            for cand, cand_inside in candidates:
                if not os.path.isfile(cand):
                    continue
                cinfo = _elf_identity(cand)
                if cinfo is None or cinfo[0] != arch or cinfo[1] != bits:
                    continue
                out[name] = (cand, os.path.join(cand_inside, os.path.basename(name)))
                todo.append((cand, cand_inside, rpaths))
                break
    return [(host, name, inside) for name, (host, inside) in out.items()]


def _certs(r: Root, binary: str, zoneinfo: bool) -> None:
    for ca in CA_BUNDLES:
        if os.path.isfile(ca):
            r.contents.append(_copy_in(r.path, ca))
            break
    else:
        raise UsageError("scratch+certs: no CA bundle on this host (install ca-certificates)")
    if zoneinfo:
        if not os.path.isdir("/usr/share/zoneinfo"):
            raise UsageError("scratch+certs with zoneinfo: /usr/share/zoneinfo is missing (install tzdata)")
        shutil.copytree("/usr/share/zoneinfo", r.path / "usr/share/zoneinfo", symlinks=True)
        r.contents.append("/usr/share/zoneinfo")


def _musl(r: Root, binary: str, zoneinfo: bool) -> None:
    loaders = [p for p in MUSL_LOADERS if os.path.exists(p)]
    if not loaders:
        raise UsageError("musl root: no musl loader on this host (install musl: apt-get install musl)")
    for p in loaders:
        r.contents.append(_copy_in(r.path, p))


def glibc_contents(binary: str) -> tuple[str, list[tuple[str, str]]]:
    """(the loader, (host path, path inside) of every library) that the glibc root of ``binary`` holds."""
    with FileSource(binary) as src:
        interp = ElfExecutable(src).interpreter if src.read_at(0, 4) == b"\x7fELF" else None
    return interp or "/lib64/ld-linux-x86-64.so.2", [(host, inside) for host, _name, inside
                                                      in resolve_host_libraries(binary)]


def _glibc(r: Root, binary: str, zoneinfo: bool, contents: tuple[str, list[tuple[str, str]]] | None = None) -> None:
    loader, libraries = contents or glibc_contents(binary)
    if os.path.exists(loader):
        r.contents.append(_copy_in(r.path, loader))
    for host, inside in libraries:
        if not (r.path / inside.lstrip("/")).exists():
            r.contents.append(_copy_in(r.path, host, inside))


def _busybox(r: Root, binary: str, zoneinfo: bool) -> None:
    if not os.path.isfile(BUSYBOX):
        raise UsageError("busybox root: /bin/busybox is missing (apt-get install busybox-static)")
    _copy_in(r.path, BUSYBOX)
    for applet in ("sh", "ls", "cat", "env"):
        (r.path / "bin" / applet).symlink_to("busybox")
    r.contents.append(BUSYBOX)


def _user_dir(r: Root, kind: str) -> None:
    """The user's rootfs: its top-level directories as mount points (bound read-only inside), its symlinks as they
    are."""
    for entry in sorted(os.listdir(kind)):
        host = os.path.join(kind, entry)
        if entry in ("proc", "dev", "tmp"):
            continue
        target = r.path / entry
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


BUILDERS = {"scratch": lambda r, binary, zoneinfo: None, "scratch+certs": _certs, "musl": _musl, "glibc": _glibc,
            "busybox": _busybox}


def build_root(kind: str, binary: str, tmp: Path, *, zoneinfo: bool = False,
               contents: tuple[str, list[tuple[str, str]]] | None = None) -> Root:
    """The root ``kind`` for ``binary`` in ``tmp/root``: /proc, /tmp and /dev mount points, then what the kind puts
    in (``contents``: the glibc root's, when already resolved)."""
    root = tmp / "root"
    root.mkdir()
    for d in ("proc", "tmp", "dev"):
        (root / d).mkdir()
    for dev in DEVICES:  # mount points for the host's device nodes, bound inside the sandbox
        (root / "dev" / dev).touch()
    r = Root(kind=kind, path=root)
    if kind == "glibc":
        _glibc(r, binary, zoneinfo, contents)
    elif kind in BUILDERS:
        BUILDERS[kind](r, binary, zoneinfo)
    elif os.path.isdir(kind):
        _user_dir(r, kind)
    else:
        raise UsageError(f"unknown root {kind!r}: expected scratch, scratch+certs, musl, glibc, busybox or a directory")
    return r


class RootCache:
    """Roots built once and shared by every run that needs the same one: the kind (with zoneinfo or not), and for
    the glibc root the loader and libraries the binary resolves to. Each holds a mount point for every program path
    run in it. All live in one temporary directory, removed by :meth:`close`."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._built: dict[tuple[object, ...], Root] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, binary: str, inside: str, *, zoneinfo: bool = False) -> Root:
        """The root ``kind`` for ``binary``, with a mount point at ``inside`` (where the program is bound)."""
        contents = glibc_contents(binary) if kind == "glibc" else None
        key: tuple[object, ...] = (kind, zoneinfo, repr(contents))
        with self._lock:
            root = self._built.get(key)
            if root is None:
                if self._dir is None:
                    self._dir = tempfile.mkdtemp(prefix="depfree-roots-")
                tmp = Path(tempfile.mkdtemp(dir=self._dir))
                root = self._built[key] = build_root(kind, binary, tmp, zoneinfo=zoneinfo, contents=contents)
            target = root.path / inside.lstrip("/")
            target.parent.mkdir(exist_ok=True)
            target.touch()
        return root

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
            self._dir, self._built = None, {}
