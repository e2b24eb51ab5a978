"""``depfree scan PATH...``: every executable in files, directories, archives and images, each checked against
what its own package or image holds, with the release's checksums verified."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any

import click

from depfree.api import parse_limits
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
from depfree.cli.fleet import fleet_options, inputs
from depfree.cli.fleet import results as fleet_results
from depfree.dataclass import dataclass
from depfree.errors import UsageError
from depfree.model import Report
from depfree.options import Options
from depfree.scan import ScanResult

if TYPE_CHECKING:  # rich is imported when text is printed: `scan --json` never loads it
    from rich.console import Console


def print_container(console: Console, res: ScanResult, details: bool) -> None:
    from depfree.render.scan_text import print_container as print_it

    print_it(console, res, details)


def _summary(r: ScanOutcome, out: Output) -> None:
    from depfree.render.scan_text import print_summary

    print_summary(out.console(), r.totals)


def _html(r: ScanOutcome, out: Output) -> str:
    from depfree.render import html

    return html.report_page(r.report.to_json(), "scan")


@dataclass
class ScanOutcome:
    """The whole scan: the report (with ``containers``) and the totals of the summary line."""

    report: Report
    totals: dict[str, int]


RENDERERS = {
    # text: each container is printed as soon as it is read (scan_cmd), the renderer adds the summary line
    "text": lambda r, out: _summary(r, out),
    # JSON on one line (schema depfree.report/2, with 'containers'): pipe it to `jq .` to read it
    "json": lambda r, out: _StreamedJson(out).whole(r.report),  # (scan_cmd streams it: the same bytes)
    "html": lambda r, out: _html(r, out),
    # one line per container as each is done (scan_cmd), the renderer adds the summary line
    "jsonl": lambda r, out: _jsonl().summary_line(_tool(), r.totals),
}


@click.command("scan", epilog=examples("depfree scan dist/", "depfree scan release.tar.gz image.tar --details",
                                       "depfree scan --json /usr/lib | jq '.containers[0].summary'",
                                       "depfree scan hugo_0.111.3-1_amd64.deb    # NEEDED sonames through Depends",
                                       "depfree scan dist/*.whl                  # each .so against its wheel tag",
                                       "depfree scan /usr/bin --root /           # what ldd says, nothing run",
                                       "depfree scan app.tar.gz -t debian-12     # the machine's part on Debian 12",
                                       "find /mirror -name '*.tar' | depfree scan --from - --format jsonl "
                                       "--executor dask --scheduler tcp://sched:8786"))
@click.argument("paths", nargs=-1, type=click.Path())
@output_options(RENDERERS)
@click.option("--jobs", "-j", type=int, default=None, metavar="N", help="Processes that analyse (default: all "
              "cores; the main process is one of them, 1 = no pool); with --executor dask and no --scheduler, the "
              "local cluster's workers.")
@click.option("--depth", type=int, default=1, show_default=True, help="Levels of archives inside archives to enter.")
@click.option("--checksums", "checksums_file", type=click.Path(), default=None, metavar="FILE",
              help="Checksum manifest to verify against (default: SHA256SUMS, *checksums.txt, *.sha256 beside "
                   "each PATH).")
@click.option("--root", "root", type=click.Path(), default=None, metavar="DIR",
              help="Judge every binary as installed on this root filesystem: libraries, interpreter and files are "
                   "looked up there the way the loader would (nothing is executed). `--root /` answers what ldd "
                   "answers, safely.")
@click.option("--target", "-t", "target_names", multiple=True, metavar="NAME",
              help="Judge what release archives, npm tarballs, directories and files need from the machine against "
                   "these target profiles (repeatable; see `depfree targets --list`): a need unmet there fails.")
@click.option("--targets-file", type=click.Path(), default=None, help="Extra target profiles (TOML).")
@click.option("--details", is_flag=True, help="Also print the full inspect report of every binary.")
@click.option("--deep", is_flag=True, help="Also list Go packages and functions (from pclntab).")
@click.option("--limit", "limits", multiple=True, metavar="NAME=SIZE", help="Change a bound on hostile archives "
              "(repeatable): max_member, max_total, max_ratio, ratio_floor, spool_over, max_entries, e.g. "
              "--limit max_total=8G (defaults and measured worst cases: docs/limits.md).")
@hash_option(default=False)
@fleet_options
@friendly_errors
def scan_cmd(paths: tuple[str, ...], out: Output, jobs: int | None, depth: int, checksums_file: str | None,
             root: str | None, target_names: tuple[str, ...], targets_file: str | None, details: bool,
             deep: bool, limits: tuple[str, ...], from_file: str | None, executor: str, scheduler: str | None,
             hash_files: bool) -> None:
    """Scan files, directory trees, archives (tar, tar.gz/bz2/xz/zst, zip, wheel, .deb) and container images (OCI
    layout, docker save): one verdict per binary, judged the way its package is really installed and run — what is
    missing from the package (✗) kept apart from what it needs from the machine it lands on."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if depth < 0:
        raise UsageError(f"--depth must be 0 or more, got {depth}")
    streaming = out.format == "text"
    console = out.console() if streaming else None  # (only text is printed container by container)
    progress = out.progress("scanning")
    if target_names or targets_file:
        from depfree.targets.profiles import load_profiles, select

        profiles = load_profiles(targets_file)
        if target_names:
            select(profiles, list(target_names))  # an unknown name is a usage error, now
    options = Options(deep=deep, targets=list(target_names) or None, targets_file=targets_file, hash=hash_files)
    results = fleet_results(inputs(paths, from_file), executor=executor, scheduler=scheduler, jobs=jobs,
                            depth=depth, checksums=checksums_file, options=options, progress=progress, root=root,
                            limits=parse_limits(limits))
    report = Report(tool=_tool(), containers=[])
    totals = {"containers": 0, "binaries": 0, "ok": 0, "warn": 0, "fail": 0, "errors": 0}
    # JSON: each container's binaries written as it comes in, not kept (the report's other fields at the end)
    streamed = _StreamedJson(out) if out.format == "json" else None
    try:
        for res in results:
            if progress:
                progress.stop()
            for err in res.errors:
                print_error(err.path, err.error)
            if out.format == "jsonl":  # written now, not kept
                out.write(_jsonl().container_line(res))
                _count(res, totals)
                continue
            if streamed is not None:
                streamed.add(res.binaries)
                _collect(report, res, totals, binaries=False)
                continue
            _collect(report, res, totals)
            if console is not None and res.container:
                print_container(console, res, details)
    finally:
        if progress:
            progress.stop()
    if streamed is not None:
        streamed.finish(report)
    else:
        out.emit(ScanOutcome(report, totals))
    sys.exit(EXIT_INPUT if totals["errors"] else EXIT_OK)


