"""``scan``: every executable in files, directory trees, archives and container images, with what each needs resolved
inside its own package or image, and the release's checksum manifest verified.

How a scan runs:

* Inputs are read one after another in the main process. A directory is walked (symlinks not followed), an archive
  or image is read in place (``sources/``); members are recognised as executables or nested archives by magic.
* Each executable is analysed by the same pipeline as ``inspect``, in a pool of worker processes (``jobs``; 1 runs
  everything here). A content-hash cache (sha256, and the inode first for files on disk) means identical files — hard
  links, the same layer twice, the same binary in two archives — are analysed once.
* At most a few tasks per worker are in flight and member bytes above ``Limits.spool_over`` wait in a temp file in a
  private directory, so memory stays bounded however large the image.
* When a container's analyses are in, each binary's ``resolution`` is computed against the container's filesystem
  view (``analysis/resolution.py``) and the container is emitted; containers come out in input order.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from depfree.analysis.context import Options
from depfree.errors import DepfreeError, NotABinaryError
from depfree.model import Binary, FileError, Report
from depfree.sources import checksums as checksums_mod
from depfree.sources.archive import COMPRESSED, ArchiveError, Limits, classify, index_ar, index_tar, index_zip, peek_tar
from depfree.sources.blob import Blob
from depfree.sources.fsview import DirView, FsView, IndexView, SingleFileView
from depfree.targets.context import judge_in_package

if TYPE_CHECKING:
    from depfree.analysis.resolution import Resolver
    from depfree.targets.context import Package

Progress = Callable[[int, int, str], None]  # (binaries done, binaries found so far, what is being read)

KINDS_ROOTFS = ("oci", "docker-archive", "deb")  # members shown with absolute paths: they are a root filesystem


# ---- worker side --------------------------------------------------------------------------------------------------

_WORKER_OPTIONS = Options()


def _init_worker(options: Options) -> None:
    """A worker ignores Ctrl-C (the terminal sends it to the whole process group: the main process alone decides,
    and terminates the pool) and dies quietly on the SIGTERM of ``Pool.terminate``."""
    global _WORKER_OPTIONS
    _WORKER_OPTIONS = options
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def analyse_blob(blob: Blob, name: str, options: Options | None = None) -> tuple[list[Binary], str | None]:
    """Facts for the executables in one blob, or an error message; never raises for bad input."""
    from depfree.analysis.pipeline import analyze, sha256_of
    from depfree.formats.detect import open_executables

    options = options or _WORKER_OPTIONS
    try:
        src = blob.source(name)
    except DepfreeError as exc:
        return [], _strip(str(exc), name)
    try:
        digest = blob.digest or sha256_of(src)
        return [analyze(exe, options, sha256=digest, display_path=name) for exe in open_executables(src)], None
    except NotABinaryError:
        return [], None  # the magic matched but the file is not one (a DOS text starting "MZ"): not an executable
    except DepfreeError as exc:
        return [], _strip(str(exc), name)
    except (MemoryError, RecursionError) as exc:
        return [], f"cannot analyse: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - one broken file must not end a scan of thousands
        return [], f"internal error while analysing ({type(exc).__name__}: {exc})"
    finally:
        src.close()


def _work(args: tuple[Blob, str]) -> tuple[list[Binary], str | None]:
    return analyse_blob(*args)


@dataclass
class Indexed:
    """An archive indexed in a worker, replayed onto its container in the main process: the container kind, the
    index (None when no executable was found: nothing will be resolved against it), the number of files, per-entry
    errors (member, message), a reason when the archive could not be read to the end, and the executables found."""

    kind: str
    view: IndexView | None
    files: int
    errors: list[tuple[str, str]]
    failure: str | None
    found: list[tuple[str, Blob]]


class _Recorder:
    """The sink of an archive indexed in a worker: executables only (the archive is the last level entered),
    their bytes kept in memory up to ``MEMORY_BUDGET`` and spooled to files in the scan's spool directory beyond."""

    MEMORY_BUDGET = 64 << 20

    def __init__(self, limits: Limits, spool: str) -> None:
        self.limits = limits
        self.spool = spool
        self.errors: list[tuple[str, str]] = []
        self.found_members: list[tuple[str, Blob]] = []
        self.in_memory = 0

    def error(self, name: str, message: str) -> None:
        self.errors.append((name, message))

    def wants(self, kind: str) -> bool:
        return kind == "exe"

    def found(self, name: str, blob: Blob, kind: str) -> object:
        self.found_members.append((name, blob))
        return len(self.found_members)  # the token Container.found gives the n-th executable

    def capture(self, fh: IO[bytes], size: int) -> Blob:
        in_memory = size <= self.limits.spool_over and self.in_memory + size <= self.MEMORY_BUDGET
        self.in_memory += size if in_memory else 0
        return capture(fh, size, self.spool, in_memory)


