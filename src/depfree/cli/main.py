"""``depfree`` entry point: a click group with one subcommand per module in this package, imported only when that
subcommand runs (so ``depfree inspect`` does not pay for the sandbox, the policy engine or the demo)."""

from __future__ import annotations

import gc

# The collector's young generation collects after 700 new container objects by default: while a `depfree` process
# imports click and its own modules and reads one binary it would run ~30 times and walk the import-time objects
# each time (4 ms of the 120 ms `depfree inspect` of a 43 MB Go binary, issue 23). Set first, before those imports;
# the cycles are still freed, later (a scan raises it to the same for its run: scan/engine.py).
CLI_GC_THRESHOLD = 50_000
gc.set_threshold(CLI_GC_THRESHOLD, *gc.get_threshold()[1:])

import atexit  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

import click  # noqa: E402

from depfree import __version__  # noqa: E402

# verb -> "module:attribute" of its click command
COMMANDS = {
    "build": "depfree.cli.build:build_cmd",
    "check": "depfree.cli.check:check_cmd",
    "demo": "depfree.cli.demo:demo_cmd",
    "diff": "depfree.cli.diff:diff_cmd",
    "explain": "depfree.cli.rules:explain_cmd",
    "hardening": "depfree.cli.hardening:hardening_cmd",
    "inspect": "depfree.cli.inspect:inspect_cmd",
    "rules": "depfree.cli.rules:rules_cmd",
    "sbom": "depfree.cli.sbom:sbom_cmd",
    "scan": "depfree.cli.scan:scan_cmd",
    "size": "depfree.cli.size:size_cmd",
    "targets": "depfree.cli.targets:targets_cmd",
    "verify": "depfree.cli.verify:verify_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attr = COMMANDS[name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="depfree")
def cli() -> None:
    """What a compiled program needs from the machine it lands on, whether it will run there, and the proof."""


# Verbs that leave nothing for the interpreter's clean-up once click returns but its atexit functions (no thread,
# child process, temporary file or open output: a scan's pool and spool directory are gone when its results are):
# their process ends as soon as the output is flushed, without tearing down every module and object (~6 ms of
# `depfree inspect` of one file; ~100 ms of `depfree scan /usr/bin`, whose results are a million objects; issue 23).
QUICK_EXIT = frozenset({"inspect", "scan", "check", "hardening", "targets"})


def main() -> None:
    from depfree.cli import streams

    streams.configure()  # ASCII marks when the stream cannot encode the Unicode ones; odd file names kept as bytes
    try:
        cli(prog_name="depfree")
    except SystemExit as done:
        if len(sys.argv) > 1 and sys.argv[1] in QUICK_EXIT:
            quick_exit(done)
        raise


def quick_exit(done: SystemExit) -> None:
    """End the process with ``done``'s exit code once stdout and stderr are flushed, skipping the interpreter's
    finalisation (the ``atexit`` functions are run first, as the usual exit runs them). Returns (for the usual exit)
    when the code is not a number, when something still expects the usual exit (another thread that is not a
    daemon, a profiler or tracer such as pyinstrument or coverage running depfree in its own process), or when a
    stream cannot be flushed (a closed pipe: Python then reports it as it always does)."""
    code = 0 if done.code is None else done.code
    if not isinstance(code, int) or any(t.is_alive() and not t.daemon for t in threading.enumerate()
                                        if t is not threading.main_thread()) \
            or sys.gettrace() is not None or sys.getprofile() is not None:
        return
    atexit._run_exitfuncs()  # what the usual exit runs too (multiprocessing's, a library's), in the same order
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
