"""Many inputs on either executor: the scan's containers in input order from this machine's process pool
(:func:`depfree.scan.iter_scan`) or a Dask cluster (:func:`depfree.scan_dask.iter_scan_dask`), and the whole report.
What ``scan``, ``check`` and ``sbom`` share, for the library and the CLI alike (``cli/fleet.py`` adds the options)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from depfree.errors import UsageError
from depfree.model import Report
from depfree.options import Options
from depfree.scan import Progress, ScanResult

EXECUTORS = ("local", "dask")


def check_executor(executor: str, scheduler: str | None) -> None:
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if scheduler is not None and executor != "dask":
        raise UsageError(f"--scheduler is for --executor dask, got --executor {executor}")


def results(paths: list[str], *, executor: str, scheduler: str | None, jobs: int | None, depth: int = 1,
            checksums: str | None = None, options: Options | None = None,
            progress: Progress | None = None, root: str | None = None, limits: Any = None) -> Iterator[ScanResult]:
    """The scan's containers in input order, from the local pool or the Dask cluster."""
    check_executor(executor, scheduler)
    if executor == "dask":
        from depfree.scan_dask import iter_scan_dask

        return iter_scan_dask(paths, scheduler=scheduler, workers=jobs, depth=depth, checksums=checksums,
                              options=options, progress=progress, root=root, limits=limits)
    from depfree.scan import iter_scan

    return iter_scan(paths, jobs=jobs, depth=depth, checksums=checksums, options=options, progress=progress,
                     root=root, limits=limits)


def report(paths: list[str], *, executor: str, scheduler: str | None, options: Options,
           progress: Progress | None = None) -> Report:
    """The whole report, as :func:`depfree.scan.scan` makes it, from either executor."""
    from depfree.api import tool_info

    check_executor(executor, scheduler)
    if executor == "local":
        from depfree.scan import scan

        return scan(paths, options=options, progress=progress)
    got = list(results(paths, executor=executor, scheduler=scheduler, jobs=None, options=options, progress=progress))
    return Report(tool=tool_info(), containers=[r.container for r in got if r.container],
                  binaries=[b for r in got for b in r.binaries], errors=[e for r in got for e in r.errors])