def index_archive(blob: Blob, kind: str, limits: Limits, spool: str) -> Indexed:
    """Index a zip, ar/deb or tar in a worker; never raises for bad input."""
    rec = _Recorder(limits, spool)
    view = IndexView()
    failure = None
    try:
        kind = index_into(blob, kind, rec, view)
    except ArchiveError as exc:
        failure = str(exc)
    except (MemoryError, RecursionError) as exc:
        failure = f"cannot read the archive: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - one broken archive must not end a scan
        failure = f"internal error while reading the archive ({type(exc).__name__}: {exc})"
    return Indexed(kind, view if rec.found_members else None, view.count(), rec.errors, failure, rec.found_members)


def index_into(blob: Blob, kind: str, sink: Any, view: IndexView) -> str:
    """Fill ``view`` from the archive ``blob`` of ``kind`` (as :func:`classify` names it); the container kind."""
    if kind == "zip":
        index_zip(blob, sink, view)
        return "zip"
    if kind in ("ar", "deb"):
        return index_ar(blob, sink, view)
    index_tar(blob, kind, sink, view)
    return "tar"


def capture(fh: IO[bytes], size: int, spool: str | Callable[[], str], in_memory: bool) -> Blob:
    """Read a streamed member into memory, or into a temp file in the spool directory; its sha256 on the way."""
    h = hashlib.sha256()
    if in_memory:
        data = _read_exact(fh, size)
        h.update(data)
        return Blob.of_bytes(data, h.hexdigest())
    fd, path = tempfile.mkstemp(dir=spool if isinstance(spool, str) else spool(), prefix="member-")
    got = 0
    with os.fdopen(fd, "wb") as out:
        while got < size:
            chunk = fh.read(min(1 << 20, size - got))
            if not chunk:
                break
            out.write(chunk)
            h.update(chunk)
            got += len(chunk)
    if got != size:
        os.unlink(path)
        raise EOFError(f"member data ends after {got:,} of {size:,} bytes")
    return Blob(path, 0, size, temporary=True, digest=h.hexdigest())


def _strip(msg: str, path: str) -> str:
    return msg[len(path) + 2 :] if msg.startswith(path + ": ") else msg


# ---- the task pool ------------------------------------------------------------------------------------------------

class Task:
    """One analysis: run in the pool or here; ``get`` waits for it. Shared by every path with the same content."""

    def __init__(self, engine: Engine, blob: Blob, name: str) -> None:
        self.blob: Blob | None = blob  # dropped once analysed: the cache must not keep member bytes alive
        self.digest = blob.digest  # None until another blob of the same size makes it worth computing
        # where the bytes can be read again to hash them later: files on disk (never temp files or memory)
        self.origin = blob if blob.data is None and not blob.temporary else None
        self.memory = blob.size if blob.data is not None else 0
        self.engine = engine
        self._result: tuple[list[Binary], str | None] | None = None
        self._async: Any = None
        self.uses = 0
        self.fingerprint: int | None = None  # Blob.fingerprint of the origin, once another file has its size
        if engine.pool is None:
            self._result = analyse_blob(blob, name, engine.options)
            self._cleanup()
        else:
            self._async = engine.pool.apply_async(_work, ((blob.detached(), name),))

    def ready(self) -> bool:
        return self._result is not None or self._async.ready()

    def get(self) -> tuple[list[Binary], str | None]:
        if self._result is None:
            self._result = self._async.get()
            self._async = None
            self._cleanup()
        return self._result

    def _cleanup(self) -> None:
        if self.blob is not None and self.blob.temporary and self.blob.path:
            try:
                os.unlink(self.blob.path)
            except OSError:
                pass
        self.blob = None
        self.engine.done += 1
        self.engine.notify("")


class Executor(Protocol):
    """What the engine needs of its pool, as ``multiprocessing.Pool`` has it: ``apply_async(func, args)`` returns a
    handle with ``ready()`` and ``get()``; ``terminate()`` and ``join()`` end it. ``iter_scan(executor=...)`` puts
    another one in place of the local pool (``scan_dask.py`` sends the analyses of a large container to a Dask
    cluster in batches)."""

    def apply_async(self, func: Callable[..., Any], args: tuple[Any, ...]) -> Any: ...

    def terminate(self) -> None: ...

    def join(self) -> None: ...


