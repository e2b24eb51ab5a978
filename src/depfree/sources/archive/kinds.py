"""What a member is, from its first bytes: a program (ELF, PE, Mach-O), an archive of some kind, or neither."""

from __future__ import annotations

from depfree.magic import sniff

COMPRESSED = ("gzip", "bzip2", "xz", "zstd")


def classify(head: bytes) -> str | None:
    """``exe`` for an ELF/PE/Mach-O, an archive kind (tar, zip, deb, ar, gzip, bzip2, xz, zstd) or None. A plain
    ``ar`` archive is a static library (``.a``) or a .deb whose first member is not ``debian-binary``."""
    if sniff(head) is not None:
        return "exe"
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return "zip"
    if head[:8] == b"!<arch>\n":
        return "deb" if head[8:21] == b"debian-binary" else "ar"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if is_tar_header(head):
        return "tar"
    return None


def is_tar_header(head: bytes) -> bool:
    """A ustar/GNU magic at 257, or a v7 header whose checksum adds up."""
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    if head[148:156].translate(None, b"01234567 \0"):
        return False  # the checksum field holds something other than octal digits: not a header (cheap test first)
    try:
        chk = int(head[148:156].split(b"\0")[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return chk == sum(head[:148]) + 256 + sum(head[156:512]) and head[0] != 0


def is_java_class(head: bytes) -> bool:
    """A Java class file (magic 0xCAFEBABE, then a class-file version of 45 or more where a Mach-O universal header
    has its small slice count): neither a program nor an archive."""
    return head[:4] == b"\xca\xfe\xba\xbe" and int.from_bytes(head[4:8], "big") >= 45
