"""``depfree targets FILE... [--target NAME...]``: will it run there? A matrix of ✓ / ⚠ / ✗ with reasons and fixes."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from depfree.analysis.context import Options
from depfree.api import inspect
from depfree.cli.common import EXIT_FAIL, EXIT_INPUT, EXIT_OK, friendly_errors, print_error
from depfree.errors import UsageError
from depfree.targets.profiles import Profile, load_profiles, select

SCHEMA = "depfree.targets/1"
MARK = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}


@click.command("targets")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--target", "-t", "names", multiple=True, help="A target profile (repeatable; default: the set for "
              "each binary's OS — Linux images and distributions, current Windows, current macOS).")
@click.option("--targets-file", type=click.Path(), help="Extra target profiles (TOML, same keys as data/targets.toml; "
              "`default = true` joins the default set).")
@click.option("--all", "all_targets", is_flag=True, help="Every known target.")
@click.option("--list", "list_targets", is_flag=True, help="List every profile (os, arch, libc and versions, source).")
@click.option("--root", "root", type=click.Path(), default=None, metavar="DIR",
              help="Also judge each FILE on this root filesystem (libraries, interpreter, files looked up there).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def targets_cmd(files: tuple[str, ...], names: tuple[str, ...], targets_file: str | None, all_targets: bool,
                list_targets: bool, root: str | None, as_json: bool) -> None:
    """Judge each FILE on each target; exit 0 when nothing fails, 1 when a cell fails, 2 on bad input.

    \b
    Examples:
      depfree targets ./app                        # the default set for the binary's OS
      depfree targets ./app -t alpine-3.20 -t debian-12
      depfree targets esbuild -t macos-15          # a Mach-O on current macOS
      depfree targets --list                       # every profile and its source
    """
    profiles = load_profiles(targets_file)
    if list_targets:
        _list(profiles, as_json)
        sys.exit(EXIT_OK)
    if not files:
        raise UsageError("expected FILE... (or --list)")
    chosen = sorted(profiles) if all_targets else (list(names) or None)
    if chosen:
        select(profiles, chosen)  # an unknown name is a usage error before anything is read
    report = inspect(list(files), options=Options(targets=chosen, targets_file=targets_file))
    if root is not None:
        from depfree.targets.root import resolve_in_root, root_cell

        resolve_in_root(report.binaries, root)
        for b in report.binaries:
            b.targets = [*(b.targets or []), root_cell(b, root)]
    for err in report.errors:
        print_error(err.path, err.error)
    cells = [t for b in report.binaries for t in (b.targets or [])]
    if as_json:
        click.echo(json.dumps({"schema": SCHEMA, "targets": cells, "errors": [e.__dict__ for e in report.errors]},
                              indent=2, ensure_ascii=False))
    else:
        columns = list(dict.fromkeys(t["target"] for t in cells))
        console = Console(highlight=False, soft_wrap=True)
        table = Table(box=None, header_style="bold")
        table.add_column("binary")
        for name in columns:
            table.add_column(escape(name), justify="center")
        for b in report.binaries:
            row = {t["target"]: MARK[t["verdict"]] for t in b.targets or []}
            table.add_row(escape(b.path + (f" [{b.slice}]" if b.slice else "")), *(row.get(n, "[dim]-[/dim]")
                                                                                     for n in columns))
        console.print(table)
        for t in cells:
            for r in t["reasons"]:
                mark = MARK["fail" if r["severity"] == "fail" else "warn"]
                console.print(f"{mark} {escape(t['target'])}: {escape(r['message'])}\n    [dim]fix: {escape(r['fix'])}[/dim]")
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FAIL if any(t["verdict"] == "fail" for t in cells) else EXIT_OK)


def _versions(p: Profile) -> str:
    parts = [f"{p.libc} {p.libc_version}" if p.libc_version else p.libc]
    if p.kernel:
        parts.append(f"kernel {p.kernel}")
    if p.os_version:
        parts.append(f"{p.os} {p.os_version}")
    return ", ".join(parts)


def _list(profiles: dict[str, Profile], as_json: bool) -> None:
    if as_json:
        rows = [{"name": n, "os": p.os, "arch": p.arch, "libc": p.libc, "libc_version": p.libc_version,
                 "kernel": p.kernel, "os_version": p.os_version, "container": p.container, "default": p.default,
                 "source": p.source} for n, p in profiles.items()]
        click.echo(json.dumps({"schema": "depfree.target-profiles/1", "profiles": rows}, indent=2, ensure_ascii=False))
        return
    console = Console(highlight=False, soft_wrap=True)
    table = Table(box=None, header_style="bold")
    for col in ("profile", "os", "arch", "libc / versions", "default", "source"):
        table.add_column(col)
    for n, p in profiles.items():
        kind = " (container)" if p.container else ""
        table.add_row(escape(n), p.os + kind, ",".join(p.arch), escape(_versions(p)), "✓" if p.default else "",
                      escape(p.source))
    console.print(table)
