"""Tables that never cut a cell: a plain aligned table when it fits the console, else one record per line.

In a pipe or a file the console is unlimited (cli/common.Output), so the table always fits and paths stay whole; in a
terminal too narrow for it, each row becomes ``first-cell: header value, header value, …`` on its own line.
Cells may hold rich markup (escape text with rich.markup.escape); widths are measured on the visible text.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.text import Text

GAP = "  "


def visible_len(cell: str) -> int:
    return Text.from_markup(cell).cell_len if "[" in cell else Text(cell).cell_len


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], visible_len(cell))
    return widths


def table_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    widths = _widths(headers, rows)
    return sum(widths) + len(GAP) * (len(widths) - 1)


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] = (),
                widths: list[int] | None = None) -> list[str]:
    """Aligned lines (markup kept): a bold header, then a line per row; ``align`` per column ``l`` or ``c``."""
    widths = widths or _widths(headers, rows)

    def line(cells: Sequence[str], bold: bool = False) -> str:
        parts = []
        for i, cell in enumerate(cells):
            pad = widths[i] - (len(cell) if bold else visible_len(cell))
            left = pad // 2 if (align[i:i + 1] or "l") == "c" else 0
            shown = f"[bold]{escape(cell)}[/bold]" if bold else cell
            parts.append(" " * left + shown + " " * (pad - left))
        return GAP.join(parts).rstrip()

    return [line(headers, bold=True), *(line(r) for r in rows)]


def record_lines(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """One line per row: ``first: header value, header value …``."""
    return [f"[bold]{row[0]}[/bold]: " + ", ".join(f"{escape(h)} {c}" for h, c in zip(headers[1:], row[1:],
                                                                                      strict=True))
            for row in rows]


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]],
                align: Sequence[str] = ()) -> None:
    """The table if it fits ``console.width``, else one record per line; nothing is ever cut."""
    widths = _widths(headers, rows)
    fits = sum(widths) + len(GAP) * (len(widths) - 1) <= console.width
    lines = table_lines(headers, rows, align, widths) if fits else record_lines(headers, rows)
    for text in lines:
        console.print(text, overflow="ignore", crop=False)
