"""What kind of executable a file is, from its first bytes: the one magic table that sources (is this archive member
a binary?) and formats (which reader opens it?) both use."""

from __future__ import annotations

ELF_MAGIC = b"\x7fELF"
PE_MAGIC = b"MZ"
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # 32-bit big / little
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # 64-bit big / little
}
FAT_MAGIC, FAT_MAGIC_64 = b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"  # universal Mach-O (always big-endian)
FAT_MAGICS = {FAT_MAGIC, FAT_MAGIC_64}


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
