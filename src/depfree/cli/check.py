"""``depfree check PATH...``: a CI gate — apply a policy to binaries, directories, archives and images."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from depfree.check import gather, policy_options
from depfree.cli.common import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    Output,
    examples,
    friendly_errors,
    hash_option,
    output_options,
    print_error,
)
from depfree.cli.fleet import fleet_options, inputs
from depfree.errors import InputError
from depfree.model import Report
from depfree.policy.catalog import SEVERITIES
from depfree.policy.config import load_policy, preset_names
from depfree.policy.engine import CheckResult, evaluate, read_baseline, write_baseline
from depfree.render import html
from depfree.render.check_text import print_text, to_github, to_markdown
from depfree.render.junit import to_junit
from depfree.render.sarif import to_sarif


def _text(result: CheckResult, out: Output) -> None:
    print_text(result, out.console())


RENDERERS = {
    "text": _text,
    "json": lambda r, out: json.dumps(r.to_json(), indent=2, ensure_ascii=False),
    "sarif": lambda r, out: json.dumps(to_sarif(r), indent=2, ensure_ascii=False),
    "junit": lambda r, out: to_junit(r),
    "markdown": lambda r, out: to_markdown(r),
    "github": lambda r, out: to_github(r),
    "html": lambda r, out: html.check_page(r.to_json(), r.report.to_json() if hasattr(r, "report") else {}),
}
FORMATS = tuple(RENDERERS)


def _list_rules(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """--list-rules: the same list as `depfree rules`, then exit."""
    if not value or ctx.resilient_parsing:
        return
    from depfree.cli.rules import RULES_RENDERERS
    from depfree.policy.catalog import catalog

    Output(format="text", path=None, renderers=RULES_RENDERERS).emit(list(catalog().values()))
    ctx.exit(EXIT_OK)


def empty_inputs(report: Report, paths: list[str]) -> list[str]:
    """The PATHs (directories, archives, images) in which no executable was found."""
    return [c.path for c in report.containers or [] if c.path in paths and not c.binaries]


@click.command("check", epilog=examples(
    "depfree check --preset static dist/",
    "depfree check --policy depfree.toml --format sarif -o depfree.sarif dist/",
    "depfree check --format github --fail-on warning dist/app.tar.gz"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policy", "policy_file", type=click.Path(), help="Policy file (default: ./depfree.toml or "
              "[tool.depfree] in ./pyproject.toml).")
@click.option("--preset", type=click.Choice(preset_names()), help="Start from a ready-made policy (replaces the "
              "file's preset).")
@output_options(RENDERERS)
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Lowest severity that fails the check "
              "(default: the policy's fail_on, else error).")
@click.option("--baseline", type=click.Path(), help="Ignore findings recorded in this baseline file.")
@click.option("--write-baseline", "new_baseline", type=click.Path(),
              help="Record the current findings as the baseline and pass.")
@click.option("--allow-empty", is_flag=True, help="Pass a PATH that holds no executable (default: exit 2).")
@click.option("--list-rules", is_flag=True, is_eager=True, expose_value=False, callback=_list_rules,
              help="List the rules (as `depfree rules`) and exit; `depfree explain DF003` explains one.")
@hash_option(default=False)
@fleet_options
@friendly_errors
def check_cmd(paths: tuple[str, ...], policy_file: str | None, preset: str | None, out: Output,
              fail_on: str | None, baseline: str | None, new_baseline: str | None, allow_empty: bool,
              from_file: str | None, executor: str, scheduler: str | None, hash_files: bool) -> None:
    """Check PATHs against a policy; exit 0 pass, 1 a finding at/above --fail-on, 2 an input that could not be read
    or holds no executable (see docs/policy.md for how presets, files and flags combine)."""
    policy = load_policy(policy_file, preset)
    if fail_on:
        policy.fail_on = fail_on
    baseline = baseline or policy.baseline
    known = read_baseline(baseline) if baseline and not new_baseline else None
    options = dataclasses.replace(policy_options(policy), hash=hash_files)
    paths = tuple(inputs(paths, from_file))
    bar = out.progress("checking")
    try:
        report = gather(list(paths), options, bar, executor, scheduler)
    finally:
        if bar:
            bar.stop()
    empty = empty_inputs(report, list(paths))
    if empty and not allow_empty:
        raise InputError("no executables found under " + ", ".join(empty)
                         + " (wrong path, or a build that produced nothing? --allow-empty passes it)")
    result = evaluate(report, policy, known)
    for e in result.errors:
        print_error(e["path"], e["error"])
    if new_baseline:
        n = write_baseline(result, new_baseline)
        click.echo(f"depfree: wrote {n} findings to {new_baseline}", err=True)
    result.report = report  # type: ignore[attr-defined]  # the judged report, for --format html's matrix
    out.emit(result)
    # An input that could not be read never passes: the gate cannot vouch for what it did not see.
    if result.errors:
        sys.exit(EXIT_INPUT)
    if new_baseline:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_OK if result.passed else EXIT_FAIL)

