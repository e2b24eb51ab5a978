"""``depfree sbom PATH...``: a CycloneDX 1.6 or SPDX 2.3 SBOM of what is inside the binaries of files, trees,
archives, packages and images and what they need from the machine; ``depfree sbom --diff OLD NEW`` compares two
releases."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from depfree.cli.common import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    Output,
    examples,
    friendly_errors,
    output_options,
    print_error,
)
from depfree.cli.fleet import check_executor, fleet_options, inputs
from depfree.cli.fleet import results as fleet_results
from depfree.dataclass import dataclass
from depfree.errors import UsageError
from depfree.options import Options

if TYPE_CHECKING:
    from depfree.sbom.model import Sbom

SBOM_FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv")
DEFAULT = "cyclonedx-json"


@dataclass
class _Result:
    """An SBOM, or a diff of two (``diff``): what the renderers below are given."""

    sbom: Sbom | None = None
    diff: dict[str, Any] | None = None

    def text(self, fmt: str) -> str:
        if self.sbom is not None:
            if fmt == "text":
                raise UsageError("--format text is for --diff; an SBOM is one of " + ", ".join(SBOM_FORMATS))
            if fmt == "html":
                from depfree.render.html import sbom_page

                return sbom_page(self.sbom)
            from depfree.sbom.render import render

            return render(self.sbom, DEFAULT if fmt == "json" else fmt)
        assert self.diff is not None
        if fmt == "html":
            from depfree.render.html import sbom_diff_page

            return sbom_diff_page(self.diff)
        if fmt == "json":
            return json.dumps(self.diff, indent=2) + "\n"
        if fmt not in ("text", DEFAULT):  # the default format, when not chosen, means text for a diff
            raise UsageError(f"--diff writes text or json (or html), not {fmt}")
        from depfree.sbom.diff import render_text

        return "\n".join(render_text(self.diff)) + "\n"


def _renderer(fmt: str) -> Any:
    return lambda result, out: result.text(fmt)


RENDERERS = {name: _renderer(name) for name in (*SBOM_FORMATS, "json", "text", "html")}


@click.command("sbom", epilog=examples(
    "depfree sbom dist/app -o app.cdx.json                CycloneDX 1.6 JSON of one binary",
    "depfree sbom image.tar --format spdx-json            SPDX 2.3 of a docker save / OCI image (dpkg owners)",
    "depfree sbom --root / ./app --format cyclonedx-xml   NEEDED libraries resolved on this machine",
    "depfree sbom image.tar --format html -o sbom.html    one offline page: components, purls, needs, evidence",
    "SOURCE_DATE_EPOCH=0 depfree sbom app.tar.gz          byte-identical on every run",
    "depfree sbom --diff v1.cdx.json dist/app             what changed since the v1 SBOM (--json: as JSON)",
    "find /mirror -name '*.tar' | depfree sbom --from - --executor dask --scheduler tcp://sched:8786 -o fleet.cdx.json"))
@click.argument("paths", nargs=-1, type=click.Path())
@output_options(RENDERERS, default=DEFAULT)
@click.option("--root", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Resolve lone binaries' libraries in this root filesystem (and name their dpkg packages).")
@click.option("--diff", "do_diff", is_flag=True, help="Compare OLD NEW (SBOM JSON files or anything to scan); "
              "--format text (default), json or html.")
@click.option("--validate", is_flag=True, help="Check the document with the format library's validator; exit 1 "
              "on any error.")
@click.option("--jobs", "-j", type=int, default=None, metavar="N", help="Processes that analyse (default: all cores; the main process is one of them).")
@click.option("--depth", type=int, default=1, show_default=True, help="Levels of archives inside archives to enter.")
@fleet_options
@friendly_errors
def sbom_cmd(paths: tuple[str, ...], out: Output, root: str | None, do_diff: bool, validate: bool,
             jobs: int | None, depth: int, from_file: str | None, executor: str, scheduler: str | None) -> None:
    """An SBOM of the binaries in PATH... (files, trees, tar/zip/.deb/wheel, OCI layouts, docker-archives): Go
    modules, the Go standard library and build settings inside; NEEDED libraries, interpreter, minimum glibc and
    runtime files needed, with dpkg owners in Debian/Ubuntu images. --format cyclonedx-json (default; also --json),
    cyclonedx-xml, spdx-json, spdx-tv, html (a page to read). Deterministic: SOURCE_DATE_EPOCH sets the time."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if depth < 0:
        raise UsageError(f"--depth must be 0 or more, got {depth}")
    check_executor(executor, scheduler)
    fleet = _Fleet(executor, scheduler)
    if do_diff:
        if from_file is not None:
            raise UsageError("--from is for an SBOM of many inputs; --diff takes OLD NEW as arguments")
        _diff(paths, out, root, jobs, depth, fleet)
        return
    from depfree.sbom.build import source_date
    from depfree.sbom.render import validate_text

    if out.format == "text":
        raise UsageError("--format text is for --diff; an SBOM is one of " + ", ".join(SBOM_FORMATS))
    if validate and out.format == "html":
        raise UsageError("--validate checks an SBOM document (" + ", ".join(SBOM_FORMATS) + "), not html")
    timestamp = source_date()
    sbom = _build(inputs(paths, from_file), root, jobs, depth, timestamp, fleet, writer=out.format)
    text = _Result(sbom=sbom).text(out.format)
    out.write(text)
    for err in sbom.errors:
        print_error(None, err)
    if validate:
        fmt = DEFAULT if out.format == "json" else out.format
        problems = validate_text(text, fmt)
        for p in problems:
            print_error(None, f"{fmt} validation: {p}")
        if problems:
            sys.exit(EXIT_FAIL)
    sys.exit(EXIT_INPUT if sbom.errors else EXIT_OK)


