"""``depfree verify FILE [--root ...] [-- ARGS...]``: run the binary in empty, musl, glibc or busybox roots (or the
user's own) under strace and report whether it started and what it reached for."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from depfree.cli.common import EXIT_FAIL, EXIT_OK, friendly_errors
from depfree.sandbox import ROOT_KINDS, Run, verify

SCHEMA = "depfree.verify/1"


def runs_json(runs: list[Run]) -> dict:
    return {"schema": SCHEMA, "runs": [r.to_json() for r in runs]}


def print_runs(runs: list[Run], console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    table = Table(box=None, header_style="bold")
    for col in ("root", "started", "result", "exit", "missing files"):
        table.add_column(col)
    for r in runs:
        mark = "[green]✓[/green]" if r.expectations_met else "[red]✗[/red]"
        detail = ", ".join(f"{k}={v}" for k, v in r.details.items() if k != "hint")
        result = r.failure + (f" ({detail})" if detail else "")
        exit_s = str(r.exit_code) if r.exit_code is not None else (r.signal or ("timeout" if r.timed_out else "-"))
        missing = ", ".join(r.missing[:6]) + (f" +{len(r.missing) - 6}" if len(r.missing) > 6 else "")
        table.add_row(f"{mark} {escape(r.root)}", "yes" if r.started else "no", escape(result), exit_s,
                      escape(missing or "-"))
    console.print(table)
    for r in runs:
        if r.details.get("hint"):
            console.print(f"[dim]{escape(r.root)}: {escape(r.details['hint'])}[/dim]")
        if r.connect:
            console.print(f"[dim]{escape(r.root)}: network attempts: " + escape(", ".join(
                f"{c['address']}:{c['port']} ({'ok' if c['ok'] else c['error']})" for c in r.connect[:5])) + "[/dim]")
    if runs:
        console.print(f"[dim]isolation: {runs[0].isolation['mode']}, {runs[0].isolation['network']}"
                      + ("" if runs[0].isolation["traced"] else f"; {runs[0].isolation['note']}") + "[/dim]")


@click.command("verify", context_settings={"ignore_unknown_options": True})
@click.argument("file", type=click.Path())
@click.option("--root", "roots", multiple=True, metavar="KIND|DIR",
              help=f"Root to run in: {', '.join(ROOT_KINDS)} or a directory (repeatable; default scratch).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds before the run is killed.")
@click.option("--expect-exit", type=int, default=0, show_default=True, help="Exit code a good run has.")
@click.option("--expect-output", metavar="REGEX", help="A good run's stdout matches this.")
@click.option("--env", "envs", multiple=True, metavar="K=V", help="Environment for the program (nothing else).")
@click.option("--zoneinfo", is_flag=True, help="Put the host's zoneinfo into scratch+certs.")
@click.option("--json", "as_json", is_flag=True)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def verify_cmd(file: str, roots: tuple[str, ...], timeout: float, expect_exit: int, expect_output: str | None,
               envs: tuple[str, ...], zoneinfo: bool, as_json: bool, args: tuple[str, ...]) -> None:
    """Prove it: run FILE in each root; exit 0 when every run met its expectations, 1 otherwise, 2 on bad input."""
    env = {}
    for e in envs:
        k, sep, v = e.partition("=")
        if not sep or not k:
            raise click.UsageError(f"--env takes K=V, got {e!r}")
        env[k] = v
    runs = verify(file, roots or ("scratch",), args=args, env=env, timeout=timeout, expect_exit=expect_exit,
                  expect_output=expect_output, zoneinfo=zoneinfo)
    if as_json:
        click.echo(json.dumps(runs_json(runs), indent=2))
    else:
        print_runs(runs)
    sys.exit(EXIT_OK if all(r.expectations_met for r in runs) else EXIT_FAIL)
