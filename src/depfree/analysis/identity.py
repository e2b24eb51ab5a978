"""Identity facts common to every format (format, arch, os, bits, type) and the linkage dispatcher."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.formats.base import Executable
from depfree.model import Binary, Evidence, Linkage, MinOS


def identity(exe: Executable, path: str, sha256: str | None) -> Binary:
    return Binary(path=path, size=exe.length, sha256=sha256, format=exe.format, arch=exe.arch, os=exe.os,
                  bits=exe.bits, endian=exe.endian, type=exe.type, linkage=Linkage(kind="static"), slice=exe.slice,
                  osabi=getattr(exe, "osabi", None), machine=getattr(exe, "machine", None))


def analyze_linkage(ctx: Context) -> None:
    exe = ctx.exe
    if exe.format == "elf":
        from depfree.analysis.linkage import elf_linkage
        from depfree.formats.elf import ElfExecutable

        assert isinstance(exe, ElfExecutable)
        ctx.binary.linkage = elf_linkage(exe)
        tag = exe.abi_tag
        if tag is not None and tag[0] == 0:
            ctx.binary.min_os = MinOS(os="linux", version=f"{tag[1]}.{tag[2]}.{tag[3]}",
                                      name=f"Linux {tag[1]}.{tag[2]}.{tag[3]}",
                                      evidence=[Evidence("note", "NT_GNU_ABI_TAG", ".note.ABI-tag")])
        return
    linkage = getattr(exe, "linkage", None)  # PE and Mach-O readers compute their own
    if callable(linkage):
        ctx.binary.linkage = linkage()
    min_os = getattr(exe, "min_os", None)
    if callable(min_os):
        ctx.binary.min_os = min_os()
    details = getattr(exe, "details", None)
    if callable(details) and exe.format in ("pe", "macho"):
        setattr(ctx.binary, exe.format, details())
