"""``depfree check PATH...``: a CI gate — apply a policy to binaries, directories, archives and images."""

from __future__ import annotations

import json
import sys

import click

from depfree.analysis.context import Options
from depfree.cli.common import EXIT_FAIL, EXIT_INPUT, EXIT_OK, friendly_errors
from depfree.cli.fleet import EXIT_INTERRUPTED, fleet_options, inputs
from depfree.policy.catalog import SEVERITIES
from depfree.policy.config import load_policy, preset_names
from depfree.policy.engine import CheckResult, evaluate, read_baseline, write_baseline
from depfree.render.check_text import print_text, to_github, to_markdown
from depfree.render.junit import to_junit
from depfree.render.sarif import to_sarif

FORMATS = ("text", "json", "sarif", "junit", "markdown", "github")


def gather(paths: list[str], options: Options, executor: str = "local", scheduler: str | None = None) -> dict:
    """The report for all PATHs: files, directories, archives and images (through ``depfree scan``, on the local
    pool or a Dask cluster)."""
    from depfree.cli.fleet import report

    return report(paths, executor=executor, scheduler=scheduler, options=options).to_json()


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--policy", "policy_file", type=click.Path(), help="Policy file (default: ./depfree.toml or "
              "[tool.depfree] in ./pyproject.toml).")
@click.option("--preset", type=click.Choice(preset_names()), help="Start from a ready-made policy.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Lowest severity that fails the check "
              "(default: the policy's fail_on, else error).")
@click.option("--baseline", type=click.Path(), help="Ignore findings recorded in this baseline file.")
@click.option("--write-baseline", "new_baseline", type=click.Path(),
              help="Record the current findings as the baseline and pass.")
@click.option("--output", "-o", type=click.Path(), help="Write the report here instead of standard output.")
@fleet_options
@friendly_errors
def check_cmd(paths: tuple[str, ...], policy_file: str | None, preset: str | None, fmt: str, fail_on: str | None,
              baseline: str | None, new_baseline: str | None, output: str | None, from_file: str | None,
              executor: str, scheduler: str | None) -> None:
    """Check PATHs against a policy; exit 0 pass, 1 violations at/above --fail-on, 2 usage or input errors."""
    policy = load_policy(policy_file, preset)
    if fail_on:
        policy.fail_on = fail_on
    baseline = baseline or policy.baseline
    known = read_baseline(baseline) if baseline and not new_baseline else None
    options = Options(targets=policy.targets or None, targets_file=policy.targets_file)
    paths = tuple(inputs(paths, from_file))
    try:
        report = gather(list(paths), options, executor, scheduler)
    except KeyboardInterrupt:
        click.echo("depfree: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    result = evaluate(report, policy, known)
    if new_baseline:
        n = write_baseline(result, new_baseline)
        click.echo(f"depfree: wrote {n} findings to {new_baseline}", err=True)
    text = render(result, fmt)
    if text is not None:
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            click.echo(text, nl=False)
    for e in result.errors:
        click.echo(f"depfree: {e['path']}: {e['error']}", err=True)
    # A PATH that could not be read at all is an input error; bad entries inside a directory, archive or image are
    # reported and the check goes on.
    if any(e["path"] in paths for e in result.errors):
        sys.exit(EXIT_INPUT)
    if new_baseline:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_OK if result.passed else EXIT_FAIL)


def render(result: CheckResult, fmt: str) -> str | None:
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return to_junit(result)
    if fmt == "markdown":
        return to_markdown(result)
    if fmt == "github":
        return to_github(result)
    print_text(result)
    return None
