"""The engine of a scan: the pool of worker processes (or another :class:`Executor`), the copy detection that
analyses identical files once (by inode, then ``sources/copies.py``: no cryptographic hash of files on disk), the
bound on work in flight, and the spool directory."""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import pickle
import signal
import zlib
from collections import deque
from collections.abc import Callable
from typing import IO, Any, Protocol

from depfree.model import Binary
from depfree.options import Options
from depfree.scan.batches import BATCH, BATCH_BYTES, Batch, Batches
from depfree.scan.spool import capture
from depfree.scan.worker import _init_worker, _work, analyse_blob
from depfree.sources.archive import Limits
from depfree.sources.blob import Blob
from depfree.sources.copies import CopyIndex, rereadable
from depfree.sources.fsview import DirView

Progress = Callable[[int, int, str], None]  # (binaries done, binaries found so far, what is being read)


# ---- the task pool ------------------------------------------------------------------------------------------------

class Task:
    """One analysis: run in the pool or here; ``get`` waits for it. Shared by every path with the same content."""

    def __init__(self, engine: Engine, blob: Blob, name: str) -> None:
        self.blob: Blob | None = blob  # dropped once analysed: the cache must not keep member bytes alive
        self.memory = blob.size if blob.data is not None else 0
        self.engine = engine
        self.name = name
        self.done = False
        self._result: tuple[list[Binary], str | None] | None = None
        self._packed: bytes | None = None  # the result pickled, once its container is emitted (see emitted)
        self._async: Any = None  # the pool's handle of a single analysis
        self.batch: Batch | None = None  # or the batch it is analysed in (scan/batches.py), at ``index``
        self.index = 0
        self.uses = 0
        self.refs = 0  # the containers' listings of it not emitted yet
        if engine.pool is None:
            self._set(analyse_blob(blob, name, engine.options))
        elif engine.batches is not None:
            engine.filling.append(self)  # analysed in a batch with others (Engine.ship)
        else:
            self._async = engine.pool.apply_async(_work, ((blob.detached(), name),))

    @property
    def pending(self) -> bool:
        return not self.done

    def ready(self) -> bool:
        if self.done:
            return True
        if self.batch is not None:
            return self.batch.ready()
        return self._async is not None and self._async.ready()

    def get(self) -> tuple[list[Binary], str | None]:
        if not self.done:
            if self.batch is None and self._async is None:  # in the batch being filled
                self.engine.ship()
            if self.batch is not None:
                assert self.engine.batches is not None
                self._set(self.engine.batches.results(self.batch)[self.index])
            else:
                self._set(self._async.get())
                self._async = None
        if self._result is None:  # packed: fresh objects for the copy that asks
            if self._packed is None:
                raise RuntimeError(f"{self.name}: analysis asked for after its last container was emitted")
            result: tuple[list[Binary], str | None] = pickle.loads(zlib.decompress(self._packed))
            return result
        return self._result

    def emitted(self, more: bool) -> None:
        """One container listing it was emitted. Once none is left, the result goes, or, when ``more`` inputs may
        still bring a copy, stays as compressed pickled bytes only (~2.7 KB a binary where the objects take ~30 KB),
        from which that copy gets fresh objects: the scan's memory no longer grows with its inputs by the facts of
        every binary (issue 23, bench/RESULTS.md)."""
        self.refs -= 1
        if self.refs > 0 or self._result is None:
            return
        if more:
            self._packed = zlib.compress(pickle.dumps(self._result, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self._result = None

    def _set(self, result: tuple[list[Binary], str | None]) -> None:
        self._result = result
        self.done = True
        self.batch = None
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
        self._frozen = False
        if executor is None and self.jobs > 1:
            _prewarm()  # imported and parsed once here, inherited by the forked workers
            # Everything imported and parsed so far out of the collector's sight until close(): collections in the
            # main process walk only the scan's own objects (36 -> 15 ms on /usr/bin), and the workers' collections
            # do not touch, and so copy, the pages they share with it.
            gc.freeze()
            self._frozen = True
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            # A worker forked with the CLI's SIGTERM handler would print a traceback if Pool.terminate reached it
            # before _init_worker restored the default: SIGTERM and SIGINT stay blocked from the fork to the end
            # of _init_worker (the pool's threads, which fork replacement workers later, inherit the mask too).
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
            try:
                # jobs analysing processes: the main process, which analyses while it would wait, and jobs - 1 workers
                self.pool = ctx.Pool(self.jobs - 1, initializer=_init_worker, initargs=(options,))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        # Everything to analyse goes to the local pool in batches, the main process analysing its share
        # (scan/batches.py).
        # Another executor batches as it sees fit (scan_dask.BatchPool).
        self.batches = Batches(self.pool, self.jobs - 1, options) if executor is None and self.pool is not None \
            else None
        self.filling: list[Task] = []  # the batch being filled
        self.filling_bytes = 0
        self.cache: dict[object, Task] = {}  # an alias (("inode", (dev, ino))) -> its task
        self.copies: CopyIndex[Task] = CopyIndex()  # content -> its task
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
            import tempfile  # (imported when a member is first spooled: a scan of a tree has none)

            self._spool = tempfile.mkdtemp(prefix="depfree-scan-")
        return self._spool

    def notify(self, what: str) -> None:
        if what:
            self.current = what
        if self.progress:
            self.progress(self.done, self.found, self.current)

    def submit(self, blob: Blob, name: str, alias: object | None = None) -> Task:
        """Analyse ``blob`` unless the same file (``alias``: an inode) or the same content was seen
        (:class:`CopyIndex`: size, sampled blocks, XXH3-128 and the bytes for files on disk; the sha256 only for
        bytes that cannot be read again later, members of compressed archives)."""
        if alias is not None and alias in self.cache:
            return self.cache[alias]
        if blob.digest is None and not rereadable(blob):  # its bytes go once analysed: their sha256 now
            blob = dataclasses.replace(blob, digest=blob.sha256())
        try:
            task = self.copies.find(blob)
        except OSError:  # this file or an earlier one of its size went away since the walk: analysed on its own
            task = None
        if task is None:
            self.found += 1
            self._make_room(blob)
            task = Task(self, blob, name)
            self.copies.add(blob, task)
            if task.pending:
                self.inflight.append(task)
                self.inflight_bytes += task.memory
                if self.filling and self.filling[-1] is task:
                    self.filling_bytes += blob.size
                    if len(self.filling) >= BATCH or self.filling_bytes >= BATCH_BYTES:
                        self.ship()
        if alias is not None:
            self.cache[alias] = task
        return task

    def ship(self) -> None:
        """The batch being filled is complete (full, its input read, or one of its results waited for)."""
        tasks, self.filling, self.filling_bytes = self.filling, [], 0
        if not tasks or self.batches is None:
            return
        items = []
        for t in tasks:
            assert t.blob is not None  # (a task's blob goes once it is analysed)
            items.append((t.blob.detached(), t.name))
        batch = self.batches.add(items)
        for i, t in enumerate(tasks):
            t.batch, t.index = batch, i

    def _make_room(self, blob: Blob) -> None:
        extra = blob.size if blob.data is not None else 0
        while self.inflight and (len(self.inflight) >= self.max_inflight
                                 or self.inflight_bytes + extra > self.max_inflight_bytes):
            self._retire(wait=True)
        self._retire(wait=False)

    def _retire(self, wait: bool) -> None:
        while self.inflight and (wait or self.inflight[0].ready()):
            t = self.inflight.popleft()
            if not t.done:
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
            import shutil

            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None
        if self._frozen:
            gc.unfreeze()
            self._frozen = False


# The young generation's threshold while a scan runs (CPython's default is 700 allocations), in the main process and
# the workers forked from it. The main process keeps every result until the report is written, so each collection
# of the older generations walks them all: at the default, 0.75 s of the main process's 3.6 s of CPU on /usr/lib
# went to the collector, 0.24 s at this threshold, and the same cycles are freed; the analysis of a binary leaves
# no cyclic garbage at all (none found after /usr/bin's 674 with the collector off; bench/RESULTS.md, issue 23).
SCAN_GC_THRESHOLD = 50_000


class GcThreshold:
    """The collector's thresholds raised for a while (the young generation's to at least ``young``; the older
    ones' to ``older`` when given), and put back by :meth:`restore` (only if nobody else changed them in
    between)."""

    def __init__(self, young: int, older: tuple[int, int] | None = None) -> None:
        self.before = gc.get_threshold()
        self.during = (max(young, self.before[0]), *(older or self.before[1:]))
        gc.set_threshold(*self.during)

    def restore(self) -> None:
        if gc.get_threshold() == self.during:
            gc.set_threshold(*self.before)


def _prewarm() -> None:
    """Import the readers and analyzers and parse the knowledge files before forking, so that workers do not each
    do it again."""
    import depfree.analysis.fortify  # noqa: F401 - (the analyzers import it when a C binary is met)
    import depfree.analysis.linkage  # noqa: F401
    import depfree.analysis.pipeline  # noqa: F401
    import depfree.formats.elf  # noqa: F401
    from depfree.datafiles import load

    for name in ("glibc.toml", "hardening.toml", "packers.toml", "stdlib_needs.toml", "go_versions.toml",
                 "targets.toml", "fortify.toml"):
        load(name)


