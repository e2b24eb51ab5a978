"""Assemble a universal (fat) Mach-O from thin slices, as Apple's lipo does: a big-endian fat header, one fat_arch per
slice, each slice aligned to 2^14 (the page size used for arm64)."""

from __future__ import annotations

import struct
from pathlib import Path

ALIGN = 14


def write_fat(out: Path, slices: list[Path]) -> None:
    blobs = [p.read_bytes() for p in slices]
    header = struct.pack(">II", 0xCAFEBABE, len(blobs))
    offset = 1 << ALIGN
    entries, placed = b"", []
    for blob in blobs:
        magic = blob[:4]
        order = "<" if magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") else ">"
        cputype, cpusub = struct.unpack_from(order + "ii", blob, 4)
        entries += struct.pack(">iiIII", cputype, cpusub, offset, len(blob), ALIGN)
        placed.append((offset, blob))
        offset = (offset + len(blob) + (1 << ALIGN) - 1) & ~((1 << ALIGN) - 1)
    data = bytearray(offset)
    data[: len(header) + len(entries)] = header + entries
    for off, blob in placed:
        data[off : off + len(blob)] = blob
    out.write_bytes(bytes(data))
