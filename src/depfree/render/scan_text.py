"""The text of ``depfree scan``: one block per container as soon as it is read (a line per binary: its mark, what
it is, and what its verdict rests on), the checksums line, and the summary line at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary
from depfree.model_verdicts import ChecksumResult
from depfree.render.paths import relative
from depfree.render.summary import summary_line
from depfree.targets.context import rules

if TYPE_CHECKING:
    from depfree.scan import ScanResult


MARKS = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}


def print_container(console: Console, res: ScanResult, details: bool) -> None:
    c = res.container
    assert c is not None
    n = c.binaries
    s = c.summary
    kind = c.kind + (f" ({c.compression})" if c.compression else "")
    noun = rules().get(c.context or "app", rules()["app"]).noun
    if n == 0:
        verdict = "[dim]no executables[/dim]"
    elif s.fail:
        verdict = f"[bold red]✗ {s.fail} of {_n(n, 'binary')} will not run as packaged[/bold red]"
    elif s.warn:
        verdict = f"[bold yellow]⚠ {s.warn} of {_n(n, 'binary')} with warnings[/bold yellow]"
    else:
        verdict = f"[bold green]✓ every binary has what the {noun} must carry[/bold green]"
    errs = f", {_n(c.errors, 'error')}" if c.errors else ""
    how = f", judged as {'an' if noun[0] in 'aeiou' else 'a'} {noun}" + (f" ({c.wheel.tag})" if c.wheel else "")
    console.print(f"[bold]{escape(c.path)}[/bold]  {kind}, {_n(c.files, 'file')}, {_n(n, 'binary')}{how}"
                  f"{errs}: {verdict}")
    image = c.image
    if image:
        console.print(f"  image {escape(image.name or '(untagged)')}, {len(image.layers)} layers")
    deb = c.deb
    if deb:
        console.print(f"  package {escape(str(deb.package))} {escape(str(deb.version or ''))}, "
                      f"Depends: {escape(deb.depends or '(none)')}")
    prefix = c.path + "!"
    for b in res.binaries:
        shown = b.path[len(prefix):] if b.path.startswith(prefix) else relative(b.path)
        if b.slice:
            shown += f" [{b.slice}]"
        r = b.resolution
        mark = MARKS.get((r.verdict if r else None) or "ok", "")
        line = summary_line(r) if r else ""
        console.print(f"  {mark} {escape(shown)} [dim]({escape(_what(b))})[/dim]: {escape(line)}")
        if details:
            from depfree.render.text import render_binary

            for text in render_binary(b):
                console.print("      " + text)
    sums = c.checksums
    if sums:
        console.print("  " + _checksum_line(sums))


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count:,} {noun if count == 1 else plural}"


def _what(b: Binary) -> str:
    """What the binary is (no verdict: the mark and the line after it are the verdict)."""
    link = b.linkage
    what = "Go binary" if b.go else {"exec": "executable", "pie": "executable", "shared": "shared library",
                                      "dll": "DLL", "dylib": "dylib"}.get(b.type, b.type)
    if b.format == "elf":
        return f"{link.kind.replace('-', ' ')} {what}" + (f", {link.libc.flavour}" if link.kind == "dynamic" and
                                                          link.libc.flavour not in ("unknown", "none") else "")
    return f"{b.os}/{b.arch} {what}"


def _checksum_line(sums: ChecksumResult) -> str:
    parts = [f"{len(sums.ok)} ok"]
    if sums.mismatched:
        names = ", ".join(m.name for m in sums.mismatched[:5])
        parts.append(f"[bold red]{len(sums.mismatched)} mismatched[/bold red] ({escape(names)})")
    if sums.missing:
        parts.append(f"[yellow]{len(sums.missing)} missing[/yellow] ({escape(', '.join(sums.missing[:5]))})")
    if sums.unlisted:
        parts.append(f"{len(sums.unlisted)} unlisted ({escape(', '.join(sums.unlisted[:5]))})")
    return f"checksums [dim]({escape(sums.manifest)})[/dim]: " + ", ".join(parts)


def print_summary(console: Console, totals: dict[str, int]) -> None:
    n = totals["binaries"]
    errs = f"; {_n(totals['errors'], 'error')} (see above)" if totals["errors"] else ""
    color = "red" if totals["fail"] else "yellow" if totals["warn"] else "green"
    console.print(f"\n[bold]summary[/bold]: {_n(totals['containers'], 'container')}, {_n(n, 'binary')}: "
                  f"[{color}]{totals['ok']} ✓, {totals['warn']} ⚠, {totals['fail']} ✗[/{color}]{errs}")
