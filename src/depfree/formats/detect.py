"""Recognise a binary by its magic bytes and open it with the right reader."""

from __future__ import annotations

from depfree.errors import FormatError, NotABinaryError
from depfree.formats.base import Executable
from depfree.sources.file import ByteSource

ELF_MAGIC = b"\x7fELF"
PE_MAGIC = b"MZ"
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # 32-bit big / little
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # 64-bit big / little
}
FAT_MAGICS = {b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"}  # fat / fat64 (always big-endian)


def sniff(head: bytes) -> str | None:
    """``elf``, ``pe``, ``macho``, ``macho-fat`` or None, from the first bytes of a file."""
    if head[:4] == ELF_MAGIC:
        return "elf"
    if head[:4] in MACHO_MAGICS:
        return "macho"
    if head[:4] in FAT_MAGICS:
        # Java class files share 0xCAFEBABE; their next word is a version >= 45, a fat count is small.
        nfat = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0
        return "macho-fat" if 0 < nfat < 45 else None
    if head[:2] == PE_MAGIC:
        return "pe"
    return None


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
