"""``depfree targets FILE... [--target NAME...]``: will it run there? A matrix of ✓ / ⚠ / ✗ with reasons and fixes."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from depfree.analysis.context import Options
from depfree.api import inspect
from depfree.cli.common import EXIT_FAIL, EXIT_INPUT, EXIT_OK, friendly_errors, print_error
from depfree.render.json import escape_surrogates
from depfree.targets.profiles import load_profiles, select

SCHEMA = "depfree.targets/1"
MARK = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}


@click.command("targets")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--target", "-t", "names", multiple=True, help="A target profile (repeatable; default: a common set).")
@click.option("--targets-file", type=click.Path(), help="Extra target profiles (TOML, same keys as data/targets.toml).")
@click.option("--all", "all_targets", is_flag=True, help="Every known target.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def targets_cmd(files: tuple[str, ...], names: tuple[str, ...], targets_file: str | None, all_targets: bool,
                as_json: bool) -> None:
    """Judge each FILE on each target; exit 0 when nothing fails, 1 when a cell fails, 2 on bad input."""
    profiles = load_profiles(targets_file)
    chosen = sorted(profiles) if all_targets else (list(names) or None)
    selected = [p.name for p in select(profiles, chosen)]
    report = inspect(list(files), options=Options(targets=selected, targets_file=targets_file))
    for err in report.errors:
        print_error(err.path, err.error)
    cells = [t for b in report.binaries for t in (b.targets or [])]
    if as_json:
        click.echo(escape_surrogates(json.dumps({"schema": SCHEMA, "targets": cells,
                                                 "errors": [e.__dict__ for e in report.errors]},
                                                indent=2, ensure_ascii=False)))
    else:
        console = Console(highlight=False, soft_wrap=True)
        table = Table(box=None, header_style="bold")
        table.add_column("binary")
        for name in selected:
            table.add_column(name, justify="center")
        for b in report.binaries:
            row = {t["target"]: MARK[t["verdict"]] for t in b.targets or []}
            table.add_row(escape(b.path + (f" [{b.slice}]" if b.slice else "")), *(row[n] for n in selected))
        console.print(table)
        for t in cells:
            for r in t["reasons"]:
                mark = MARK["fail" if r["severity"] == "fail" else "warn"]
                console.print(f"{mark} {escape(t['target'])}: {escape(r['message'])}\n    [dim]fix: {escape(r['fix'])}[/dim]")
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FAIL if any(t["verdict"] == "fail" for t in cells) else EXIT_OK)
