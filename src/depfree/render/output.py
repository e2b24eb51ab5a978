"""Where a rendered report goes: the ``-o/--output`` file, or standard output."""

from __future__ import annotations

import click

from depfree.errors import UsageError


def emit(text: str, output: str | None) -> None:
    """Write ``text`` to ``output``, or to standard output when there is none; a file that cannot be written is a
    one-line usage error, not a traceback."""
    if not output:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"{output}: expected a file the report can be written to, "
                         f"found {exc.strerror or exc}") from exc
