"""What every verb shares: error printing without tracebacks, exit codes, and ONE output convention.

Every verb declares its renderers in a dict (format name -> renderer) and wraps itself in :func:`output_options`,
which adds ``--format NAME`` (the dict's keys), ``--json`` (the alias of ``--format json``) and ``-o/--output FILE``,
and hands the verb an :class:`Output`. The verb builds its result and calls ``out.emit(result)``. Adding a format to
a verb is one line in its dict, e.g. ``"html": lambda report, out: to_html(report)``.

A renderer is ``(result, out) -> str | None``: a returned string is written as it is (JSON, SARIF, HTML…); a text
renderer prints through ``out.console()`` instead and returns None. The console writes to ``-o FILE`` or stdout,
colours only a terminal, and is as wide as the terminal — or unlimited when stdout is a pipe or a file, so that no
table ever cuts a path there (see render/table.py for tables wider than the terminal).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from functools import wraps
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from depfree.dataclass import dataclass, field
from depfree.errors import DepfreeError, UsageError

if TYPE_CHECKING:  # rich is imported when text is printed: `--json` and `-o` never load it
    from rich.console import Console

    from depfree.cli.progress import ProgressBar

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
DEBUG_ENV = "DEPFREE_DEBUG"  # set (to anything) to see the traceback of an internal error instead of its one line
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C; SIGTERM gives 128 + 15


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C (workers stopped, temp files removed)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()
PIPE_WIDTH = 100_000  # "unlimited": a line in a pipe or file is as long as its content

F = TypeVar("F", bound=Callable[..., Any])
Renderer = Callable[[Any, "Output"], "str | None"]

_err_console: Console | None = None


def __getattr__(name: str) -> Any:
    """``err_console``, the rich console on stderr, made on first use (importing rich costs ~40 ms)."""
    global _err_console
    if name == "err_console":
        if _err_console is None:
            from rich.console import Console

            _err_console = Console(stderr=True, highlight=False, soft_wrap=True)
        return _err_console
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def print_error(path: str | None, message: str) -> None:
    text = f"depfree: {path}: {message}" if path else f"depfree: {message}"
    __getattr__("err_console").print(text, markup=False)


def friendly_errors(func: F) -> F:
    """Turn a DepfreeError escaping a verb into one line on stderr and its exit code; never a traceback. Ctrl-C and
    SIGTERM end the verb with one line, ``interrupted``, and exit 130 (143 for SIGTERM); nothing after it claims the
    output complete. Any other exception is a bug: one line naming it and exit 2 (``DEPFREE_DEBUG=1``: the
    traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return func(*args, **kwargs)
        except DepfreeError as exc:
            print_error(None, str(exc))
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)
        except KeyboardInterrupt as exc:
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            print_error(None, "interrupted")
            # nothing after that line: a library's warning from its objects torn down mid-work (a Dask cluster's
            # tornado coroutine never awaited, finalised at exit) is not the verb's output
            warnings.simplefilter("ignore")
            sys.exit(128 + signal.SIGTERM if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors and exits, which click prints and ends as it should
        except Exception as exc:  # noqa: BLE001 - a bug: one clear line and exit 2, the traceback only on request
            if os.environ.get(DEBUG_ENV):
                raise
            print_error(None, internal_error_line(exc))
            sys.exit(EXIT_INPUT)

    return wrapper  # type: ignore[return-value]


def internal_error_line(exc: BaseException) -> str:
    """The one line for an exception depfree did not expect (a bug, not bad input)."""
    detail = (str(exc).strip().splitlines() or [""])[0]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"internal error ({what}); this is a bug in depfree: {DEBUG_ENV}=1 shows the traceback"


@dataclass
class Output:
    """Where and how a verb's result goes: ``format`` (a key of the verb's renderers) and ``path`` (-o, or None)."""

    format: str
    path: str | None
    renderers: Mapping[str, Renderer]
    _file: IO[str] | None = field(default=None, repr=False)
    _console: Console | None = field(default=None, repr=False)

    @property
    def terminal(self) -> bool:
        """True when the text goes to a terminal (not -o FILE, not a pipe)."""
        return self.path is None and sys.stdout.isatty()

    def stream(self) -> IO[str]:
        if self.path is None:
            return sys.stdout
        if self._file is None:
            try:
                # surrogateescape: a file name that is not UTF-8 is written as its own bytes
                self._file = open(self.path, "w", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
            except OSError as exc:
                raise UsageError(f"{self.path}: cannot write the output file: {exc.strerror or exc}") from None
        return self._file

    def console(self) -> Console:
        """A rich console on the output: colour and the terminal's width in a terminal, plain and unlimited width
        in a pipe or file."""
        if self._console is None:
            from rich.console import Console

            if self.terminal:
                self._console = Console(highlight=False, soft_wrap=True)
            else:
                self._console = Console(file=self.stream(), highlight=False, soft_wrap=True, width=PIPE_WIDTH,
                                        color_system=None, force_terminal=False, emoji=False)
        return self._console

    def write(self, text: str) -> None:
        stream = self.stream()
        stream.write(text if text.endswith("\n") or not text else text + "\n")
        stream.flush()

    def emit(self, result: Any) -> None:
        """Render ``result`` with the chosen format's renderer. JSON and SARIF write a file name that is not UTF-8
        as ``\\udcXX`` escapes (valid UTF-8 that ``json.loads`` + ``os.fsencode`` turn back into its bytes)."""
        text = self.renderers[self.format](result, self)
        if text is not None:
            if self.format in ("json", "sarif"):
                from depfree.render.json import escape_surrogates

                text = escape_surrogates(text)
            self.write(text)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def progress(self, label: str) -> ProgressBar | None:
        """A progress bar on stderr for verbs that walk many files; None unless stderr is a terminal (never in a
        CI log or a pipe) and the output is text."""
        if (self.format != "text" and self.path is None) or not sys.stderr.isatty():
            return None
        from depfree.cli.progress import ProgressBar  # (rich: ~15 ms of imports, for a terminal only)

        return ProgressBar(label)


def output_options(renderers: Mapping[str, Renderer], *, default: str = "text") -> Callable[[F], F]:
    """Add ``--format``, ``--json`` and ``-o/--output`` to a verb and pass it ``out: Output``.

    The verb's function takes a keyword argument ``out``; ``renderers`` maps each format name to its renderer."""
    names = list(renderers)
    if default not in renderers:
        raise ValueError(f"default format {default!r} has no renderer")

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, fmt: str | None = None, as_json: bool = False, output: str | None = None,
                    **kwargs: Any) -> Any:
            if as_json and fmt not in (None, "json"):
                raise click.UsageError(f"--json is --format json; got --format {fmt} as well")
            chosen = "json" if as_json else (fmt or default)
            out = Output(format=chosen, path=output, renderers=renderers)
            try:
                return func(*args, out=out, **kwargs)
            finally:
                out.close()

        wrapper = click.option("--output", "-o", "output", type=click.Path(dir_okay=False), metavar="FILE",
                               help="Write the report to FILE instead of standard output.")(wrapper)
        if "json" in renderers:
            wrapper = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(wrapper)
        wrapper = click.option("--format", "fmt", type=click.Choice(names), default=None, metavar="|".join(names),
                               help=f"Output format (default {default}).")(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def hash_option(default: bool) -> Callable[[F], F]:
    """``--hash/--no-hash`` (passed as ``hash_files``): whether each binary's sha256 is computed. A content hash is
    identity, not a dependency fact: scan, check, hardening and targets leave it out unless asked (copies are found
    without it); inspect computes it unless told not to."""
    if default:
        text = "Leave out each file's sha256 (`sha256` is null in JSON): faster on large files."
    else:
        text = ("Also compute each file's sha256 (default: `sha256` is null in the report; copies are found "
                "without it).")
    return click.option("--hash/--no-hash", "hash_files", default=default, help=text)


def examples(*lines: str) -> str:
    """An "Examples" block for a verb's --help (click keeps it as written thanks to the \\b marker)."""
    return "\n\n\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
