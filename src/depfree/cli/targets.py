"""``depfree targets FILE... [--target NAME...]``: will it run there? A matrix of ✓ / ⚠ / ✗ with reasons and fixes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click

from depfree.analysis.context import Options
from depfree.api import inspect
from depfree.cli.common import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    Output,
    examples,
    friendly_errors,
    output_options,
    print_error,
)
from depfree.model import Report
from depfree.render.targets import print_targets
from depfree.targets.profiles import builtin, load_profiles, select

SCHEMA = "depfree.targets/1"


@dataclass
class TargetsResult:
    report: Report
    selected: list[str]

    def cells(self) -> list[dict]:
        return [t for b in self.report.binaries for t in (b.targets or [])]

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "targets": self.cells(), "errors": [e.__dict__ for e in self.report.errors]}


RENDERERS = {
    "text": lambda r, out: print_targets(out.console(), r.report.binaries, r.selected),
    "json": lambda r, out: json.dumps(r.to_json(), indent=2, ensure_ascii=False),
}


def _known() -> str:
    try:
        return ", ".join(sorted(builtin()))
    except Exception:  # noqa: BLE001 - --help must print even if the data file is broken; the run reports it
        return "see data/targets.toml"


@click.command("targets", epilog=examples(
    "depfree targets dist/app",
    "depfree targets -t scratch -t alpine-3.20 dist/app dist/app-static",
    "depfree targets --all --json dist/app | jq '.targets[] | select(.verdict == \"fail\")'"))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--target", "-t", "names", multiple=True,
              help=f"A target profile (repeatable; default: a common set). Known: {_known()}.")
@click.option("--targets-file", type=click.Path(), help="Extra target profiles (TOML, same keys as data/targets.toml).")
@click.option("--all", "all_targets", is_flag=True, help="Every known target.")
@output_options(RENDERERS)
@friendly_errors
def targets_cmd(files: tuple[str, ...], names: tuple[str, ...], targets_file: str | None, all_targets: bool,
                out: Output) -> None:
    """Judge each FILE on each target; exit 0 when nothing fails, 1 when a cell fails, 2 on bad input."""
    profiles = load_profiles(targets_file)
    chosen = sorted(profiles) if all_targets else (list(names) or None)
    selected = [p.name for p in select(profiles, chosen)]
    report = inspect(list(files), options=Options(targets=selected, targets_file=targets_file))
    for err in report.errors:
        print_error(err.path, err.error)
    result = TargetsResult(report, selected)
    out.emit(result)
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FAIL if any(t["verdict"] == "fail" for t in result.cells()) else EXIT_OK)