def _jsonl() -> Any:
    from depfree.render import scan_jsonl  # (with the json module: imported for --format jsonl only)

    return scan_jsonl


def _tool() -> dict[str, str]:
    from depfree.api import tool_info

    return tool_info()


class _StreamedJson:
    """``--json`` written container by container (render.json.StreamedReport): the same document as the whole
    report's (render.json.write_model), without keeping every binary of a fleet of inputs until the end."""

    def __init__(self, out: Output) -> None:
        from depfree.render import json as render_json

        self.stream = out.stream()  # (a bad -o FILE is a usage error before the scan starts)
        # a UTF-8 file or pipe takes orjson's bytes as they are, through its buffer (each piece after the text
        # written before it: the text layer is flushed first)
        buffer = getattr(self.stream, "buffer", None)
        utf8 = (getattr(self.stream, "encoding", "") or "").lower().replace("-", "") == "utf8"
        self.writer = render_json.StreamedReport(self._text, write_utf8=self._bytes if buffer and utf8 else None)
        self.buffer = buffer
        self.text_pending = False

    def _text(self, text: str) -> None:
        self.stream.write(text)
        self.text_pending = True

    def _bytes(self, data: bytes) -> None:
        if self.text_pending:
            self.stream.flush()
            self.text_pending = False
        assert self.buffer is not None
        self.buffer.write(data)

    def add(self, binaries: list[Any]) -> None:
        self.writer.add(binaries)

    def finish(self, report: Report) -> None:
        self.writer.finish(report)
        self.stream.write("\n")
        self.stream.flush()

    def whole(self, report: Report) -> None:
        """A report held whole: its binaries, then the rest."""
        self.add(report.binaries)
        self.finish(dataclasses.replace(report, binaries=[]))


def _collect(report: Report, res: ScanResult, totals: dict[str, int], binaries: bool = True) -> None:
    if res.container:
        assert report.containers is not None
        report.containers.append(res.container)
    if binaries:
        report.binaries.extend(res.binaries)
    report.errors.extend(res.errors)
    _count(res, totals)


def _count(res: ScanResult, totals: dict[str, int]) -> None:
    totals["containers"] += 1 if res.container else 0
    totals["binaries"] += len(res.binaries)
    for b in res.binaries:
        totals[(b.resolution.verdict if b.resolution else None) or "ok"] += 1
    totals["errors"] += len(res.errors)
