"""Text and CSV of ``depfree hardening``: a checksec-like table whose values are yes / no / n/a / unknown (or full /
partial for RELRO, fortified/fortifiable counts for FORTIFY), never Python's True/False; why a value is n/a or
unknown is printed below the table, each reason once with the binaries and properties it covers; the evidence of
each value on indented lines with ``-v``."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary
from depfree.model_hardening import ElfHardening, Fortify, Hardening, MachoHardening, PeHardening
from depfree.render.paths import relative
from depfree.render.table import print_table

COLUMNS = ("relro", "pie", "nx", "canary", "fortify", "rwx_segments", "rpath_risks", "symtab", "packer")


def word(value: Any) -> str:
    """yes / no / unknown for booleans and None ("none" is no); other strings as they are."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "unknown"
    return "no" if value == "none" else str(value)


def _fortify(h: Hardening | None) -> str:
    if not isinstance(h, ElfHardening):
        return "n/a"
    fort = h.fortify
    return f"{fort.fortified}/{fort.fortifiable}" if isinstance(fort, Fortify) else word(fort or "n/a")


def row(b: Binary) -> dict[str, str]:
    h, d = b.hardening, b.debug
    elf = h if isinstance(h, ElfHardening) else None
    rwx = h.rwx_segments if isinstance(h, (ElfHardening, MachoHardening)) else []
    risks = elf.rpath_risks if elf is not None else []
    return {
        "path": relative(b.path) + (f" [{b.slice}]" if b.slice else ""),
        "format": b.format,
        "relro": word(elf.relro if elf is not None else "n/a"),
        "pie": word(h.pie if h is not None else None),
        "nx": word(h.nx if h is not None else None),
        "canary": word(elf.canary if elf is not None else "n/a"),
        "fortify": _fortify(h),
        "rwx_segments": f"yes ({len(rwx)})" if rwx else "no",
        "rpath_risks": ",".join(r.path for r in risks) or "no",
        "symtab": word(d.symtab if d is not None else None),
        "packer": str((b.packer.name if b.packer is not None else None) or "no"),
    }


def _reasons(h: Hardening | None) -> dict[str, str]:
    return h.reasons if isinstance(h, (ElfHardening, PeHardening)) else {}


def grouped_reasons(binaries: list[Binary]) -> list[tuple[list[str], list[str], str, str]]:
    """(binaries, properties, value, reason) with each distinct reason once; a reason's key names the field."""
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for b in binaries:
        r = row(b)
        for key, why in _reasons(b.hardening).items():
            value = r.get(key) or word(getattr(b.hardening, key))
            names, props = groups.setdefault((value, why), ([], []))
            if r["path"] not in names:
                names.append(r["path"])
            if key not in props:
                props.append(key)
    return [(names, props, value, why) for (value, why), (names, props) in groups.items()]


def print_hardening(console: Console, binaries: list[Binary], verbose: bool = False) -> None:
    rows = [row(b) for b in binaries]
    headers = ["path", *COLUMNS]
    print_table(console, headers, [[escape(r[c]) for c in headers] for r in rows])
    for names, props, value, why in grouped_reasons(binaries):
        console.print(f"[bold]{escape(', '.join(names))}[/bold]: {escape(', '.join(props))} {escape(value)}: "
                      f"[dim]{escape(why)}[/dim]", overflow="ignore", crop=False)
    if verbose:
        for b, r in zip(binaries, rows, strict=True):
            evidence = b.hardening.evidence if b.hardening is not None else {}
            if not evidence:
                continue
            console.print(f"[bold]{escape(r['path'])}[/bold] evidence:", overflow="ignore", crop=False)
            for key, items in evidence.items():
                console.print("    " + escape(f"{key}: " + "; ".join(str(e) for e in items)),
                              overflow="ignore", crop=False)
    elif any(b.hardening is not None and b.hardening.evidence for b in binaries) and console.is_terminal:
        console.print("[dim](-v shows the evidence behind each value)[/dim]")


def to_csv(binaries: list[Binary]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["path", "format", *COLUMNS])
    w.writeheader()
    w.writerows(row(b) for b in binaries)
    return buf.getvalue()
