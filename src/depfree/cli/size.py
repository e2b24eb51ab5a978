"""``depfree size FILE`` / ``depfree size --diff OLD NEW``: what makes a binary big, by section, Go package and
module."""

from __future__ import annotations

import sys
from typing import Any

import click

from depfree.api import SIZE_SCHEMA, SizeReport, size_diff, size_path
from depfree.cli.common import EXIT_OK, Output, examples, friendly_errors, output_options
from depfree.dataclass import dataclass, field
from depfree.errors import UsageError
from depfree.render import html
from depfree.render import json as render_json

TOP = 20


def _table(title: str, rows: list[tuple[str, str, int]], total: int, top: int = TOP) -> list[str]:
    out = [title]
    for name, kind, size in rows[:top]:
        pct = 100.0 * size / total if total else 0.0
        out.append(f"  {size:>12,}  {pct:5.1f}%  {name}" + (f"  ({kind})" if kind else ""))
    if len(rows) > top:
        rest = sum(r[2] for r in rows[top:])
        out.append(f"  {rest:>12,}  {100.0 * rest / total if total else 0:5.1f}%  … {len(rows) - top} more "
                   "(--all lists them)")
    return out


def render_size(r: SizeReport, top: int = TOP) -> list[str]:
    head = r.path + (f" [{r.slice}]" if r.slice else "")
    lines = [f"{head}: {r.size:,} bytes"]
    lines += _table("by section", [(p.name, "", p.size) for p in r.sections], r.size, top)
    if r.packages:
        lines += _table("by Go package (function code)", [(p.name, p.kind, p.size) for p in r.packages], r.size, top)
    lines += _table("by module", [(p.name, p.label, p.size) for p in r.modules], r.size, top)
    return lines


def render_diff(d: dict[str, Any], top: int = TOP) -> list[str]:
    s = d["size"]
    lines = [f"{d['old']} -> {d['new']}: {s['old']:,} -> {s['new']:,} bytes ({s['delta']:+,})"]
    for part in ("modules", "packages", "sections"):
        rows = d[part]
        if not rows:
            continue
        lines.append(f"by {part[:-1]}")
        for row in rows[:top]:
            lines.append(f"  {row['delta']:>+12,}  {row['old']:>12,} -> {row['new']:>12,}  {row['name']}")
        if len(rows) > top:
            lines.append(f"  … {len(rows) - top} more changed (--all lists them)")
    return lines


@dataclass
class SizeResult:
    """``reports`` (FILE...) or ``diffs`` (--diff OLD NEW)."""

    reports: list[SizeReport] = field(default_factory=list)
    diffs: list[dict[str, Any]] | None = None
    top: int = TOP  # rows per table in text (--all: every row)

    def to_json(self) -> dict[str, Any]:
        if self.diffs is not None:
            return {"schema": SIZE_SCHEMA, "diffs": self.diffs}
        return {"schema": SIZE_SCHEMA, "binaries": [r.to_json() for r in self.reports]}


def _text(r: SizeResult, out: Output) -> str:
    blocks = ([render_diff(d, r.top) for d in r.diffs] if r.diffs is not None
              else [render_size(x, r.top) for x in r.reports])
    return "\n\n".join("\n".join(b) for b in blocks)


RENDERERS = {
    "text": _text,
    "json": lambda r, out: render_json.dumps(r.to_json()),
    "html": lambda r, out: html.size_html(r.to_json()),
}


@click.command("size", epilog=examples("depfree size dist/app", "depfree size --diff old/app dist/app",
                                       "depfree size --json dist/app | jq '.binaries[0].modules[:5]'"))
@click.argument("files", nargs=-1, type=click.Path())
@output_options(RENDERERS)
@click.option("--diff", "diff_pair", nargs=2, type=click.Path(), metavar="OLD NEW",
              help="Show what grew or shrank from OLD to NEW.")
@click.option("--all", "all_rows", is_flag=True, help=f"Every row of each table (default: the top {TOP}).")
@friendly_errors
def size_cmd(files: tuple[str, ...], out: Output, diff_pair: tuple[str, str] | None, all_rows: bool) -> None:
    """Break each FILE down by section, by Go package and by module (std, main, dependencies, C, metadata)."""
    top = 1 << 62 if all_rows else TOP
    if diff_pair:
        if files:
            raise UsageError("give either FILE... or --diff OLD NEW, not both")
        old, new = (size_path(p) for p in diff_pair)
        if len(old) != len(new):
            raise UsageError(f"{diff_pair[0]} has {len(old)} images and {diff_pair[1]} has {len(new)}; "
                             "expected the same number")
        out.emit(SizeResult(diffs=[size_diff(a, b) for a, b in zip(old, new, strict=True)], top=top))
        sys.exit(EXIT_OK)
    if not files:
        raise UsageError("expected FILE... or --diff OLD NEW")
    out.emit(SizeResult(reports=[r for f in files for r in size_path(f)], top=top))
    sys.exit(EXIT_OK)
