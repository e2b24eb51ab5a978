"""``depfree hardening PATH...``: a checksec-like table over many files, right where checksec is wrong for Go."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from depfree.api import files_under, inspect
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
from depfree.errors import UsageError
from depfree.model import Binary, FileError, to_json
from depfree.render.hardening import COLUMNS as COLUMNS
from depfree.render.hardening import print_hardening, to_csv


@dataclass
class HardeningResult:
    binaries: list[Binary]
    errors: list[FileError]
    verbose: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"schema": "depfree.hardening/1", "binaries": [
            {"path": b.path, "slice": b.slice, "format": b.format, "hardening": to_json(b.hardening),
             "debug": to_json(b.debug), "packer": to_json(b.packer)} for b in self.binaries],
            "errors": [{"path": e.path, "error": e.error} for e in self.errors]}


RENDERERS = {
    "text": lambda r, out: print_hardening(out.console(), r.binaries, verbose=r.verbose),
    "json": lambda r, out: json.dumps(r.to_json(), indent=2),
    "csv": lambda r, out: to_csv(r.binaries),
}


def _files(paths: tuple[str, ...], recursive: bool) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(files_under(p, recursive=recursive))
        else:
            out.append(p)
    return out


@click.command("hardening", epilog=examples("depfree hardening dist/app /usr/bin/ssh",
                                            "depfree hardening -r /usr/lib/x86_64-linux-gnu --format csv -o libs.csv",
                                            "depfree hardening -v dist/app"))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@output_options(RENDERERS)
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@click.option("-r", "--recursive", is_flag=True, help="Walk directories recursively.")
@click.option("-v", "--verbose", is_flag=True, help="Also print the evidence behind each value.")
@hash_option(default=False)
@friendly_errors
def hardening_cmd(paths: tuple[str, ...], out: Output, as_csv: bool, recursive: bool, verbose: bool,
                  hash_files: bool) -> None:
    """Exploit mitigations of every binary in PATHs (files or directories; non-binaries are skipped)."""
    if as_csv:
        if out.format not in ("text", "csv"):
            raise UsageError(f"--csv is --format csv; got --format {out.format} as well")
        out.format = "csv"
    files = _files(paths, recursive)
    bar = out.progress("hardening") if len(files) > 1 else None
    try:
        report = inspect(files, progress=bar, hash=hash_files)
    finally:
        if bar:
            bar.stop()
    explicit = set(paths)
    errors = [e for e in report.errors if e.path in explicit or "not an executable" not in e.error
              and "empty file" not in e.error]
    for e in errors:
        print_error(e.path, e.error)
    out.emit(HardeningResult(report.binaries, errors, verbose))
    sys.exit(EXIT_INPUT if any(e.path in explicit for e in errors) else EXIT_OK)
