"""``depfree diff A B``: what differs between two binaries — sections, NEEDED, glibc, Go settings, dependencies,
embedded paths, size by module — and why, in Go terms."""

from __future__ import annotations

import os
import sys

import click

from depfree.cli.build import emit, emit_rendered
from depfree.cli.common import EXIT_FAIL, EXIT_OK, friendly_errors
from depfree.errors import InputError
from depfree.render import json as render_json

EXAMPLES = """\b
Examples:
  depfree diff build-1/app build-2/app
  depfree diff old/app new/app --json -o diff.json
"""


@click.command("diff", epilog=EXAMPLES)
@click.argument("a", type=click.Path())
@click.argument("b", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json (schema depfree.diff/1).")
@click.option("-o", "--output", type=click.Path(), help="Write the report to this file.")
@friendly_errors
def diff_cmd(a: str, b: str, fmt: str, as_json: bool, output: str | None) -> None:
    """Compare binary A with binary B section by section and fact by fact, and explain the difference (embedded
    absolute paths, VCS stamping, cgo work directories, build flags, build ID, toolchain).

    Exit 0 when the files are identical, 1 when they differ, 2 on bad input."""
    from depfree.build.diff import diff_binaries

    for p in (a, b):
        if os.path.isdir(p):
            raise InputError(f"{p}: expected a binary, found a directory")
    d = diff_binaries(a, b)
    if as_json or fmt == "json":
        emit(render_json.dumps(d.to_json()), output)
    else:
        from depfree.render.build import print_diff

        emit_rendered(lambda console: print_diff(d, console), output)
    sys.exit(EXIT_OK if d.identical else EXIT_FAIL)
