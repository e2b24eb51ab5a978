"""The one-line verdict at the top of a report: what this binary needs from the machine, in words."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.model import Binary


def analyze_verdict(ctx: Context) -> None:
    ctx.binary.verdict = verdict(ctx.binary)


def verdict(b: Binary) -> str:
    link = b.linkage
    what = "Go binary" if b.go else {"exec": "executable", "pie": "executable", "shared": "shared library",
                                      "relocatable": "relocatable object", "core": "core dump"}.get(b.type, b.type)
    if b.go and b.go.compiler == "gccgo":
        what = "gccgo binary"
    if b.format == "elf":
        if b.type in ("relocatable", "core"):
            return f"{b.format.upper()} {what} ({b.arch}); not a program that runs on its own"
        if link.kind == "dynamic":
            parts = []
            if link.min_glibc:
                parts.append(f"glibc ≥ {link.min_glibc}")
            elif link.libc.flavour not in ("unknown", "none"):
                parts.append(link.libc.flavour)
            others = [n for n in link.needed if not n.startswith(("libc.so", "libc.musl", "ld-"))]
            if others:
                parts.append(", ".join(others[:4]) + (f" +{len(others) - 4} more" if len(others) > 4 else ""))
            if not link.needed and not link.interpreter and b.type == "shared":
                return ("shared library loaded by ld.so into a process; its undefined symbols come from that "
                        "process (no DT_NEEDED)")
            via = f" via {link.interpreter}" if link.interpreter else ""
            need = " and ".join(parts) if parts else "shared libraries"
            return f"dynamically linked {what}: needs {need}{via}"
        kind = "static-pie" if link.kind == "static-pie" else "static"
        with_libc = f" (with {link.libc.flavour} linked in)" if link.libc.flavour in ("glibc", "musl") else ""
        files = _machine_files(b)
        if files:  # no library to find, but files the machine must have: not "self-contained"
            return f"{kind} {what}{with_libc}: needs from the machine {files}"
        return f"self-contained {kind} {what}{with_libc}"
    # PE and Mach-O: dynamic against the OS; the reader classifies libraries.
    non_system = [lib.name for lib in link.libraries if not lib.system]
    if non_system:
        return f"{what} for {b.os}/{b.arch}: needs {', '.join(non_system[:4])} next to it"
    return f"self-contained {what} for {b.os}/{b.arch} apart from OS libraries"


def _machine_files(b: Binary, limit: int = 3) -> str:
    """The required runtime files a Linux binary reads from the machine (CA bundle, resolv.conf...), in short."""
    if b.os != "linux":
        return ""
    files = [n.what for n in b.needs or [] if n.kind in ("file", "dir") and n.required]
    return ", ".join(files[:limit]) + (f" +{len(files) - limit} more" if len(files) > limit else "")