class Engine:
    """The worker pool, the content cache, the spool directory and the in-flight bound."""

    def __init__(self, jobs: int | None, options: Options, limits: Limits, progress: Progress | None,
                 executor: Executor | None = None) -> None:
        self.options = options
        self.limits = limits
        self.progress = progress
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.pool: Any = executor  # another executor in place of the local pool (see Executor)
        if executor is None and self.jobs > 1:
            _prewarm()  # imported and parsed once here, inherited by the forked workers
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            self.pool = ctx.Pool(self.jobs, initializer=_init_worker, initargs=(options,))
        self.cache: dict[object, Task] = {}  # ("sha256", hex) or an alias (("inode", (dev, ino))) -> its task
        self.by_size: dict[int, list[Task]] = {}  # analysed blobs by size: only equal sizes need a content hash
        self.inflight: deque[Task] = deque()
        self.inflight_bytes = 0
        self.max_inflight = self.jobs * 4096  # files on disk cost nothing while queued; member bytes are bounded below
        self.max_inflight_bytes = 128 << 20
        self.found = 0
        self.done = 0
        self.current = ""
        self._spool: str | None = None
        self.root: str | None = None  # --root: the machine the packages land on
        self.deb_shlibs: dict[str, tuple[str, str]] = {}  # soname -> (package, where) from the .debs scanned
        self._root_shlibs: dict[str, tuple[str, str]] | None = None

    def dpkg_shlibs(self) -> dict[str, tuple[str, str]]:
        """soname -> package from the dpkg database of --root (or of this machine, as dpkg-shlibdeps reads it)."""
        if self._root_shlibs is None:
            from depfree.sources.dpkg import info_shlibs

            root = self.root or "/"
            self._root_shlibs = info_shlibs(DirView(root), root)
        return self._root_shlibs

    @property
    def spool_dir(self) -> str:
        if self._spool is None:
            self._spool = tempfile.mkdtemp(prefix="depfree-scan-")
        return self._spool

    def notify(self, what: str) -> None:
        if what:
            self.current = what
        if self.progress:
            self.progress(self.done, self.found, self.current)

    def submit(self, blob: Blob, name: str, alias: object | None = None) -> Task:
        """Analyse ``blob`` unless the same file (``alias``: an inode) or the same content was seen.

        Content is compared by sha256, but only between blobs that may be copies: same size and, for files on disk,
        the same sampled bytes (:meth:`Blob.fingerprint`). Any other file's hash is left to the worker that analyses
        it (in parallel) instead of being computed here, one file after another."""
        if alias is not None and alias in self.cache:
            return self.cache[alias]
        if blob.digest is None and blob.data is not None:  # bytes in memory: hashed here, cheaply
            blob = dataclasses.replace(blob, digest=blob.sha256())
        fingerprint = None
        if blob.digest is None and blob.size in self.by_size:
            fingerprint = blob.fingerprint()
        suspects = self._suspects(blob, fingerprint)
        if blob.digest is None and suspects:
            blob = dataclasses.replace(blob, digest=blob.sha256())
            for earlier in suspects:
                if earlier.digest is None:
                    assert earlier.origin is not None
                    earlier.digest = earlier.origin.sha256()
                    self.cache.setdefault(("sha256", earlier.digest), earlier)
        task = self.cache.get(("sha256", blob.digest)) if blob.digest is not None else None
        if task is None:
            self.found += 1
            self._make_room(blob)
            task = Task(self, blob, name)
            task.fingerprint = fingerprint
            self.by_size.setdefault(blob.size, []).append(task)
            if blob.digest is not None:
                self.cache[("sha256", blob.digest)] = task
            if task._async is not None:
                self.inflight.append(task)
                self.inflight_bytes += task.memory
        if alias is not None:
            self.cache[alias] = task
        return task

    def _suspects(self, blob: Blob, fingerprint: int | None) -> list[Task]:
        """Earlier analyses of the same size whose content may equal ``blob``'s (all of them when ``blob`` or an
        earlier one is not a file on disk, which has no fingerprint to compare, only its hash)."""
        earlier = self.by_size.get(blob.size, [])
        if fingerprint is None:
            return earlier
        out = []
        for t in earlier:
            if t.origin is not None and t.fingerprint is None:
                t.fingerprint = t.origin.fingerprint()
            if t.origin is None or t.fingerprint == fingerprint:
                out.append(t)
        return out

    def _make_room(self, blob: Blob) -> None:
        extra = blob.size if blob.data is not None else 0
        while self.inflight and (len(self.inflight) >= self.max_inflight
                                 or self.inflight_bytes + extra > self.max_inflight_bytes):
            self._retire(wait=True)
        self._retire(wait=False)

    def _retire(self, wait: bool) -> None:
        while self.inflight and (wait or self.inflight[0].ready()):
            t = self.inflight.popleft()
            t.get()
            self.inflight_bytes -= t.memory
            wait = False

    def capture(self, fh: IO[bytes], size: int) -> Blob:
        """A streamed member in memory when small, else in a temp file in the spool directory."""
        return capture(fh, size, lambda: self.spool_dir, size <= self.limits.spool_over)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None


