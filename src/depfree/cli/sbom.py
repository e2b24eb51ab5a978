"""``depfree sbom PATH...``: a CycloneDX 1.6 or SPDX 2.3 SBOM of what is inside the binaries of files, trees,
archives, packages and images and what they need from the machine; ``depfree sbom --diff OLD NEW`` compares two
releases."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from depfree.analysis.context import Options
from depfree.cli.common import EXIT_FAIL, EXIT_INPUT, EXIT_OK, friendly_errors, print_error
from depfree.errors import UsageError

if TYPE_CHECKING:
    from depfree.sbom.model import Sbom

FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv")
DIFF_FORMATS = ("text", "json")

EPILOG = """\b
Examples:
  depfree sbom dist/app -o app.cdx.json               CycloneDX 1.6 JSON of one binary
  depfree sbom image.tar --format spdx-json           SPDX 2.3 of a docker save / OCI image (dpkg owners)
  depfree sbom --root / ./app --format cyclonedx-xml  NEEDED libraries resolved on this machine
  SOURCE_DATE_EPOCH=0 depfree sbom app.tar.gz         byte-identical on every run
  depfree sbom --diff v1.cdx.json dist/app            what changed since the v1 SBOM (text; --json for JSON)
"""


@click.command("sbom", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS + DIFF_FORMATS), default=None,
              help="cyclonedx-json (default), cyclonedx-xml, spdx-json, spdx-tv; with --diff: text (default) or json.")
@click.option("--json", "as_json", is_flag=True, help="cyclonedx-json (with --diff: the diff as JSON).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to FILE instead of stdout.")
@click.option("--root", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Resolve lone binaries' libraries in this root filesystem (and name their dpkg packages).")
@click.option("--diff", "do_diff", is_flag=True, help="Compare OLD NEW (SBOM JSON files or anything to scan).")
@click.option("--validate", is_flag=True, help="Check the document with the format library's validator; exit 1 "
              "on any error.")
@click.option("--jobs", "-j", type=int, default=None, metavar="N", help="Worker processes (default: all cores).")
@click.option("--depth", type=int, default=1, show_default=True, help="Levels of archives inside archives to enter.")
@friendly_errors
def sbom_cmd(paths: tuple[str, ...], fmt: str | None, as_json: bool, output: str | None, root: str | None,
             do_diff: bool, validate: bool, jobs: int | None, depth: int) -> None:
    """An SBOM of the binaries in PATH... (files, trees, tar/zip/.deb/wheel, OCI layouts, docker-archives): Go
    modules, the Go standard library and build settings inside; NEEDED libraries, interpreter, minimum glibc and
    runtime files needed, with dpkg owners in Debian/Ubuntu images. Deterministic: SOURCE_DATE_EPOCH sets the time."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if depth < 0:
        raise UsageError(f"--depth must be 0 or more, got {depth}")
    if do_diff:
        _diff(paths, fmt, as_json, output, root, jobs, depth)
        return
    if fmt in DIFF_FORMATS:
        raise UsageError(f"--format {fmt} is for --diff; an SBOM is one of {', '.join(FORMATS)}")
    if as_json and fmt not in (None, "cyclonedx-json"):
        raise UsageError(f"--json means --format cyclonedx-json, which contradicts --format {fmt}")
    fmt = fmt or "cyclonedx-json"
    from depfree.sbom import build as sbom_build
    from depfree.sbom.render import render, validate_text

    timestamp = sbom_build.source_date()
    sbom = _build(list(paths), root, jobs, depth, timestamp)
    text = render(sbom, fmt)
    _write(text, output)
    for err in sbom.errors:
        print_error(None, err)
    if validate:
        problems = validate_text(text, fmt)
        for p in problems:
            print_error(None, f"{fmt} validation: {p}")
        if problems:
            sys.exit(EXIT_FAIL)
    sys.exit(EXIT_INPUT if sbom.errors else EXIT_OK)


def _build(paths: list[str], root: str | None, jobs: int | None, depth: int, timestamp: datetime) -> Sbom:
    from depfree.sbom.build import build_sbom
    from depfree.scan import iter_scan

    if root is not None and not os.path.isdir(root):
        raise UsageError(f"--root must be a directory, found {root!r}")
    results = iter_scan(paths, jobs=jobs, depth=depth, options=Options(deep=True))
    return build_sbom(results, paths, root=root, timestamp=timestamp)


def _diff(paths: tuple[str, ...], fmt: str | None, as_json: bool, output: str | None, root: str | None,
          jobs: int | None, depth: int) -> None:
    from depfree.sbom import diff as sbom_diff
    from depfree.sbom.build import source_date

    if len(paths) != 2:
        raise UsageError(f"--diff takes two paths (OLD NEW), got {len(paths)}")
    if fmt is not None and fmt not in DIFF_FORMATS:
        raise UsageError(f"--diff writes text or json, not {fmt}")
    sides = []
    for p in paths:
        inv = sbom_diff.load_side(p)
        if inv is None:
            sbom = _build([p], root, jobs, depth, source_date())
            for err in sbom.errors:
                print_error(None, err)
            inv = sbom_diff.inventory_of_sbom(sbom)
        sides.append(inv)
    d = sbom_diff.diff(sides[0], sides[1], paths[0], paths[1])
    if as_json or fmt == "json":
        text = json.dumps(d, indent=2) + "\n"
    else:
        text = "\n".join(sbom_diff.render_text(d)) + "\n"
    _write(text, output)
    sys.exit(EXIT_OK)


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write the output ({exc.strerror})") from None
