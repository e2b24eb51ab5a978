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
@click.option("--deep", is_flag=True, help="Also list Go packages and functions (from pclntab).")
@click.option("--root", "root", type=click.Path(), default=None, metavar="DIR",
              help="Resolve each FILE's interpreter, libraries and runtime files in this root filesystem, as the "
                   "loader would (nothing is executed).")
@click.option("--verify", "do_verify", is_flag=True, help="Also run each binary in sandboxed roots and show the "
              "static needs next to what it reached for (see depfree verify).")
@click.option("--verify-root", "verify_roots", multiple=True, metavar="KIND|DIR",
              help="Roots for --verify (repeatable; default scratch and glibc).")
@friendly_errors
def inspect_cmd(files: tuple[str, ...], as_json: bool, deep: bool, root: str | None, do_verify: bool,
                verify_roots: tuple[str, ...]) -> None:
    """Report how each FILE is linked, which libc (and version) it needs, and what Go built it."""
    if root is not None:
        from depfree.targets.root import check_root

        check_root(root)
    report = api_inspect(list(files), options=Options(deep=deep))
    if root is not None:
        from depfree.targets.root import resolve_in_root

        resolve_in_root(report.binaries, root)
    if do_verify or verify_roots:
        from depfree.sandbox import verify

        roots = list(verify_roots) or ["scratch", "glibc"]
        for b in report.binaries:
            if b.slice is None:
                b.verify = [r.to_json() for r in verify(b.path, roots, expect_exit=None)]
    for err in report.errors:
        print_error(err.path, err.error)
    if as_json:
        echo_json(render_json.dumps(report.to_json()))
    else:
        print_report(report)
    sys.exit(EXIT_INPUT if report.errors else EXIT_OK)