@dataclass(frozen=True)
class _Fleet:
    """Where the scan behind the SBOM runs (``--executor``, ``--scheduler``)."""

    executor: str = "local"
    scheduler: str | None = None


def _build(paths: list[str], root: str | None, jobs: int | None, depth: int, timestamp: datetime,
           fleet: _Fleet, writer: str | None = None) -> Sbom:
    """The SBOM of ``paths``; ``writer``: the format it will be written in, whose library is imported while the
    scan runs."""
    from depfree.sbom.build import build_sbom
    from depfree.sbom.render import fewer_collections

    if root is not None and not os.path.isdir(root):
        raise UsageError(f"--root must be a directory, found {root!r}")
    # each file named by its sha256; only the facts an SBOM reads (Options.inventory)
    results = fleet_results(paths, executor=fleet.executor, scheduler=fleet.scheduler, jobs=jobs, depth=depth,
                            options=Options(deep=True, hash=True, inventory=True),
                            progress=_Preload(writer) if writer else None)
    with fewer_collections():
        return build_sbom(results, paths, root=root, timestamp=timestamp)


class _Preload:
    """The scan's progress callback: at its first call (the scan's worker processes are started by then) the
    writer's library starts importing in a thread (``sbom.render.preload``)."""

    def __init__(self, fmt: str) -> None:
        self.fmt = DEFAULT if fmt == "json" else fmt
        self.thread: threading.Thread | None = None
        self.started = False

    def __call__(self, done: int, found: int, current: str) -> None:
        if not self.started:
            from depfree.sbom.render import preload

            self.started = True
            self.thread = preload(self.fmt)


def _diff(paths: tuple[str, ...], out: Output, root: str | None, jobs: int | None, depth: int,
          fleet: _Fleet) -> None:
    from depfree.sbom import diff as sbom_diff
    from depfree.sbom.build import source_date

    if len(paths) != 2:
        raise UsageError(f"--diff takes two paths (OLD NEW), got {len(paths)}")
    if out.format not in ("text", "json", "html", DEFAULT):
        raise UsageError(f"--diff writes text or json (or html), not {out.format}")
    sides = []
    for p in paths:
        inv = sbom_diff.load_side(p)
        if inv is None:
            sbom = _build([p], root, jobs, depth, source_date(), fleet)
            for err in sbom.errors:
                print_error(None, err)
            inv = sbom_diff.inventory_of_sbom(sbom)
        sides.append(inv)
    out.emit(_Result(diff=sbom_diff.diff(sides[0], sides[1], paths[0], paths[1])))
    sys.exit(EXIT_OK)
