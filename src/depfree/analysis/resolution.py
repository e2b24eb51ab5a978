"""In-image resolution: does everything a binary needs exist *inside* its package or image?

For an ELF the search follows glibc's loader (``ld.so(8)``): a NEEDED name with a ``/`` is a path; otherwise
DT_RPATH (only when there is no DT_RUNPATH), DT_RUNPATH, the directories of the image's ``/etc/ld.so.conf`` (and its
``include`` globs; what ``ldconfig`` would put in the cache), then the system directories (the multiarch ones Debian
compiles in, ``/lib64`` and ``/usr/lib64`` for 64-bit, ``/lib``, ``/usr/lib``). ``$ORIGIN``, ``$LIB`` and
``$PLATFORM`` are expanded; LD_LIBRARY_PATH does not apply (nothing sets it in a package). A musl loader reads
``/etc/ld-musl-ARCH.path`` or uses ``/lib:/usr/local/lib:/usr/lib``. Libraries found in the image that were analysed
too are followed (their own NEEDED, RPATH and RUNPATH), and a library of the wrong class or machine is skipped as
the loader would. File and directory needs (CA bundle, zoneinfo, /etc/passwd… from ``binary.needs``) are looked
up with their alternatives.

The result is ``binary.resolution``, a :class:`depfree.model_verdicts.Resolution` (libraries as
``ResolvedLibrary``, file needs as ``ResolvedFile``).

Paths supplied from outside (``provided``: in a container image, what the runtime writes at start, from
data/contexts.toml) count as present (``provided_by``) when the tree lacks them. The verdict built on this
(missing from the package vs needed from the machine) is targets/context.py's.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Mapping

from depfree.model import Binary
from depfree.model_verdicts import Resolution, ResolvedFile, ResolvedLibrary
from depfree.sources.fsview import FILE, FsView, norm

MULTIARCH = {("x86_64", 64): "x86_64-linux-gnu", ("x86", 32): "i386-linux-gnu", ("aarch64", 64): "aarch64-linux-gnu",
             ("arm", 32): "arm-linux-gnueabihf", ("riscv64", 64): "riscv64-linux-gnu",
             ("ppc64le", 64): "powerpc64le-linux-gnu", ("s390x", 64): "s390x-linux-gnu"}
ARCH_ALIASES = {"amd64": "x86_64", "386": "x86", "i386": "x86", "arm64": "aarch64"}
MAX_DEPTH = 16
MAX_CONF_FILES = 256


def ld_so_conf_dirs(view: FsView, path: str = "/etc/ld.so.conf") -> list[str]:
    """The directories an ld.so.conf lists, in order, as ldconfig reads them: ``include`` lines (globs, relative to
    the including file) followed a bounded number of times, ``hwcap`` lines skipped, ``DIR=TYPE`` and comma/colon
    separated lists accepted. Read through ``view``, so links never leave its root."""
    dirs: list[str] = []
    seen: set[str] = set()

    def read(conf: str) -> None:
        if conf in seen or len(seen) >= MAX_CONF_FILES:
            return
        seen.add(conf)
        data = view.read_bytes(conf, 64 * 1024)
        if data is None:
            return
        for raw in data.decode("utf-8", "replace").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("hwcap"):
                continue
            if line.startswith("include"):
                for pattern in line.split()[1:]:
                    if not pattern.startswith("/"):
                        pattern = posixpath.join(posixpath.dirname(conf), pattern)
                    d, pat = posixpath.split(norm(pattern))
                    for name in view.listdir(d):  # sorted, like glob in ldconfig
                        if fnmatch.fnmatchcase(name, pat):
                            read(posixpath.join(d, name))
                continue
            for d in line.replace(",", " ").replace(":", " ").split():
                d = norm(d.split("=", 1)[0]) if d.startswith("/") else ""
                if d and d not in dirs:
                    dirs.append(d)

    read(norm(path))
    return dirs


class Resolver:
    """Resolution of every binary of one container against its filesystem view. ``binaries`` maps an in-view path
    to the analysed binary at that path, so libraries in the image can be followed."""

    def __init__(self, view: FsView, binaries: Mapping[str, Binary], provided: Mapping[str, str] | None = None,
                 loader: Callable[[str], Binary | None] | None = None) -> None:
        self.view = view
        self.binaries = binaries
        # reads a library the scan did not analyse (one found in a --root), so its own NEEDED are followed too
        self.loader = loader
        self.provided = dict(provided or {})  # paths supplied from outside (a container runtime), and by whom
        self.problems: dict[str, str] = {}  # symlink path -> what is wrong with it (loop, escape)
        self._conf_dirs: list[str] | None = None
        self._musl_dirs: dict[str, list[str]] = {}
        self._found: dict[str, str | None] = {}  # path -> what _find gave: one lookup per path and container

    # ---- the filesystem ----------------------------------------------------------------------------------------

    def _find(self, path: str) -> str | None:
        """The final path of an existing regular file (links followed inside the root), or None. Remembered per
        path: a container's binaries ask for the same few libraries hundreds of times (the problems a lookup
        notes are the same each time)."""
        if path in self._found:
            return self._found[path]
        found = self._found[path] = self._look_up(path)
        return found

    def _look_up(self, path: str) -> str | None:
        res = self.view.resolve(path)
        for link in res.escapes:
            self.problems.setdefault(link, "symbolic link target climbs above the root; resolved inside the tree "
                                           "as a chroot would")
        if res.problem == "loop":
            self.problems.setdefault(norm(path), "symbolic link loop (more than 40 links)")
            return None
        if res.node is None or res.node.type != FILE:
            return None
        return res.path

    def _exists(self, path: str, kind: str) -> str | None:
        res = self.view.resolve(path)
        if res.problem == "loop":
            self.problems.setdefault(norm(path), "symbolic link loop (more than 40 links)")
        if res.node is None:
            return None
        if kind == "dir" and res.node.type != "dir":
            return None
        if kind == "file" and res.node.type == "dir":
            return None
        return res.path

    # ---- the loader's search path ------------------------------------------------------------------------------

    def conf_dirs(self) -> list[str]:
        """Directories listed in the tree's /etc/ld.so.conf (see :func:`ld_so_conf_dirs`)."""
        if self._conf_dirs is None:
            self._conf_dirs = ld_so_conf_dirs(self.view)
        return self._conf_dirs

    def system_dirs(self, b: Binary) -> list[str]:
        arch = ARCH_ALIASES.get(b.arch, b.arch)
        out = []
        triplet = MULTIARCH.get((arch, b.bits))
        if triplet:
            out += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
        if b.bits == 64:
            out += ["/lib64", "/usr/lib64"]
        return out + ["/lib", "/usr/lib"]

    def musl_dirs(self, interpreter: str) -> list[str]:
        name = posixpath.basename(interpreter)  # ld-musl-x86_64.so.1
        arch = name[len("ld-musl-"):].split(".so", 1)[0] if name.startswith("ld-musl-") else ""
        if arch not in self._musl_dirs:
            data = self.view.read_bytes(f"/etc/ld-musl-{arch}.path", 64 * 1024)
            if data is not None:
                dirs = [norm(d) for d in data.decode("utf-8", "replace").replace(":", "\n").split() if d.startswith("/")]
            else:
                dirs = ["/lib", "/usr/local/lib", "/usr/lib"]
            self._musl_dirs[arch] = dirs
        return self._musl_dirs[arch]

    @staticmethod
    def expand(entry: str, origin: str, b: Binary) -> str:
        lib = "lib64" if b.bits == 64 else "lib"
        arch = ARCH_ALIASES.get(b.arch, b.arch)
        for token, value in (("ORIGIN", origin), ("LIB", lib), ("PLATFORM", arch)):
            entry = entry.replace("${" + token + "}", value).replace("$" + token, value)
        return entry if entry.startswith("/") else "/" + entry  # relative entries are relative to the cwd: '/'

    def _binary_at(self, path: str) -> Binary | None:
        got = self.binaries.get(path)
        if got is None and self.loader is not None:
            got = self.loader(path)
        return got

    def _compatible(self, path: str, want: Binary) -> bool:
        other = self._binary_at(path)
        if other is None:
            return True  # not analysed (not an ELF we read): the loader would try it
        return other.format == want.format and other.bits == want.bits and other.arch == want.arch

    def search(self, name: str, b: Binary, origin: str, rpath: list[str], runpath: list[str],
               interpreter: str | None, inherited: list[str] | None = None) -> str | None:
        """``inherited``: the expanded DT_RPATH directories of the objects that loaded ``b``, searched after
        its own DT_RPATH when it has no DT_RUNPATH (glibc's _dl_map_object walks l_loader; musl walks needed_by)."""
        if "/" in name:
            found = self._find(self.expand(name, origin, b))
            return found
        dirs: list[str] = []
        if not runpath:
            dirs += [self.expand(e, origin, b) for e in rpath if e]
            dirs += inherited or []
        dirs += [self.expand(e, origin, b) for e in runpath if e]
        if interpreter and "ld-musl" in interpreter:
            dirs += self.musl_dirs(interpreter)
        else:
            dirs += self.conf_dirs() + self.system_dirs(b)
        seen: set[str] = set()
        for d in dirs:
            if d in seen:
                continue
            seen.add(d)
            found = self._find(posixpath.join(d, name))
            if found and self._compatible(found, b):
                return found
        return None

    # ---- one binary ---------------------------------------------------------------------------------------------

    def resolve(self, b: Binary, path: str) -> Resolution:
        """``path`` is where the binary sits in the view ('/usr/local/bin/app')."""
        if b.format == "elf":
            interp, interp_found, libs, missing = self._elf(b, path)
        else:
            interp, interp_found = None, None
            libs, missing = self._foreign(b, path)
        files, missing_files = self._files(b)
        return Resolution(self_contained=interp_found is not False and not missing and not missing_files,
                          interpreter=interp, interpreter_found=interp_found, libraries=libs,
                          missing_libraries=missing, files=files, missing_files=missing_files)

    def _elf(self, b: Binary, path: str) -> tuple[str | None, bool | None, list[ResolvedLibrary], list[str]]:
        link = b.linkage
        interp = link.interpreter
        interp_found: bool | None = None
        if interp:
            interp_found = self._find(interp) is not None
        libs: list[ResolvedLibrary] = []
        resolved: dict[str, str | None] = {}  # soname -> path; the loader loads a soname once
        queue: list[tuple[Binary, str, str | None, int, list[str]]] = [(b, path, None, 0, [])]
        while queue:
            obj, obj_path, parent, depth, inherited = queue.pop(0)
            origin = posixpath.dirname(obj_path)
            passed = inherited if obj.linkage.runpath else \
                [self.expand(e, origin, obj) for e in obj.linkage.rpath if e] + inherited
            for name in obj.linkage.needed:
                if resolved.get(name):
                    continue
                found = self.search(name, obj, origin, obj.linkage.rpath, obj.linkage.runpath, interp, inherited)
                if name in resolved and found is None:
                    continue
                resolved[name] = found
                libs.append(ResolvedLibrary(name, found, needed_by=parent))
                child = self._binary_at(found) if found else None
                if found and child is not None and depth < MAX_DEPTH and child.linkage.needed:
                    queue.append((child, found, posixpath.basename(found), depth + 1, passed))
        # a name missing along one path but found along another (another RUNPATH) is loaded once found
        libs = [e for e in libs if e.path is not None or resolved.get(e.name) is None]
        missing = [e.name for e in libs if e.path is None]
        return interp, interp_found, libs, missing

    def _foreign(self, b: Binary, path: str) -> tuple[list[ResolvedLibrary], list[str]]:
        """PE: non-system DLLs are looked for beside the .exe (case-insensitively). Mach-O: non-system dylibs
        through @executable_path, @loader_path, @rpath and absolute paths."""
        origin = posixpath.dirname(path)
        libs: list[ResolvedLibrary] = []
        missing: list[str] = []
        for lib in b.linkage.libraries:
            if lib.system:
                continue
            found: str | None = None
            if b.format == "pe":
                want = lib.name.lower()
                for n in self.view.listdir(origin):
                    if n.lower() == want:
                        found = self._find(posixpath.join(origin, n))
                        break
            else:
                candidates = []
                if lib.name.startswith("@rpath/"):
                    rest = lib.name[len("@rpath/"):]
                    for rp in b.linkage.rpath:
                        candidates.append(posixpath.join(rp.replace("@executable_path", origin)
                                                         .replace("@loader_path", origin), rest))
                else:
                    candidates.append(lib.name.replace("@executable_path", origin).replace("@loader_path", origin))
                for c in candidates:
                    found = self._find(c if c.startswith("/") else posixpath.join(origin, c))
                    if found:
                        break
            libs.append(ResolvedLibrary(lib.name, found))
            if found is None:
                missing.append(lib.name)
        return libs, missing

    def _files(self, b: Binary) -> tuple[list[ResolvedFile], list[str]]:
        files: list[ResolvedFile] = []
        missing: list[str] = []
        for need in b.needs or []:
            if need.kind not in ("file", "dir"):
                continue
            found = None
            for i, candidate in enumerate([need.what, *need.alternatives]):
                if candidate.startswith("$"):
                    continue  # an environment variable naming a path: nothing to look up in the image
                found = self._exists(candidate, need.kind if i == 0 else "any")
                if found:
                    break
            entry = ResolvedFile(path=need.what, kind=need.kind, found=found, required=need.required, why=need.why,
                                 alternatives=list(need.alternatives))
            if found is None and need.what in self.provided:
                entry.provided_by = self.provided[need.what]
                found = need.what
            files.append(entry)
            if found is None and need.required and need.what not in missing:
                missing.append(need.what)
        return files, missing


def adopt_from_loaders(resolutions: list[tuple[str, Resolution]]) -> None:
    """A library of a package is loaded by the package's own programs: a NEEDED it cannot find on its own search
    path but that its loaders' search finds (their DT_RPATH, followed down the chain, or a soname they load first)
    is found for it too, marked ``via = "loader"`` — what auditwheel's vendored ``.libs`` rely on.
    ``resolutions`` are (in-view path, resolution) of every binary of one container."""
    loaded_by: dict[str, list[Resolution]] = {}
    for _, res in resolutions:
        for e in res.libraries:
            if e.path:
                loaded_by.setdefault(e.path, []).append(res)
    for vpath, res in resolutions:
        loaders = loaded_by.get(vpath)
        if not loaders or not res.missing_libraries:
            continue
        for e in res.libraries:
            if e.path is not None:
                continue
            for lr in loaders:
                hit = next((x.path for x in lr.libraries if x.name == e.name and x.path), None)
                if hit:
                    e.path, e.via = hit, "loader"
                    break
        res.update_self_contained()
