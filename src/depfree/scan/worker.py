"""The worker side of a scan: what runs in a pool process (or here with ``jobs=1``) — the analysis of one blob and
the indexing of an archive on disk, each turning every failure into a message instead of an exception."""

from __future__ import annotations

import signal
from typing import IO, Any

from depfree.dataclass import dataclass
from depfree.errors import DepfreeError, strip_name
from depfree.model import Binary
from depfree.options import Options
from depfree.scan.spool import capture
from depfree.sources.archive import ArchiveError, Limits
from depfree.sources.blob import Blob
from depfree.sources.fsview import IndexView

# ---- worker side --------------------------------------------------------------------------------------------------

_WORKER_OPTIONS = Options()


def _init_worker(options: Options) -> None:
    """A worker ignores Ctrl-C (the terminal sends it to the whole process group: the main process alone decides,
    and terminates the pool) and dies quietly on the SIGTERM of ``Pool.terminate``."""
    global _WORKER_OPTIONS
    _WORKER_OPTIONS = options
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})  # blocked by the Engine for the fork


def analyse_blob(blob: Blob, name: str, options: Options | None = None) -> tuple[list[Binary], str | None]:
    """Facts for the executables in one blob, or an error message (:func:`depfree.api.analyse_source`, the entry
    point of every verb); never raises for bad input. A blob whose magic matched but that is not an executable is
    neither."""
    from depfree.api import analyse_source

    try:
        src = blob.source(name)
    except DepfreeError as exc:
        return [], strip_name(str(exc), name)
    except OSError as exc:  # gone or changed since the walk found it (a tree being written while it is scanned)
        return [], f"could not be read: {exc.strerror or exc}"
    try:
        opts = options or _WORKER_OPTIONS
        # the sha256 only when the report asks for it (Options.hash: scan --hash); copies are found without it, and a
        # digest known from the copy detection is not reported either, so that every binary has one or none does
        got = analyse_source(src, name, opts, sha256=blob.digest if opts.hash else None)
    finally:
        src.close()
    return got.results, None if got.not_executable else got.error


def _work(args: tuple[Blob, str]) -> tuple[list[Binary], str | None]:
    return analyse_blob(*args)


def _work_many(items: list[tuple[Blob, str]]) -> list[tuple[list[Binary], str | None]]:
    """A batch of files on disk analysed in one call (the engine ships them BATCH at a time)."""
    return [analyse_blob(blob, name) for blob, name in items]


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
    from depfree.sources.archive import index_ar, index_tar, index_zip

    if kind == "zip":
        index_zip(blob, sink, view)
        return "zip"
    if kind in ("ar", "deb"):
        return index_ar(blob, sink, view)
    index_tar(blob, kind, sink, view)
    return "tar"



