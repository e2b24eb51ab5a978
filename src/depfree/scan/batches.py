"""The analyses of a scan in batches, shared by the local pool's ``jobs - 1`` workers and the main process.

A batch is up to ``BATCH`` files or members (or ``BATCH_BYTES`` of them): one pickled call and one result message
for all of them. At most ``AHEAD`` batches per worker sit in the pool's queue; the others wait here and are shipped
one by one as results come back (from the pool's result thread). Whenever the main process would wait for a result,
it analyses a waiting batch itself instead (the oldest first): it is the jobs-th analysing process, not a
third process competing for two cores with two workers, and the batches it analyses are never pickled (issue 23,
bench/RESULTS.md)."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from depfree.options import Options
from depfree.scan.worker import _work_many, analyse_blob

if TYPE_CHECKING:
    from depfree.model import Binary
    from depfree.sources.blob import Blob

Result = tuple[list["Binary"], str | None]

# 32 files are ~25 ms of analysis on /usr/bin: short enough to keep everyone busy to the end of a tree, long enough
# that the messaging per call no longer shows (one file per call cost the main process ~260 ms of CPU there, 32 per
# call ~95 ms). A large file goes nearly alone: the analysis' cost grows with the size.
BATCH = 32
BATCH_BYTES = 16 << 20
AHEAD = 2


class Batch:
    """Files analysed together, in the pool (``handle``) or here (``results``)."""

    def __init__(self, items: list[tuple[Blob, str]]) -> None:
        self.items = items
        self.handle: Any = None  # the pool's AsyncResult once shipped
        self.results: list[Result] | None = None  # when analysed here
        self.taken = False  # shipped or being analysed here

    def ready(self) -> bool:
        return self.results is not None or (self.handle is not None and self.handle.ready())


class Batches:
    """The batches of one scan's local pool (see the module's docstring)."""

    def __init__(self, pool: Any, workers: int, options: Options) -> None:
        self.pool = pool
        self.ahead = AHEAD * max(1, workers)
        self.options = options
        self.waiting: deque[Batch] = deque()
        self.shipped = 0  # in the pool's queue or being analysed there
        self.lock = threading.Lock()

    def add(self, items: list[tuple[Blob, str]]) -> Batch:
        batch = Batch(items)
        with self.lock:
            self.waiting.append(batch)
        self._top_up()
        return batch

    def _top_up(self) -> None:
        with self.lock:
            while self.shipped < self.ahead and self.waiting:
                batch = self.waiting.popleft()
                batch.taken = True
                self.shipped += 1
                batch.handle = self.pool.apply_async(_work_many, (batch.items,), callback=self._back,
                                                     error_callback=self._back)

    def _back(self, _result: object) -> None:
        """A batch came back (in the pool's result thread, which must never see an exception)."""
        try:
            with self.lock:
                self.shipped -= 1
            self._top_up()
        except Exception:  # noqa: BLE001 - the pool is being terminated: nothing more to ship
            pass

    def results(self, batch: Batch) -> list[Result]:
        """``batch``'s results, analysed here when it is still waiting; while the pool has it, the batches still
        waiting are analysed here meanwhile, oldest first (results come in about the order their containers are
        emitted in, so few wait in memory for the containers before theirs)."""
        while True:
            with self.lock:
                if not batch.taken:
                    self.waiting.remove(batch)
                    batch.taken = True
                    mine = batch
                elif batch.results is None and not batch.handle.ready() and self.waiting:
                    mine = self.waiting.popleft()
                    mine.taken = True
                else:
                    break
            mine.results = [analyse_blob(blob, name, self.options) for blob, name in mine.items]
            if mine is batch:
                break
        if batch.results is not None:
            return batch.results
        got: list[Result] = batch.handle.get()
        return got
