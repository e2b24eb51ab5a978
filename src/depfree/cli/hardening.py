"""``depfree hardening PATH...``: a checksec-like table over many files, right where checksec is wrong for Go."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

import click
from rich.console import Console
from rich.table import Table

from depfree.api import inspect
from depfree.cli.common import EXIT_INPUT, EXIT_OK, friendly_errors, print_error
from depfree.model import Binary

COLUMNS = ("relro", "pie", "nx", "canary", "fortify", "rwx_segments", "rpath_risks", "symtab", "packer")


def _files(paths: tuple[str, ...], recursive: bool) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p, followlinks=False):
                out.extend(os.path.join(root, f) for f in sorted(files)
                           if os.path.isfile(os.path.join(root, f)) and not os.path.islink(os.path.join(root, f)))
                if not recursive:
                    dirs.clear()
                dirs.sort()
        else:
            out.append(p)
    return out


def _row(b: Binary) -> dict[str, str]:
    h, d = b.hardening or {}, b.debug or {}
    fort = h.get("fortify")
    return {
        "path": b.path + (f" [{b.slice}]" if b.slice else ""),
        "format": b.format,
        "relro": str(h.get("relro", "n/a")),
        "pie": str(h.get("pie")),
        "nx": str(h.get("nx")),
        "canary": str(h.get("canary", "n/a")),
        "fortify": f"{fort['fortified']}/{fort['fortifiable']}" if isinstance(fort, dict) else str(fort or "n/a"),
        "rwx_segments": str(len(h.get("rwx_segments") or [])),
        "rpath_risks": ",".join(r["path"] for r in h.get("rpath_risks") or []) or "-",
        "symtab": str(d.get("symtab")),
        "packer": str((b.packer or {}).get("name") or "-"),
    }


@click.command("hardening")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="JSON: {schema, binaries: [{path, hardening, debug, packer}]}.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per binary.")
@click.option("-r", "--recursive", is_flag=True, help="Walk directories recursively.")
@friendly_errors
def hardening_cmd(paths: tuple[str, ...], as_json: bool, as_csv: bool, recursive: bool) -> None:
    """Exploit mitigations of every binary in PATHs (files or directories; non-binaries are skipped)."""
    files = _files(paths, recursive)
    report = inspect(files)
    explicit = set(paths)
    errors = [e for e in report.errors if e.path in explicit or "not an executable" not in e.error
              and "empty file" not in e.error]
    for e in errors:
        print_error(e.path, e.error)
    rows = [_row(b) for b in report.binaries]
    if as_json:
        click.echo(json.dumps({"schema": "depfree.hardening/1", "binaries": [
            {"path": b.path, "slice": b.slice, "format": b.format, "hardening": b.hardening, "debug": b.debug,
             "packer": b.packer} for b in report.binaries],
            "errors": [{"path": e.path, "error": e.error} for e in errors]}, indent=2))
    elif as_csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["path", "format", *COLUMNS])
        w.writeheader()
        w.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        table = Table(box=None, header_style="bold")
        for col in ("path", *COLUMNS):
            table.add_column(col)
        for r in rows:
            table.add_row(*(r[c] for c in ("path", *COLUMNS)))
        Console(highlight=False).print(table)
    sys.exit(EXIT_INPUT if any(e.path in explicit for e in errors) else EXIT_OK)
