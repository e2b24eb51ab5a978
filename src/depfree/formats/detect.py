"""Open a binary with the right reader, chosen by its magic bytes (:mod:`depfree.magic`)."""

from __future__ import annotations

from depfree.errors import FormatError, NotABinaryError
from depfree.formats.base import Executable
from depfree.magic import sniff
from depfree.sources.file import ByteSource

__all__ = ["open_executables", "sniff"]


def open_executables(source: ByteSource) -> list[Executable]:
    """All executable images in a file: one, or one per slice of a universal Mach-O."""
    if source.size == 0:
        raise NotABinaryError(f"{source.name}: empty file, expected an ELF, PE or Mach-O binary")
    head = source.read_at(0, 64)
    kind = sniff(head)
    if kind == "elf":
        from depfree.formats.elf import ElfExecutable

        exe = ElfExecutable(source)
        if exe.debug_companion:
            raise NotABinaryError(f"{source.name}: a separate debug-info file, not a program ({exe.debug_companion}: "
                                  "the code is in the binary it was split from)")
        return [exe]
    if kind == "pe":
        try:
            from depfree.formats.pe import PeExecutable
        except ImportError as exc:  # pragma: no cover - the PE reader ships with depfree
            raise FormatError(f"{source.name}: PE files are not supported by this build ({exc})") from None
        return [PeExecutable(source)]
    if kind in ("macho", "macho-fat"):
        try:
            from depfree.formats.macho import open_macho
        except ImportError as exc:  # pragma: no cover
            raise FormatError(f"{source.name}: Mach-O files are not supported by this build ({exc})") from None
        return open_macho(source)
    shown = head[:4].hex(" ")
    raise NotABinaryError(f"{source.name}: not an executable (expected ELF, PE or Mach-O magic, found {shown})")
