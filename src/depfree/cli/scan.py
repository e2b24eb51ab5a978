"""``depfree scan PATH...``: every executable in files, directories, archives and images, each checked against
what its own package or image holds, with the release's checksums verified."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from depfree.analysis.context import Options
from depfree.cli.common import EXIT_INPUT, EXIT_OK, echo_json, friendly_errors, print_error
from depfree.cli.fleet import EXIT_INTERRUPTED, fleet_options, inputs
from depfree.cli.fleet import results as fleet_results
from depfree.errors import UsageError
from depfree.model import Binary, Report
from depfree.render import scan_jsonl as jsonl
from depfree.scan import ScanResult


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(("text", "json", "jsonl")), default="text", show_default=True,
              help="json: the whole report (schema depfree.report/1, with 'containers') on one line; jsonl: one line "
                   "per container as each is done, then a summary line.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json: pipe it to `jq .` to read it.")
@click.option("--jobs", "-j", type=int, default=None, metavar="N", help="Worker processes (default: all cores; 1 = "
              "no pool); with --executor dask and no --scheduler, the local cluster's workers.")
@click.option("--depth", type=int, default=1, show_default=True, help="Levels of archives inside archives to enter.")
@click.option("--checksums", "checksums_file", type=click.Path(), default=None, metavar="FILE",
              help="Checksum manifest to verify against (default: SHA256SUMS, *checksums.txt, *.sha256 beside "
                   "each PATH).")
@click.option("--details", is_flag=True, help="Also print the full inspect report of every binary.")
@click.option("--deep", is_flag=True, help="Also list Go packages and functions (from pclntab).")
@fleet_options
@friendly_errors
def scan_cmd(paths: tuple[str, ...], fmt: str, as_json: bool, jobs: int | None, depth: int,
             checksums_file: str | None, details: bool, deep: bool, from_file: str | None, executor: str,
             scheduler: str | None) -> None:
    """Scan files, directory trees, archives (tar, tar.gz/bz2/xz/zst, zip, .deb) and container images (OCI layout,
    docker save): does each binary find its interpreter, libraries and files inside its own package?

    \b
    Example:
      depfree scan dist/app.tar.gz /srv/images/web.tar
      find /mirror -name '*.tar' | depfree scan --from - --executor dask --scheduler tcp://sched:8786 --format jsonl
    """
    fmt = "json" if as_json else fmt
    as_json = fmt != "text"
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if depth < 0:
        raise UsageError(f"--depth must be 0 or more, got {depth}")
    console = Console(highlight=False, soft_wrap=True)
    progress = None if as_json or not sys.stderr.isatty() else _ProgressBar()
    results = fleet_results(inputs(paths, from_file), executor=executor, scheduler=scheduler, jobs=jobs,
                            depth=depth, checksums=checksums_file, options=Options(deep=deep), progress=progress)
    report = Report(tool=_tool(), containers=[])
    totals = {"containers": 0, "binaries": 0, "contained": 0, "errors": 0}
    try:
        for res in results:
            if progress:
                progress.clear()
            for err in res.errors:
                print_error(err.path, err.error)
            if fmt == "jsonl":
                _count(res, totals)
                echo_json(jsonl.container_line(res))
                continue
            _collect(report, res, totals)
            if not as_json and res.container:
                _print_container(console, res, details)
    except KeyboardInterrupt:
        print_error(None, "interrupted")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if progress:
            progress.stop()
    if fmt == "jsonl":
        echo_json(jsonl.summary_line(_tool(), totals))
        sys.exit(EXIT_INPUT if totals["errors"] else EXIT_OK)
    if as_json:
        echo_json(_dumps(report))
    else:
        _print_summary(console, totals)
    sys.exit(EXIT_INPUT if report.errors else EXIT_OK)


def _tool() -> dict[str, str]:
    from depfree.api import tool_info

    return tool_info()


def _dumps(report: Report) -> str:
    from depfree.render import json as render_json

    return render_json.dumps_model(report)


def _collect(report: Report, res: ScanResult, totals: dict[str, int]) -> None:
    if res.container:
        assert report.containers is not None
        report.containers.append(res.container)
    report.binaries.extend(res.binaries)
    report.errors.extend(res.errors)
    _count(res, totals)


def _count(res: ScanResult, totals: dict[str, int]) -> None:
    totals["containers"] += 1 if res.container else 0
    totals["binaries"] += len(res.binaries)
    totals["contained"] += sum(1 for b in res.binaries if (b.resolution or {}).get("self_contained"))
    totals["errors"] += len(res.errors)


def _print_container(console: Console, res: ScanResult, details: bool) -> None:
    from depfree.analysis.resolution import summary_line

    c = res.container
    n = c["binaries"]
    contained = c["summary"]["self_contained"]
    kind = c["kind"] + (f" ({c['compression']})" if c.get("compression") else "")
    if n == 0:
        verdict = "[dim]no executables[/dim]"
    elif contained == n:
        verdict = "[bold green]✓ self-contained[/bold green]"
    else:
        verdict = f"[bold yellow]✗ not self-contained[/bold yellow] ({n - contained} of {_n(n, 'binary')} need more)"
    errs = f", {_n(c['errors'], 'error')}" if c.get("errors") else ""
    console.print(f"[bold]{escape(c['path'])}[/bold]  {kind}, {_n(c['files'], 'file')}, {_n(n, 'binary')}{errs}: "
                  f"{verdict}")
    image = c.get("image")
    if image:
        console.print(f"  image {escape(str(image.get('name') or '(untagged)'))}, {len(image.get('layers') or [])} "
                      "layers")
    prefix = c["path"] + "!"
    for b in res.binaries:
        shown = b.path[len(prefix):] if b.path.startswith(prefix) else b.path
        if b.slice:
            shown += f" [{b.slice}]"
        r = b.resolution or {}
        mark = "[green]✓[/green]" if r.get("self_contained") else "[yellow]✗[/yellow]"
        line = summary_line(r, c["kind"]) if r else ""
        console.print(f"  {mark} {escape(shown)}: {escape(line)}  [dim]{escape(_short_verdict(b))}[/dim]")
        if details:
            from depfree.render.text import render_binary

            for text in render_binary(b):
                console.print("      " + text)
    sums = c.get("checksums")
    if sums:
        console.print("  " + _checksum_line(sums))


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count:,} {noun if count == 1 else plural}"


def _short_verdict(b: Binary) -> str:
    return b.verdict.split(";")[0] if b.verdict else ""


def _checksum_line(sums: dict[str, Any]) -> str:
    parts = [f"{len(sums['ok'])} ok"]
    if sums["mismatched"]:
        names = ", ".join(m["name"] for m in sums["mismatched"][:5])
        parts.append(f"[bold red]{len(sums['mismatched'])} mismatched[/bold red] ({escape(names)})")
    if sums["missing"]:
        parts.append(f"[yellow]{len(sums['missing'])} missing[/yellow] ({escape(', '.join(sums['missing'][:5]))})")
    if sums["unlisted"]:
        parts.append(f"{len(sums['unlisted'])} unlisted ({escape(', '.join(sums['unlisted'][:5]))})")
    return f"checksums [dim]({escape(sums['manifest'])})[/dim]: " + ", ".join(parts)


def _print_summary(console: Console, totals: dict[str, int]) -> None:
    n, ok = totals["binaries"], totals["contained"]
    errs = f"; {_n(totals['errors'], 'error')} (see above)" if totals["errors"] else ""
    color = "green" if n == ok else "yellow"
    console.print(f"\n[bold]summary[/bold]: {_n(totals['containers'], 'container')}, {_n(n, 'binary')}: "
                  f"[{color}]{ok} self-contained, {n - ok} not[/{color}]{errs}")


class _ProgressBar:
    """A rich progress bar on stderr, refreshed at most ten times a second from the scan's callback (no thread)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[dim]{task.description}[/dim]"),
                                 console=Console(stderr=True), auto_refresh=False, transient=True)
        self.task = self.progress.add_task("", total=None)
        self.started = False
        self.last = 0.0

    def __call__(self, done: int, found: int, current: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if not self.started:
            self.progress.start()
            self.started = True
        self.progress.update(self.task, completed=done, total=max(found, 1), description=escape(current[-60:]))
        self.progress.refresh()

    def clear(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False

    def stop(self) -> None:
        self.clear()
