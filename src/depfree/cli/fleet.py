"""What ``scan``, ``check`` and ``sbom`` share to run on many inputs: ``--from FILE``, ``--executor local|dask`` and
``--scheduler ADDRESS``, and the inputs; the results from whichever executor was chosen come from the library's
:mod:`depfree.fleet` (``results``, ``report``, ``check_executor`` are imported here for the verbs)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from depfree.errors import UsageError
from depfree.fleet import EXECUTORS, check_executor, report, results

__all__ = ["check_executor", "fleet_options", "inputs", "report", "results"]

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
