"""What every verb shares: error printing without tracebacks, exit codes, JSON output."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from depfree.errors import DepfreeError

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C; SIGTERM gives 128 + 15


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C (workers stopped, temp files removed)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def interrupted(exc: KeyboardInterrupt) -> None:
    """One line on stderr and the exit code; whatever was printed before is not followed by a summary."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    print("interrupted", file=sys.stderr, flush=True)
    sys.exit(128 + signal.SIGTERM if isinstance(exc, Terminated) else EXIT_INTERRUPTED)

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(path: str | None, message: str) -> None:
    text = f"depfree: {path}: {message}" if path else f"depfree: {message}"
    err_console.print(text, markup=False)


def friendly_errors(func: F) -> F:
    """Turn a DepfreeError escaping a verb into one line on stderr and its exit code; never a traceback. Ctrl-C and
    SIGTERM end the verb with one line, ``interrupted``, and exit 130 (143 for SIGTERM)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt as exc:
            interrupted(exc)
        except DepfreeError as exc:
            print_error(None, str(exc))
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)

    return wrapper  # type: ignore[return-value]


def echo_json(text: str) -> None:
    click.echo(text)
