"""``depfree verify FILE [--root ...] [-- ARGS...]``: run the binary in empty, musl, glibc or busybox roots (or the
user's own) under strace and report whether it started and what it reached for."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from depfree.cli.common import EXIT_FAIL, EXIT_OK, Output, examples, friendly_errors, output_options
from depfree.render.verify import print_runs
from depfree.sandbox import ROOT_KINDS, Run, verify

SCHEMA = "depfree.verify/1"


def runs_json(runs: list[Run]) -> dict[str, Any]:
    return {"schema": SCHEMA, "runs": [r.to_json() for r in runs]}


RENDERERS = {
    "text": lambda runs, out: print_runs(runs, out.console()),
    "json": lambda runs, out: json.dumps(runs_json(runs), indent=2),
}


@click.command("verify", context_settings={"ignore_unknown_options": True}, epilog=examples(
    "depfree verify dist/app --root scratch --root glibc",
    "depfree verify dist/app --root scratch+certs --expect-output 'ok' -- --self-test",
    "depfree verify /bin/busybox --root scratch -- echo hello     # argv[0] keeps the name: applets dispatch"))
@click.argument("file", type=click.Path())
@click.option("--root", "roots", multiple=True, metavar="KIND|DIR",
              help=f"Root to run in: {', '.join(ROOT_KINDS)} or a directory (repeatable; default scratch).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds before the run is killed.")
@click.option("--expect-exit", type=int, default=0, show_default=True, help="Exit code a good run has.")
@click.option("--expect-output", metavar="REGEX", help="A good run's stdout matches this.")
@click.option("--env", "envs", multiple=True, metavar="K=V", help="Environment for the program (nothing else).")
@click.option("--zoneinfo", is_flag=True, help="Put the host's zoneinfo into scratch+certs.")
@output_options(RENDERERS)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def verify_cmd(file: str, roots: tuple[str, ...], timeout: float, expect_exit: int, expect_output: str | None,
               envs: tuple[str, ...], zoneinfo: bool, out: Output, args: tuple[str, ...]) -> None:
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
    out.emit(runs)
    sys.exit(EXIT_OK if all(r.expectations_met for r in runs) else EXIT_FAIL)
