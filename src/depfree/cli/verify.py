"""``depfree verify FILE [--root ...] [-- ARGS...]``: run the binary in empty, musl, glibc or busybox roots (or the
user's own) under strace and report whether it started and what it reached for."""

from __future__ import annotations

import json
import os
import posixpath
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from depfree.cli.common import EXIT_FAIL, EXIT_OK, friendly_errors
from depfree.render.verify import loader_probe
from depfree.sandbox import ROOT_KINDS, Run, verify

SCHEMA = "depfree.verify/1"


def runs_json(runs: list[Run]) -> dict:
    return {"schema": SCHEMA, "runs": [r.to_json() for r in runs]}


def _outcome(conn: dict) -> str:
    if conn["ok"]:
        return "connected"
    if conn["error"] == "EINPROGRESS":
        return "attempted, non-blocking"
    return str(conn["error"])


def print_runs(runs: list[Run], console: Console | None = None) -> None:
    """A row per run, then what each run reached for and missed (the loader's own search probes left out)."""
    console = console or Console(highlight=False, soft_wrap=True)
    table = Table(box=None, header_style="bold")
    for col in ("root", "started", "result", "exit", "missing", "accessed"):
        table.add_column(col)
    shown: list[list[str]] = []
    for r in runs:
        libnames = {os.path.basename(p) for p in r.accessed if ".so" in os.path.basename(p)}
        missing = [m for m in dict.fromkeys(map(posixpath.normpath, r.missing))
                   if not loader_probe(m, libnames, r.missing)]
        shown.append(missing)
        mark = "[green]✓[/green]" if r.expectations_met else "[red]✗[/red]"
        detail = ", ".join(f"{k}={v}" for k, v in r.details.items() if k not in ("hint", "interpreter"))
        result = r.failure + (f" ({detail})" if detail else "")
        exit_s = str(r.exit_code) if r.exit_code is not None else (r.signal or ("timeout" if r.timed_out else "-"))
        traced = r.isolation["traced"]
        table.add_row(f"{mark} {escape(r.root)}", "yes" if r.started else "no", escape(result), exit_s,
                      str(len(missing)) if traced else "?", str(len(r.accessed)) if traced else "?")
    console.print(table)
    for r, missing in zip(runs, shown, strict=True):
        if missing:
            console.print(f"{escape(r.root)}: missing " + escape(", ".join(missing[:10]))
                          + (f" +{len(missing) - 10} more (--json lists all)" if len(missing) > 10 else ""))
        if r.details.get("hint"):
            console.print(f"[dim]{escape(r.root)}: {escape(r.details['hint'])}[/dim]")
        if r.connect:
            console.print(f"{escape(r.root)}: network attempts: " + escape(", ".join(
                f"{c['address']}" + (f":{c['port']}" if c["port"] is not None else "") + f" ({_outcome(c)})"
                for c in r.connect[:5])) + (f" +{len(r.connect) - 5}" if len(r.connect) > 5 else ""))
        if r.denied:
            console.print(f"{escape(r.root)}: denied " + escape(", ".join(dict.fromkeys(r.denied))))
        for name, total, kept in (("stdout", r.stdout_bytes, r.stdout), ("stderr", r.stderr_bytes, r.stderr)):
            if total > len(kept.encode()):
                console.print(f"[dim]{escape(r.root)}: {name} cut at {len(kept.encode()):,} of {total:,} bytes[/dim]")
        if not r.expectations_met and r.started and r.stderr.strip():
            console.print(f"[dim]{escape(r.root)}: stderr: " + escape(r.stderr.strip().splitlines()[-1][:200])
                          + "[/dim]")
    if runs:
        iso = runs[0].isolation
        emu = f", through {iso['emulator']}" if iso.get("emulator") else ""
        console.print(f"[dim]isolation: {iso['mode']}, {iso['network']}, environment: "
                      + (", ".join(iso["environment"]) or "empty") + emu
                      + ("" if iso["traced"] else f"; {iso['note']}") + "[/dim]")


@click.command("verify", context_settings={"ignore_unknown_options": True})
@click.argument("file", type=click.Path())
@click.option("--root", "roots", multiple=True, metavar="KIND|DIR",
              help=f"Root to run in: {', '.join(ROOT_KINDS)} or a directory (repeatable; default scratch).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds before the run is killed.")
@click.option("--expect-exit", type=int, default=0, show_default=True, help="Exit code a good run has.")
@click.option("--expect-output", metavar="REGEX", help="A good run's stdout matches this.")
@click.option("--env", "envs", multiple=True, metavar="K=V", help="Environment for the program (nothing else).")
@click.option("--zoneinfo", is_flag=True, help="Put the host's zoneinfo into scratch+certs.")
@click.option("--json", "as_json", is_flag=True, help=f"Emit JSON (schema {SCHEMA}).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def verify_cmd(file: str, roots: tuple[str, ...], timeout: float, expect_exit: int, expect_output: str | None,
               envs: tuple[str, ...], zoneinfo: bool, as_json: bool, args: tuple[str, ...]) -> None:
    """Prove it: run FILE in each root (arguments for it after --) in fresh user, mount, PID and network namespaces
    under strace. Exit 0 when every run met its expectations, 1 otherwise, 2 on bad input or no sandbox."""
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