def _prewarm() -> None:
    """Import the readers and analyzers and parse the knowledge files before forking, so that workers do not each
    do it again."""
    import depfree.analysis.linkage  # noqa: F401
    import depfree.analysis.pipeline  # noqa: F401
    import depfree.formats.elf  # noqa: F401
    from depfree.datafiles import load

    for name in ("glibc.toml", "hardening.toml", "packers.toml", "stdlib_needs.toml", "go_versions.toml",
                 "targets.toml", "fortify.toml"):
        load(name)


def _read_exact(fh: IO[bytes], size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = fh.read(size - got)
        if not chunk:
            raise EOFError(f"member data ends after {got:,} of {size:,} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# ---- containers ---------------------------------------------------------------------------------------------------

@dataclass
class Member:
    name: str  # as shown after '!'
    task: Task


@dataclass
class Container:
    """One package, archive, image or tree being scanned: the sink its reader reports to."""

    engine: Engine
    path: str  # display path ('release.tar.gz', 'a.tar.gz!inner.zip')
    kind: str
    depth: int  # how many more levels of nested archives may be entered
    view: FsView = field(default_factory=IndexView)
    members: dict[int, Member] = field(default_factory=dict)
    nested: list[tuple[str, Blob, str]] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    files: int = 0
    # (in-view path, display name, task) of a tree's or a single file's executables
    disk_members: list[tuple[str, str, Task]] = field(default_factory=list)
    indexing: Any = None  # the pool's handle while the archive is being indexed in a worker (see Indexed)
    deb: Any = None  # sources.dpkg.DebControl of a .deb

    @property
    def limits(self) -> Limits:
        return self.engine.limits

    def error(self, name: str, message: str) -> None:
        self.errors.append(FileError(path=f"{self.path}!{name}", error=message))

    def wants(self, kind: str) -> bool:
        """Executables always; nested archives while depth remains, except static libraries (``.a``: object files
        for a linker, not something that is deployed)."""
        return kind == "exe" or (self.depth > 0 and kind != "ar")

    def found(self, name: str, blob: Blob, kind: str) -> object:
        if kind != "exe":
            self.nested.append((name, blob, kind))
            return None
        token = len(self.members) + 1
        self.members[token] = Member(name, self.engine.submit(blob, f"{self.path}!{name}"))
        self.engine.notify(self.path)
        return token

    def capture(self, fh: IO[bytes], size: int) -> Blob:
        return self.engine.capture(fh, size)

    def settle(self) -> None:
        """Take in the index built by a worker (waiting for it): errors, counts, and the executables found, which are
        submitted for analysis now."""
        handle, self.indexing = self.indexing, None
        try:
            got: Indexed = handle.get()
        except Exception as exc:  # noqa: BLE001 - the result could not come back (a worker died): report it
            self.errors.append(FileError(path=self.path, error=f"cannot read the archive ({type(exc).__name__})"))
            return
        self.kind = got.kind
        self.files = got.files
        for name, message in got.errors:
            self.error(name, message)
        if got.failure:
            self.errors.append(FileError(path=self.path, error=got.failure))
        if got.view is not None:
            self.view = got.view
        for i, (name, blob) in enumerate(got.found, 1):
            token = self.found(name, blob, "exe")
            assert token == i  # the worker numbered the executables in the view as found() does

    # ---- results --------------------------------------------------------------------------------------------

    def ready(self) -> bool:
        if self.indexing is not None:
            if not self.indexing.ready():
                return False
            self.settle()
        return all(m.task.ready() for m in self.members.values()) and all(
            t.ready() for _, _, t in self.disk_members)

    def finish(self) -> tuple[dict[str, Any], list[Binary]]:
        """Collect the analyses of the files that are still there in the final view, resolve them, summarise."""
        if self.indexing is not None:
            self.settle()
        placed: list[tuple[str, str, Task]] = list(self.disk_members)
        if isinstance(self.view, IndexView) and self.members:  # (a jar of classes has none: nothing to place)
            rooted = self.kind in KINDS_ROOTFS
            for vpath, node in self.view.files():
                m = self.members.get(node.token) if isinstance(node.token, int) else None
                if m is not None:
                    placed.append((vpath, f"{self.path}!{vpath if rooted else vpath.lstrip('/')}", m.task))
        binaries: list[Binary] = []
        by_path: dict[str, Binary] = {}
        where: list[tuple[Binary, str]] = []
        for vpath, shown, task in placed:
            bins, err = task.get()
            if err:
                self.errors.append(FileError(path=shown, error=err))
            task.uses += 1
            for b in bins:
                if task.uses > 1 or b.path != shown:
                    b = copy.deepcopy(b)
                    b.path = shown
                    for verdict in b.targets or []:  # the target verdicts name the binary too
                        verdict.binary = shown
                binaries.append(b)
                by_path.setdefault(vpath, b)
                where.append((b, vpath))
        from depfree.analysis.resolution import adopt_from_loaders

        resolver, pkg = self._judgement(by_path)
        for b, vpath in where:
            b.resolution = resolver.resolve(b, vpath)
        adopt_from_loaders([(vpath, b.resolution) for b, vpath in where if b.resolution is not None])
        for b, _ in where:
            judge_in_package(b, pkg)
        for link, problem in sorted(resolver.problems.items()):
            self.errors.append(FileError(path=f"{self.path}!{link}", error=problem))
        return self.record(binaries), binaries

    def context_kind(self) -> str:
        """Which rule of data/contexts.toml judges this container's binaries."""
        from depfree.targets.context import rootfs_markers

        if self.kind in ("oci", "docker-archive", "deb"):
            return self.kind
        if self.engine.root is not None:
            return "root"
        if self.kind in ("dir", "tar", "zip") and any(self.view.exists(m) for m in rootfs_markers()):
            return "rootfs"
        if self.kind == "zip" and self.path.endswith(".whl"):
            from depfree.targets.wheel import parse_wheel_name

            if parse_wheel_name(self.path) is not None:  # (a .whl without PEP 427's name: an ordinary zip)
                return "wheel"
        return self.kind

    def _judgement(self, by_path: dict[str, Binary]) -> tuple[Resolver, Package]:
        """The resolver (its view: the package, laid over --root in the root context) and what the judgement knows
        of the package (its context rule, a .deb's Depends and shlibs, a wheel's tag)."""
        from depfree.analysis.resolution import Resolver
        from depfree.targets.context import Package, rule_for, runtime_files

        kind = self.context_kind()
        rule = rule_for(kind)
        pkg = Package(rule, targets_chosen=self.engine.options.targets is not None)
        view = self.view
        loader = None
        root = self.engine.root
        if kind == "root" and root is not None:
            from depfree.analysis.rootlibs import library_loader
            from depfree.sources.rootview import LayeredView

            lower = DirView(root)
            if not (isinstance(view, DirView) and view.root == lower.root):
                view = LayeredView(view, lower)
                loader = library_loader(lower, skip=view.in_upper)
            else:
                loader = library_loader(lower, skip=by_path.__contains__)
        if kind == "deb" and self.deb is not None:
            pkg.package_name = self.deb.package
            pkg.depends = self.deb.depends()
            shlibs = dict(self.engine.dpkg_shlibs())
            shlibs.update(self.engine.deb_shlibs)
            shlibs.update({so: (p, f"the shlibs/symbols of {self.deb.package}") for so, p in self.deb.shlibs.items()})
            pkg.shlibs = shlibs
        if kind == "wheel":
            from depfree.targets.wheel import parse_wheel_name

            pkg.wheel = parse_wheel_name(self.path)
            if pkg.wheel is not None:
                self.extra["wheel"] = {"tag": pkg.wheel.tag}
        self.extra["context"] = rule.name
        provided = runtime_files() if rule.provided else None
        return Resolver(view, by_path, provided, loader=loader), pkg

    def record(self, binaries: list[Binary]) -> dict[str, Any]:
        res = [b.resolution for b in binaries]
        n_missing_interp = sum(1 for r in res if r is not None and r.interpreter_found is False)
        n_missing_libs = sum(1 for r in res if r is not None and r.missing_libraries)
        n_missing_files = sum(1 for r in res if r is not None and r.missing_files)
        contained = sum(1 for r in res if r is not None and r.self_contained)
        verdicts = [(r.verdict if r is not None else None) or "ok" for r in res]
        counts = {v: verdicts.count(v) for v in ("ok", "warn", "fail")}
        rec: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "files": self.files,
            "binaries": len(binaries),
            "self_contained": (contained == len(binaries)) if binaries else None,
            "verdict": ("fail" if counts["fail"] else "warn" if counts["warn"] else "ok") if binaries else None,
            "summary": {"self_contained": contained, "not_self_contained": len(binaries) - contained,
                        "missing_interpreter": n_missing_interp, "missing_libraries": n_missing_libs,
                        "missing_files": n_missing_files, **counts},
            "errors": len(self.errors),
        }
        rec.update(self.extra)
        return rec


@dataclass
class ScanResult:
    """One container as it comes out of :func:`iter_scan`, in input order."""

    container: dict[str, Any]
    binaries: list[Binary]
    errors: list[FileError]
    view: FsView | None = None  # the container's filesystem (for later stages: sbom reads its dpkg database)


class Scanner:
    def __init__(self, engine: Engine, depth: int, checksums: str | None) -> None:
        self.engine = engine
        self.depth = depth
        self.checksums = checksums
        self.pending: deque[Container | FileError] = deque()  # containers and unreadable inputs, in input order
        self.indexing: deque[Container] = deque()  # archives being indexed in the pool, in the order sent

    # Each reader fills a Container; nested archives found in it are read right after it.
    def read_input(self, path: str) -> None:
        path = os.fspath(path)
        manifests = [self.checksums] if self.checksums else checksums_mod.find_manifests(path)
        first = len(self.pending)
        if os.path.isdir(path) and not os.path.islink(path):
            from depfree.sources.image import is_image_dir

            if is_image_dir(path):
                self._read_image_dir(path)
            else:
                self._read_tree(path)
        else:
            blob = self._open_file(path)
            if blob is None:
                return
            self._read_blob(path, blob, self.depth, top=True)
        if manifests:
            try:
                result = checksums_mod.verify(path, manifests)
            except DepfreeError as exc:
                self._error(path, _strip(str(exc), path))
                result = None
            heads = [c for c in list(self.pending)[first:] if isinstance(c, Container)]
            if result is not None and heads:
                heads[0].extra["checksums"] = result

    def _open_file(self, path: str) -> Blob | None:
        from depfree.sources.file import FileSource

        try:
            with FileSource(path) as src:
                size = src.size
        except DepfreeError as exc:
            self._error(path, _strip(str(exc), path))
            return None
        return Blob.of_file(path, size)

    def _error(self, path: str, message: str) -> None:
        self.pending.append(FileError(path=path, error=message))

    def _push(self, c: Container) -> None:
        self.pending.append(c)
        nested, c.nested = c.nested, []
        for name, blob, _kind in nested:
            self._read_blob(f"{c.path}!{name}", blob, c.depth - 1, top=False)

    def _read_tree(self, root: str) -> None:
        from depfree.sources.tree import TreeFile, walk

        c = Container(self.engine, root, "dir", self.depth, view=DirView(root))
        prefix = ""
        if self.engine.root is not None:
            from depfree.sources.rootview import inside

            at = inside(root, self.engine.root)
            if at is not None:  # a tree inside --root: resolved in the root, where it really sits
                c.view, prefix = DirView(self.engine.root), at.rstrip("/")
        archives: list[TreeFile] = []

        def on_error(p: str, msg: str) -> None:
            c.errors.append(FileError(path=p, error=msg))

        for item in walk(root, on_error):
            if isinstance(item, int):
                c.files += item
                continue
            c.files += 1
            if item.kind == "exe":
                task = self.engine.submit(Blob.of_file(item.path, item.size), item.path, ("inode", item.inode))
                c.disk_members.append((prefix + item.rel, item.path, task))
                self.engine.notify(item.path)
            elif self.depth > 0 and item.kind != "ar":
                archives.append(item)
        self.pending.append(c)
        for a in archives:
            self._read_blob(a.path, Blob.of_file(a.path, a.size), self.depth - 1, top=False)

    def _read_blob(self, path: str, blob: Blob, depth: int, top: bool) -> None:
        kind = classify(blob.head(512))
        if kind == "exe":
            c = Container(self.engine, path, "file", depth, view=SingleFileView(os.path.basename(path), blob.size))
            c.files = 1
            key = None
            if blob.path and not blob.temporary and blob.offset == 0:
                st = os.stat(blob.path)
                key = ("inode", (st.st_dev, st.st_ino))
            vpath = "/" + os.path.basename(path)
            if self.engine.root is not None and top:
                from depfree.sources.rootview import inside

                at = inside(path, self.engine.root)
                if at is not None:
                    c.view, vpath = DirView(self.engine.root), at
            c.disk_members.append((vpath, path, self.engine.submit(blob, path, key)))
            self.pending.append(c)
            return
        if kind in COMPRESSED and not peek_tar(blob, kind, self.engine.limits):
            if top:
                self._error(path, f"a {kind} stream that does not hold a tar archive")
            return
        if kind is None:
            if top:
                head = blob.head(4).hex(" ") or "an empty file"
                self._error(path, "not an executable (ELF, PE, Mach-O) nor an archive (tar, zip, deb, OCI, "
                                  f"docker-archive): found {head}")
            return
        if kind == "tar":
            from depfree.sources.image import find_images, is_image_tar, tar_blobs

            members = tar_blobs(blob)
            if members is not None and is_image_tar(members):
                try:
                    images = find_images(members.get, members)
                except ArchiveError as exc:
                    self._error(path, f"not a usable image: {exc}")
                    return
                self._read_images(path, images, depth)
                return
        c = Container(self.engine, path, "tar" if kind in ("tar", *COMPRESSED) else kind, depth)
        if kind == "deb":
            self._read_control(c, blob)
        if kind in COMPRESSED:
            c.extra["compression"] = kind
        if self.engine.pool is not None and depth == 0 and blob.data is None:
            # The last level entered, on disk (the jars and packages of a tree): indexed in the pool, in parallel
            # with everything else; what it holds is taken in when the container is next looked at.
            if len(self.indexing) >= self.engine.max_inflight:  # bounded like the analyses: take the oldest in
                oldest = self.indexing.popleft()
                if oldest.indexing is not None:
                    oldest.settle()
            c.indexing = self.engine.pool.apply_async(index_archive, (blob, kind, self.engine.limits,
                                                                      self.engine.spool_dir))
            self.pending.append(c)
            self.indexing.append(c)
            return
        assert isinstance(c.view, IndexView)
        try:
            c.kind = index_into(blob, kind, c, c.view)
        except ArchiveError as exc:
            c.errors.append(FileError(path=path, error=str(exc)))
        c.files = c.view.count()
        self._push(c)

    def _read_control(self, c: Container, blob: Blob) -> None:
        from depfree.sources.dpkg import DebError, read_deb_control

        try:
            c.deb = read_deb_control(blob)
        except DebError as exc:
            c.errors.append(FileError(path=c.path, error=f"control member: {exc}"))
            return
        c.extra["deb"] = {"package": c.deb.package, "version": c.deb.fields.get("Version"),
                          "depends": c.deb.fields.get("Depends", ""), "pre_depends": c.deb.fields.get("Pre-Depends", "")}

    def read_shlibs(self, paths: list[str]) -> None:
        """The shlibs/symbols of every .deb given, so that packages scanned together satisfy each other's sonames."""
        from depfree.sources.dpkg import DebError, read_deb_control

        for p in paths:
            if not os.path.isfile(p):
                continue
            blob = Blob.of_file(p, os.path.getsize(p))
            if classify(blob.head(512)) != "deb":
                continue
            try:
                control = read_deb_control(blob)
            except DebError:
                continue  # reported when the package itself is read
            for so, pkg in control.shlibs.items():
                self.engine.deb_shlibs.setdefault(so, (pkg, f"the shlibs/symbols of {os.path.basename(p)}"))

    def _read_image_dir(self, root: str) -> None:
        from depfree.sources.image import dir_blobs, find_images

        get = dir_blobs(root)
        names = {n for n in ("manifest.json", "index.json", "oci-layout") if get(n) is not None}
        try:
            images = find_images(get, names)
        except ArchiveError as exc:
            self._error(root, f"not a usable image: {exc}")
            return
        self._read_images(root, images, self.depth)

    def _read_images(self, path: str, images: list[Any], depth: int) -> None:
        from depfree.sources.image import apply_layers

        for i, image in enumerate(images):
            shown = path if len(images) == 1 else f"{path}@{image.name or i}"
            c = Container(self.engine, shown, image.kind, depth)
            assert isinstance(c.view, IndexView)
            self.engine.notify(shown)
            layers = apply_layers(image, c, c.view)
            c.files = c.view.count()
            c.extra["image"] = {"name": image.name, "config": image.config, "layers": layers, **image.info}
            self._push(c)

    def ready(self) -> Iterator[ScanResult]:
        """Finished containers at the head of the queue, in order (does not wait)."""
        self._settle_indexed()
        while self.pending and (isinstance(self.pending[0], FileError) or self.pending[0].ready()):
            yield self._emit(self.pending.popleft())

    def drain(self) -> Iterator[ScanResult]:
        while self.pending:
            self._settle_indexed()
            yield self._emit(self.pending.popleft())

    def _settle_indexed(self) -> None:
        """Take in the archives indexed so far, so that the executables in them go to the pool without waiting for
        the containers before them to be emitted."""
        while self.indexing and (self.indexing[0].indexing is None or self.indexing[0].indexing.ready()):
            c = self.indexing.popleft()
            if c.indexing is not None:
                c.settle()

    def _emit(self, c: Container | FileError) -> ScanResult:
        if isinstance(c, FileError):
            return ScanResult({}, [], [c])
        rec, binaries = c.finish()
        errors = list(c.errors)
        for msg in (rec.get("checksums") or {}).get("errors", []):
            errors.append(FileError(path=c.path, error=f"checksums: {msg}"))
        return ScanResult(rec, binaries, errors, c.view)


def iter_scan(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, jobs: int | None = None,
              depth: int = 1, checksums: str | os.PathLike[str] | None = None, options: Options | None = None,
              progress: Progress | None = None, limits: Limits | None = None,
              root: str | os.PathLike[str] | None = None, executor: Executor | None = None) -> Iterator[ScanResult]:
    """The containers of :func:`scan` one by one, in input order, as soon as each is complete. Inputs that cannot be
    read come out as a :class:`ScanResult` with no container (``container == {}``) and the error. ``root``: judge
    every binary as unpacked onto that root filesystem (libraries, interpreter and files looked up there).
    ``executor`` replaces the local pool (see :class:`Executor`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if checksums is not None:
        checksums_mod.parse_manifest(os.fspath(checksums))  # a bad --checksums is a usage error, raised now
    paths = [os.fspath(p) for p in paths]
    if root is not None and not os.path.isdir(root):
        from depfree.errors import UsageError

        raise UsageError(f"--root {os.fspath(root)}: expected a directory (a root filesystem), found "
                         f"{'a file' if os.path.exists(root) else 'nothing'}")
    engine = Engine(jobs, options or Options(), limits or Limits(), progress, executor)
    engine.root = os.path.abspath(os.fspath(root)) if root is not None else None
    scanner = Scanner(engine, max(0, depth), os.fspath(checksums) if checksums is not None else None)
    try:
        scanner.read_shlibs(paths)
        for p in paths:
            scanner.read_input(os.fspath(p))
            yield from scanner.ready()
        yield from scanner.drain()
    finally:
        engine.close()


def scan(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, jobs: int | None = None,
         depth: int = 1, checksums: str | os.PathLike[str] | None = None, options: Options | None = None,
         progress: Progress | None = None, root: str | os.PathLike[str] | None = None) -> Report:
    """Scan files, directories, archives (tar/gz/bz2/xz/zst, zip, deb) and images (OCI layout, docker save) and
    report every executable in them, each with ``resolution`` against its own container; ``report.containers``
    describes each container (see docs/scan.md). Bad inputs and bad entries go to ``report.errors``."""
    from depfree.api import tool_info

    report = Report(tool=tool_info(), containers=[])
    for res in iter_scan(paths, jobs=jobs, depth=depth, checksums=checksums, options=options, progress=progress,
                         root=root):
        if res.container:
            assert report.containers is not None
            report.containers.append(res.container)
        report.binaries.extend(res.binaries)
        report.errors.extend(res.errors)
    return report


class _CallableModule(types.ModuleType):
    """``depfree.scan`` is this module (``from depfree.scan import scan``) and also callable as ``depfree.scan(paths)``:
    importing a submodule binds its name on the package, so a function of the same name could not stay there."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return scan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
