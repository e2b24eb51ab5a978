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


def row(b: Binary) -> dict[str, str]:
    h, d = b.hardening or {}, b.debug or {}
    fort = h.get("fortify")
    rwx = h.get("rwx_segments") or []
    risks = h.get("rpath_risks") or []
    return {
        "path": relative(b.path) + (f" [{b.slice}]" if b.slice else ""),
        "format": b.format,
        "relro": word(h.get("relro", "n/a")),
        "pie": word(h.get("pie")),
        "nx": word(h.get("nx")),
        "canary": word(h.get("canary", "n/a")),
        "fortify": f"{fort['fortified']}/{fort['fortifiable']}" if isinstance(fort, dict) else word(fort or "n/a"),
        "rwx_segments": f"yes ({len(rwx)})" if rwx else "no",
        "rpath_risks": ",".join(r["path"] for r in risks) or "no",
        "symtab": word(d.get("symtab")),
        "packer": str((b.packer or {}).get("name") or "no"),
    }


def grouped_reasons(binaries: list[Binary]) -> list[tuple[list[str], list[str], str, str]]:
    """(binaries, properties, value, reason) with each distinct reason once."""
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for b in binaries:
        r = row(b)
        for key, why in ((b.hardening or {}).get("reasons") or {}).items():
            value = r.get(key) or word((b.hardening or {}).get(key))
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
            evidence = (b.hardening or {}).get("evidence") or {}
            if not evidence:
                continue
            console.print(f"[bold]{escape(r['path'])}[/bold] evidence:", overflow="ignore", crop=False)
            for key, items in evidence.items():
                console.print("    " + escape(f"{key}: " + "; ".join(
                    f"{e.get('kind')} {e.get('name')}" + (f" ({e['detail']})" if e.get("detail") else "")
                    for e in items)), overflow="ignore", crop=False)
    elif any((b.hardening or {}).get("evidence") for b in binaries) and console.is_terminal:
        console.print("[dim](-v shows the evidence behind each value)[/dim]")


def to_csv(binaries: list[Binary]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["path", "format", *COLUMNS])
    w.writeheader()
    w.writerows(row(b) for b in binaries)
    return buf.getvalue()
