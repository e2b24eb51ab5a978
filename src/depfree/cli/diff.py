"""``depfree diff A B``: what differs between two binaries — sections, NEEDED, glibc, Go settings, dependencies,
embedded paths, size by module — and why, in Go terms."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from depfree.cli.common import EXIT_FAIL, EXIT_OK, Output, examples, friendly_errors, output_options
from depfree.errors import InputError
from depfree.render import json as render_json


def _text(d: Any, out: Output) -> None:
    from depfree.render.build import print_diff

    print_diff(d, out.console())


RENDERERS = {"text": _text, "json": lambda d, out: render_json.dumps(d.to_json())}


@click.command("diff", epilog=examples("depfree diff build-1/app build-2/app",
                                       "depfree diff old/app new/app --json -o diff.json"))
@click.argument("a", type=click.Path())
@click.argument("b", type=click.Path())
@output_options(RENDERERS)
@friendly_errors
def diff_cmd(a: str, b: str, out: Output) -> None:
    """Compare binary A with binary B section by section and fact by fact, and explain the difference (embedded
    absolute paths, VCS stamping, cgo work directories, build flags, build ID, toolchain).

    Exit 0 when the files are identical, 1 when they differ, 2 on bad input."""
    from depfree.build.diff import diff_binaries

    for p in (a, b):
        if os.path.isdir(p):
            raise InputError(f"{p}: expected a binary, found a directory")
    d = diff_binaries(a, b)
    out.emit(d)
    sys.exit(EXIT_OK if d.identical else EXIT_FAIL)
