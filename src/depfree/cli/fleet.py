"""What ``scan`` and ``check`` share to run on many inputs: ``--from FILE``, ``--executor local|dask`` and
``--scheduler ADDRESS``; the inputs and the scan results from whichever executor was chosen."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from depfree.errors import UsageError
from depfree.model import Report
from depfree.options import Options
from depfree.scan import Progress, ScanResult

EXECUTORS = ("local", "dask")

F = TypeVar("F", bound=Callable[..., Any])


def fleet_options(func: F) -> F:
    """The ``--from``, ``--executor`` and ``--scheduler`` options."""
    func = click.option("--scheduler", default=None, metavar="ADDRESS",
                        help="With --executor dask: the scheduler of your cluster (tcp://HOST:8786); without it, a "
                             "local cluster of --jobs workers. Workers must see the inputs at the same paths.")(func)
    func = click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
                        help="Where the work runs: this machine's process pool, or a Dask cluster "
                             "(pip install 'depfree[dask]').")(func)
    func = click.option("--from", "from_file", type=click.Path(allow_dash=True), default=None, metavar="FILE",
                        help="Read the inputs from FILE, one path a line ('-' for standard input), after any "
                             "PATH given.")(func)
    return func


def inputs(paths: tuple[str, ...], from_file: str | None) -> list[str]:
    """The PATHs, then the lines of ``--from`` (blank lines and ``#`` comments skipped); at least one."""
    out = list(paths)
    if from_file is not None:
        try:
            if from_file == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(from_file, encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--from {from_file}: expected a text file of paths, one a line: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
        out += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not out:
        raise UsageError("expected at least one PATH (or --from FILE), got none")
    return out


def check_executor(executor: str, scheduler: str | None) -> None:
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
