"""``scan --executor dask``: the containers of a scan as tasks on a Dask cluster (``dask.distributed``).

How the work is spread:

* **One task per input** (a file, tree, archive or image): the worker runs :func:`depfree.scan.iter_scan` on that path
  and sends back its :class:`~depfree.scan.ScanResult` list — the same code as the local scan, so the same report.
  Workers read the inputs in place: only paths go through the scheduler, never file contents, so every worker must
  see the inputs at the paths given (a shared filesystem; with a ``LocalCluster`` it is this machine).
* **Batches of members**: inside an input task, the analyses of a large container are sent back to the cluster in
  batches of ``batch`` executables (:class:`BatchPool`, the task's :class:`~depfree.scan.Executor`), so a 5 GB image
  does not sit on one worker while the others idle. Only members that are files on disk go (their path, offset and
  size); members held in memory or spooled by this worker (from a compressed layer) are analysed here. The
  resolution of the container is done by the input task once its members are in, as in the local scan. A container
  with fewer than ``batch`` executables is analysed in its own task.
* **.debs given together** satisfy each other's sonames as in the local scan: the client reads the control
  members (shlibs/symbols) of every .deb among the inputs once, before the first task (so the list of paths is read
  in full first), and every input task judges with all of them.
* Results come back in input order (a finished input waits for the ones before it); at most ``window`` inputs are
  submitted and not yet written out, so a fleet of 10,000 paths is never all in memory at once.

Faults: a task whose worker died is rerun on another by the scheduler; one that killed ``allowed-failures`` workers
(``distributed.scheduler.allowed-failures``, default 3) is a suspect (a task only queued on a worker that another
input killed is one too): once the tasks in flight are done, each suspect is run again alone on the cluster, and
if it kills workers again it is that input's error; the scan goes on. An
unreachable scheduler, or one without workers, is a :class:`ClusterError` (exit 2). On an interrupt, the client cancels its tasks.

Test hook: a worker started with ``DEPFREE_DASK_TEST_POISON=NAME`` in its environment kills itself (SIGKILL) when it
is given an input whose file name is ``NAME`` — a deterministic poison input for tests/test_scan_dask.py. Nothing else
reads it and a normal worker never has it set.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any

from depfree.errors import DepfreeError, UsageError
from depfree.model import Binary, FileError
from depfree.options import Options
from depfree.scan import Progress, ScanResult, analyse_blob, iter_scan
from depfree.sources.archive import Limits
from depfree.sources.blob import Blob

DEFAULT_BATCH = 64  # executables per member batch
POISON_ENV = "DEPFREE_DASK_TEST_POISON"


class ClusterError(DepfreeError):
    """The Dask scheduler cannot be reached, or the dask extra is not installed."""


# ---- worker side --------------------------------------------------------------------------------------------------

def scan_input(path: str, depth: int, checksums: str | None, options: Options, limits: Limits,
               batch: int, root: str | None = None,
               shlibs: dict[str, tuple[str, str]] | None = None) -> list[ScanResult]:
    """One input, scanned on a worker: its containers, in order (``shlibs``: what the .debs of the whole scan map,
    so packages given together satisfy each other's sonames as they do in a local scan)."""
    poison = os.environ.get(POISON_ENV)
    if poison and os.path.basename(path.rstrip("/")) == poison:
        os.kill(os.getpid(), signal.SIGKILL)  # the documented test hook (see the module docstring)
    return list(iter_scan([path], depth=depth, checksums=checksums, options=options, limits=limits, root=root,
                          executor=BatchPool(options, batch), shlibs=shlibs))


def analyse_batch(items: list[tuple[Blob, str]], options: Options) -> list[tuple[list[Binary], str | None]]:
    """The analyses of a batch of members (files on disk), on whichever worker the scheduler picks."""
    return [analyse_blob(blob, name, options) for blob, name in items]


class Cancelled(Exception):
    """Raised in an input task whose client cancelled it (an interrupt), so that it stops reading."""


def _cancelled() -> bool:
    """Whether the task running in this thread was cancelled (its worker no longer wants its result)."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        ts = get_worker().state.tasks.get(thread_state.key)
    except (ValueError, AttributeError):  # not in a task on a worker
        return False
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


class _Handle:
    """One analysis given to :class:`BatchPool`: its value, once run here or fetched from its batch."""

    def __init__(self, pool: BatchPool) -> None:
        self.pool = pool
        self.value: Any = None
        self.done = False
        self.batch: _Batch | None = None
        self.index = 0

    def ready(self) -> bool:
        return self.done or (self.batch is not None and self.batch.future.done())

    def get(self) -> Any:
        if not self.done:
            if self.batch is None:
                self.pool.run_buffered()
            else:
                self.value = self.batch.result()[self.index]
            self.done = True
        return self.value


class _Batch:
    def __init__(self, future: Any, names: list[str]) -> None:
        self.future = future
        self.names = names
        self._result: list[tuple[list[Binary], str | None]] | None = None

    def result(self) -> list[tuple[list[Binary], str | None]]:
        if self._result is None:
            try:
                while True:
                    try:
                        self._result = self.future.result(timeout=0.5)
                        break
                    except TimeoutError:
                        if _cancelled():  # the input's task was cancelled while it waited for this batch
                            raise Cancelled("the scan was cancelled by its client") from None
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - a batch lost for good is its members' error, not the scan's
                self._result = [([], f"cannot analyse: the Dask task of its batch failed ({type(exc).__name__})")
                                for _ in self.names]
            self.future.release()
        return self._result


class BatchPool:
    """The :class:`~depfree.scan.Executor` of an input task: analyses of files on disk are buffered and sent to the
    cluster ``batch`` at a time; everything else (members in memory or spooled here, archive indexing) runs here."""

    def __init__(self, options: Options, batch: int) -> None:
        self.options = options
        self.batch = max(1, batch)
        self.buffer: list[tuple[_Handle, Blob, str]] = []
        self.batches: list[_Batch] = []
        self.client: Any = None
        self.calls = 0

    def apply_async(self, func: Callable[..., Any], args: tuple[Any, ...]) -> _Handle:
        from depfree.scan.worker import _work

        self.calls += 1
        if self.calls % 16 == 0 and _cancelled():
            raise Cancelled("the scan was cancelled by its client")
        h = _Handle(self)
        if func is _work:
            blob, name = args[0]
            if blob.data is None and not blob.temporary and blob.path:
                self.buffer.append((h, blob, name))
                if len(self.buffer) >= self.batch:
                    self._ship()
                return h
            h.value = analyse_blob(blob, name, self.options)
        else:
            h.value = func(*args)
        h.done = True
        return h

    def _ship(self) -> None:
        items, self.buffer = self.buffer, []
        if self.client is None:
            from distributed import get_client, secede

            self.client = get_client()
            secede()  # this task waits on its batches: its thread must not hold a slot the batches need
        future = self.client.submit(analyse_batch, [(b, n) for _, b, n in items], self.options, pure=False)
        batch = _Batch(future, [n for _, _, n in items])
        self.batches.append(batch)
        for i, (h, _, _) in enumerate(items):
            h.batch, h.index = batch, i

    def run_buffered(self) -> None:
        """The members still buffered (fewer than a batch): analysed here rather than waiting for more."""
        items, self.buffer = self.buffer, []
        for h, blob, name in items:
            h.value, h.done = analyse_blob(blob, name, self.options), True

    def terminate(self) -> None:
        for b in self.batches:
            if not b.future.done():
                b.future.cancel()
        self.batches = []

    def join(self) -> None:
        pass


# ---- client side --------------------------------------------------------------------------------------------------

# PYTHONWARNINGS for a LocalCluster's workers: an unawaited coroutine's RuntimeWarning (its message starts so)
UNAWAITED_QUIET = "ignore:coroutine:RuntimeWarning"


def connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A client of the scheduler at ``scheduler``, or of a new ``LocalCluster`` of ``workers`` processes (one thread
    each); (client, cluster or None)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--executor dask needs dask.distributed: install it with pip install 'depfree[dask]'") \
            from None
    import dask

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)  # its warnings (a task rescheduled) are not our output
    # Ctrl-C lands wherever the client waits, often inside tornado: the coroutine it was awaiting is then dropped
    # unawaited, and its RuntimeWarning (printed as the frames unwind, before the scan's one "interrupted" line) is
    # the library's, not our output (depfree itself has no coroutines). Only that warning.
    warnings.filterwarnings("ignore", message=r"coroutine .* was never awaited", category=RuntimeWarning)
    if scheduler is None:
        # no dashboard; its HTTP server on any free loopback port (not 8787, which another cluster may hold)
        # The workers are started with SIGINT ignored (inherited): Ctrl-C on a terminal reaches the whole process
        # group, and it is the client that stops them, without a traceback from each.
        try:
            handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            handler = None
        # The workers' own interpreters drop such coroutines too when the cluster stops under them: the same
        # warning, filtered there from their start (set before each worker process is spawned).
        quiet = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), UNAWAITED_QUIET]))
        spawn_env = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), "PYTHONWARNINGS": quiet}
        try:
            with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_env}):
                cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                       processes=True, host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.CRITICAL,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        finally:
            if handler is not None:
                signal.signal(signal.SIGINT, handler)
        return Client(cluster, set_as_default=False), cluster
    if "://" not in scheduler and ":" not in scheduler:
        raise UsageError(f"--scheduler expects an address like tcp://HOST:8786, got {scheduler!r}")
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} within {timeout}: {reason}") from None
    except ValueError as exc:
        raise UsageError(f"--scheduler expects an address like tcp://HOST:8786, got {scheduler!r} ({exc})") \
            from None
    try:
        client.wait_for_workers(1, timeout=timeout)  # a scheduler without workers would leave the scan waiting
    except TimeoutError:
        client.close()
        raise ClusterError(f"the Dask scheduler at {scheduler} has no workers: none joined within {timeout}") \
            from None
    return client, None


def iter_scan_dask(paths: Iterable[str | os.PathLike[str]], *, scheduler: str | None = None,
                   workers: int | None = None, depth: int = 1, checksums: str | os.PathLike[str] | None = None,
                   options: Options | None = None, progress: Progress | None = None, limits: Limits | None = None,
                   batch: int = DEFAULT_BATCH, window: int | None = None,
                   root: str | os.PathLike[str] | None = None) -> Iterator[ScanResult]:
    """What :func:`depfree.scan.iter_scan` yields, in the same order, with the work done on a Dask cluster (the
    scheduler at ``scheduler``, else a ``LocalCluster`` of ``workers`` processes)."""
    from depfree.sources import checksums as checksums_mod

    if checksums is not None:
        checksums_mod.parse_manifest(os.fspath(checksums))  # a bad --checksums is a usage error, raised now
    options, limits = options or Options(hash=False), limits or Limits()  # as iter_scan: no sha256 unless asked
    sums = os.fspath(checksums) if checksums is not None else None
    if root is not None and not os.path.isdir(root):
        raise UsageError(f"--root {os.fspath(root)}: expected a directory (a root filesystem), found "
                         f"{'a file' if os.path.exists(root) else 'nothing'}")
    rooted = os.path.abspath(os.fspath(root)) if root is not None else None
    from depfree.sources.dpkg import deb_shlibs

    given = [os.fspath(p) for p in paths]
    shlibs = deb_shlibs(given)  # the control members only, read here once: every worker judges with all of them
    client, cluster = connect(scheduler, workers)
    inputs = iter(enumerate(given))
    running: dict[Any, tuple[int, str, int]] = {}  # future -> (input number, path, tries before this one)
    try:
        task_args = (max(0, depth), sums, options, limits, batch, rooted, shlibs)
        yield from _InputQueue(client, inputs, running, task_args, window, progress).results()
    except KeyboardInterrupt:
        client.cancel(list(running), force=True)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _InputQueue:
    """The input tasks of a Dask scan: at most ``window`` submitted and not yet written out, results yielded in input
    order (a finished input waits for the ones before it), suspects rerun one at a time with nothing else in flight."""

    def __init__(self, client: Any, inputs: Iterator[tuple[int, str]], running: dict[Any, tuple[int, str, int]],
                 task_args: tuple[Any, ...], window: int | None, progress: Progress | None) -> None:
        from distributed import as_completed

        self.client = client
        self.inputs = inputs
        self.running = running
        self.task_args = task_args  # scan_input's (depth, checksums, options, limits, batch, root, shlibs)
        self.progress = progress
        threads = sum(client.nthreads().values()) or 1
        self.window = window or max(64, 8 * threads)
        self.queue = as_completed(loop=client.loop)
        self.submitted = 0
        self.emitted = 0
        self.finished: dict[int, list[ScanResult]] = {}  # done, waiting for the inputs before them
        self.suspects: deque[tuple[int, str]] = deque()  # inputs whose worker died: rerun one at a time, alone

    def submit(self, index: int, path: str, tries: int) -> None:
        fut = self.client.submit(scan_input, path, *self.task_args, pure=False)
        self.running[fut] = (index, path, tries)
        self.queue.add(fut)

    def submit_more(self) -> None:
        while len(self.running) + len(self.finished) < self.window:
            item = next(self.inputs, None)
            if item is None:
                return
            self.submit(*item, 0)
            self.submitted += 1

    def results(self) -> Iterator[ScanResult]:
        self.submit_more()
        for fut in self.queue:
            index, path, tries = self.running.pop(fut)
            if tries == 0 and _killed_workers(fut):
                # Tasks merely queued or running on a worker that a poison input killed are suspects too: each is
                # run again alone, with nothing else on the cluster, and told it is the poison only if it kills
                # workers again then.
                fut.release()
                self.suspects.append((index, path))
            else:
                yield from self._finish(fut, index, path)
            self._refill()

    def _finish(self, fut: Any, index: int, path: str) -> Iterator[ScanResult]:
        self.finished[index] = _result(fut, path)
        fut.release()
        if self.progress:
            self.progress(len(self.finished) + self.emitted, self.submitted, path)
        while self.emitted in self.finished:
            yield from self.finished.pop(self.emitted)
            self.emitted += 1

    def _refill(self) -> None:
        if self.suspects:
            if not self.running:
                self.submit(*self.suspects.popleft(), 1)
        elif not self.running or all(t == 0 for _, _, t in self.running.values()):
            self.submit_more()


def _killed_workers(fut: Any) -> bool:
    from distributed import KilledWorker

    return fut.status == "error" and isinstance(fut.exception(), KilledWorker)


def _result(fut: Any, path: str) -> list[ScanResult]:
    from distributed import KilledWorker

    try:
        got: list[ScanResult] = fut.result()
        return got
    except KilledWorker:
        msg = ("cannot scan: it killed every Dask worker that ran it, up to the scheduler's allowed-failures "
               "(it may crash the analysis or exhaust a worker's memory)")
    except CancelledError:
        msg = "cannot scan: its Dask task was cancelled (the scheduler was lost or restarted)"
    except Exception as exc:  # noqa: BLE001 - one input's failure must not end a scan of thousands
        msg = f"internal error on the Dask worker ({type(exc).__name__}: {exc})"
    return [ScanResult(None, [], [FileError(path=path, error=msg)])]
