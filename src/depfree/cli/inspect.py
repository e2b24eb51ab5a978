"""``depfree inspect FILE...``: facts about each binary, read without executing it."""

from __future__ import annotations

import os
import sys

import click

from depfree.api import inspect as api_inspect
from depfree.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    Output,
    examples,
    friendly_errors,
    hash_option,
    output_options,
    print_error,
)
from depfree.dataclass import dataclass
from depfree.model import Report
from depfree.options import Options


@dataclass
class InspectResult:
    """What the renderers get: the report and how the text should look."""

    report: Report
    verbose: bool = False
    all_items: bool = False
    brief: bool = False


# Each renderer imports what it needs when it runs: `inspect --json` loads neither rich nor Jinja2.
def _text(r: InspectResult, out: Output) -> None:
    from depfree.render.text import print_report

    print_report(r.report, out.console(), verbose=r.verbose, all_items=r.all_items, brief=r.brief)


def _json(r: InspectResult, out: Output) -> str:
    from depfree.render import json as render_json

    return render_json.dumps(r.report.to_json())


def _html(r: InspectResult, out: Output) -> str:
    from depfree.render import html

    return html.report_page(r.report.to_json(), "inspect")


RENDERERS = {"text": _text, "json": _json, "html": _html}


@click.command("inspect", epilog=examples(
    "depfree inspect dist/app",
    "depfree inspect -v --all dist/app          # with the evidence and every dependency",
    "depfree inspect --brief /usr/bin/*         # one line per file",
    "depfree inspect --json dist/app | jq '.binaries[0].linkage.min_glibc'"))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@output_options(RENDERERS)
@click.option("--deep", is_flag=True, help="Also list Go packages and functions (from pclntab).")
@click.option("--root", "root", type=click.Path(), default=None, metavar="DIR",
              help="Resolve each FILE's interpreter, libraries and runtime files in this root filesystem, as the "
                   "loader would (nothing is executed).")
@click.option("-v", "--verbose", is_flag=True, help="Print the evidence of each fact on an indented line.")
@click.option("--all", "all_items", is_flag=True, help="List every dependency and package (default: the first few).")
@click.option("--brief", "-b", is_flag=True, help="One line per file: path, verdict, format, OS/arch, type.")
@click.option("--verify", "do_verify", is_flag=True, help="Also run each binary in sandboxed roots and show the "
              "static needs next to what it reached for (see depfree verify).")
@click.option("--verify-root", "verify_roots", multiple=True, metavar="KIND|DIR",
              help="Roots for --verify (repeatable; default scratch and glibc).")
@hash_option(default=True)
@friendly_errors
def inspect_cmd(files: tuple[str, ...], out: Output, deep: bool, root: str | None, verbose: bool, all_items: bool,
                brief: bool, do_verify: bool, verify_roots: tuple[str, ...], hash_files: bool) -> None:
    """Report how each FILE is linked, which libc (and version) it needs, and what Go built it. A directory is
    walked for ELF, PE and Mach-O files. With --root, each FILE is also judged on that root filesystem."""
    if root is not None:
        from depfree.targets.root import check_root

        check_root(root)
    many = any(os.path.isdir(f) for f in files) or len(files) > 20
    bar = out.progress("inspecting") if many else None
    try:
        report = api_inspect(list(files), options=Options(deep=deep, hash=hash_files), progress=bar)
    finally:
        if bar:
            bar.stop()
    if root is not None:
        from depfree.targets.root import resolve_in_root

        resolve_in_root(report.binaries, root)
    if do_verify or verify_roots:
        from depfree.sandbox import verify

        roots = list(verify_roots) or ["scratch", "glibc"]
        for b in report.binaries:
            if b.slice is None:
                b.verify = verify(b.path, roots, expect_exit=None)
    for err in report.errors:
        print_error(err.path, err.error)
    out.emit(InspectResult(report, verbose, all_items, brief))
    sys.exit(EXIT_INPUT if report.errors else EXIT_OK)
