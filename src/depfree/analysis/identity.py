"""Identity facts common to every format (format, arch, os, bits, type), the linkage and the header's minimum OS."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.analysis.linkage import linkage_of
from depfree.analysis.minimum import header_min_os
from depfree.formats.base import Executable
from depfree.model import Binary, Linkage


def identity(exe: Executable, path: str, sha256: str | None) -> Binary:
    return Binary(path=path, size=exe.length, sha256=sha256, format=exe.format, arch=exe.arch, os=exe.os,
                  bits=exe.bits, endian=exe.endian, type=exe.type, linkage=Linkage(kind="static"), slice=exe.slice,
                  osabi=exe.osabi, machine=exe.machine)


def analyze_linkage(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
    b.linkage = linkage_of(exe)
    b.min_os = header_min_os(exe)
    details = exe.details()
    if details is None:
        return
    from depfree.details import MachoDetails, PeDetails  # here: an ELF file has none (issue 23: import cost)

    if isinstance(details, PeDetails):
        b.pe = details
    elif isinstance(details, MachoDetails):
        b.macho = details
