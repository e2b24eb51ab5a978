"""Text of ``depfree targets``: the ✓ ⚠ ✗ matrix, then the reasons.

The matrix has a row per binary and a column per target; with many targets (more than binaries, and more than
SIDEWAYS) it turns sideways (a row per target, a column per binary, numbered, with the legend above); when it does
not fit the terminal it becomes one record per line (render/table.py). Every reason line starts with its binary, and
a reason that several targets share is printed once with the list of targets.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary
from depfree.render.paths import relative
from depfree.render.table import print_table, table_width

MARK = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}
SIDEWAYS = 8
TOKEN = "\0target\0"


def label(b: Binary) -> str:
    return relative(b.path) + (f" [{b.slice}]" if b.slice else "")


def print_matrix(console: Console, binaries: list[Binary], selected: list[str]) -> None:
    cells = {(label(b), t.target): MARK[t.verdict] for b in binaries for t in b.targets or []}
    names = [label(b) for b in binaries]
    rows = [[escape(n), *(cells.get((n, t), "-") for t in selected)] for n in names]
    headers = ["binary", *selected]
    sideways = len(selected) > SIDEWAYS and len(selected) > len(names)
    if not sideways and table_width(headers, rows) > console.width and len(selected) > len(names):
        sideways = True
    if not sideways:
        print_table(console, headers, rows, align=["l", *"c" * len(selected)])
        return
    keys = [f"#{i + 1}" for i in range(len(names))]
    for k, n in zip(keys, names, strict=True):
        console.print(f"[bold]{k}[/bold] {escape(n)}", overflow="ignore", crop=False)
    side = [[escape(t), *(cells.get((n, t), "-") for n in names)] for t in selected]
    print_table(console, ["target", *keys], side, align=["l", *"c" * len(keys)])


def grouped_reasons(b: Binary) -> list[dict[str, Any]]:
    """The reasons of one binary, each once: {severity, message, fix, targets}; a message that names its target
    is compared with the target's name taken out, so "not in scratch" and "not in alpine-3.20" are one reason."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for t in b.targets or []:
        for r in t.reasons:
            generic = r.message.replace(t.target, TOKEN)
            key = (r.severity, generic, r.fix)
            g = groups.setdefault(key, {"severity": r.severity, "message": r.message, "generic": generic,
                                        "fix": r.fix, "targets": []})
            if t.target not in g["targets"]:
                g["targets"].append(t.target)
    out = sorted(groups.values(), key=lambda g: (g["severity"] != "fail", -len(g["targets"])))
    for g in out:
        if len(g["targets"]) > 1:
            g["message"] = g["generic"].replace(TOKEN, "the target")
        del g["generic"]
    return out


def print_reasons(console: Console, binaries: list[Binary]) -> None:
    for b in binaries:
        last_fix = None
        for g in grouped_reasons(b):
            mark = MARK["fail" if g["severity"] == "fail" else "warn"]
            console.print(f"[bold]{escape(label(b))}[/bold]: {mark} {escape(', '.join(g['targets']))}: "
                          f"{escape(g['message'])}", overflow="ignore", crop=False)
            if g["fix"] and g["fix"] != last_fix:
                console.print(f"    [dim]fix: {escape(g['fix'])}[/dim]", overflow="ignore", crop=False)
            last_fix = g["fix"]


def print_targets(console: Console, binaries: list[Binary], selected: list[str]) -> None:
    print_matrix(console, binaries, selected)
    print_reasons(console, binaries)
