"""``depfree inspect FILE...``: facts about each binary, read without executing it."""

from __future__ import annotations

import sys

import click

from depfree.analysis.context import Options
from depfree.api import inspect as api_inspect
from depfree.cli.common import EXIT_INPUT, EXIT_OK, echo_json, friendly_errors, print_error
from depfree.render import json as render_json
from depfree.render.text import print_report


@click.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Emit the JSON report (schema depfree.report/1).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(), help="Write the report here instead of standard output.")
@click.option("--deep", is_flag=True, help="Also list Go packages and functions (from pclntab).")
@click.option("--verify", "do_verify", is_flag=True, help="Also run each binary in sandboxed roots and show the "
              "static needs next to what it reached for (see depfree verify).")
@click.option("--verify-root", "verify_roots", multiple=True, metavar="KIND|DIR",
              help="Roots for --verify (repeatable; default scratch and glibc).")
@friendly_errors
def inspect_cmd(files: tuple[str, ...], as_json: bool, fmt: str, output: str | None, deep: bool, do_verify: bool,
                verify_roots: tuple[str, ...]) -> None:
    """Report how each FILE is linked, which libc (and version) it needs, and what Go built it."""
    report = api_inspect(list(files), options=Options(deep=deep))
    if do_verify or verify_roots:
        from depfree.sandbox import verify

        roots = list(verify_roots) or ["scratch", "glibc"]
        for b in report.binaries:
            if b.slice is None:
                b.verify = [r.to_json() for r in verify(b.path, roots, expect_exit=None)]
    for err in report.errors:
        print_error(err.path, err.error)
    if fmt == "html":
        from depfree.render.html import output_page, report_page

        output_page(report_page(report.to_json(), "inspect"), output)
    elif as_json or fmt == "json":
        echo_json(render_json.dumps(report.to_json()), output)
    else:
        print_report(report)
    sys.exit(EXIT_INPUT if report.errors else EXIT_OK)
