"""What every verb shares: error printing without tracebacks, exit codes, JSON output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from depfree.errors import DepfreeError

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(path: str | None, message: str) -> None:
    text = f"depfree: {path}: {message}" if path else f"depfree: {message}"
    err_console.print(text, markup=False)


def friendly_errors(func: F) -> F:
    """Turn a DepfreeError escaping a verb into one line on stderr and its exit code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DepfreeError as exc:
            print_error(None, str(exc))
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)

    return wrapper  # type: ignore[return-value]


def echo_json(text: str, output: str | None = None) -> None:
    if output:
        from depfree.render.output import emit

        emit(text + "\n", output)
    else:
        click.echo(text)
