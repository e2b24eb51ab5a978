"""A progress bar on stderr for verbs that walk many files (scan, check, hardening -r, inspect DIR): rich, redrawn at
most ten times a second from the walker's callback ``(done, found, current)``, no thread, gone when it stops."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape


class ProgressBar:
    def __init__(self, label: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn(escape(label)), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[dim]{task.description}[/dim]"),
                                 console=Console(stderr=True), auto_refresh=False, transient=True)
        self.task = self.progress.add_task("", total=None)
        self.started = False
        self.last = 0.0

    def __call__(self, done: int, found: int, current: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if not self.started:
            self.progress.start()
            self.started = True
        self.progress.update(self.task, completed=done, total=max(found, 1), description=escape(current[-60:]))
        self.progress.refresh()

    def stop(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False
