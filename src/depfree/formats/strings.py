"""The one reader of NUL-terminated strings and string tables (ELF .strtab/.dynstr/.shstrtab, COFF and Mach-O string
tables, load-command strings, Go's pclntab name and file tables)."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import TypeAlias

# What a table is read from: the mapped file, or the bytes of a file read into memory (an archive's member)
Searchable: TypeAlias = "mmap.mmap | bytes"


class Window:
    """A string table read where it lies in a larger buffer (the mapped file), without copying it: what
    :func:`cstring_at` and the symbol look-ups ask of a table (``len``, ``find``, slices as bytes, a regular
    expression's matches, the reversed bytes), with offsets relative to the table. A Go binary's .strtab is
    megabytes: a copy costs as much as the searches made in it (issue 23). Valid while the buffer is (the
    source's map is closed with the source)."""

    __slots__ = ("buf", "start", "end")

    def __init__(self, buf: Searchable, start: int, end: int) -> None:
        self.buf, self.start = buf, max(0, start)
        self.end = max(self.start, min(end, len(buf)))

    def __len__(self) -> int:
        return self.end - self.start

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        stop = self.end if end is None else min(self.end, self.start + max(0, end))
        i = self.buf.find(sub, self.start + max(0, start), stop)
        return i - self.start if i >= 0 else -1

    def rfind(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        stop = self.end if end is None else min(self.end, self.start + max(0, end))
        i = self.buf.rfind(sub, self.start + max(0, start), stop)
        return i - self.start if i >= 0 else -1

    def startswith(self, prefix: bytes) -> bool:
        return len(prefix) <= self.end - self.start and self.buf[self.start : self.start + len(prefix)] == prefix

    def endswith(self, suffix: bytes) -> bool:
        return len(suffix) <= self.end - self.start and self.buf[self.end - len(suffix) : self.end] == suffix

    def equals(self, other: bytes) -> bool:
        return len(other) == self.end - self.start and self.tobytes() == other

    def __contains__(self, sub: bytes) -> bool:
        return self.buf.find(sub, self.start, self.end) >= 0

    def __getitem__(self, key: slice) -> bytes:
        first, stop, step = key.indices(self.end - self.start)
        if step != 1:
            raise ValueError("a Window is sliced forward only (reversed() for the reversed bytes)")
        return self.buf[self.start + first : self.start + max(first, stop)]

    def tobytes(self) -> bytes:
        return self.buf[self.start : self.end]

    def reversed(self) -> bytearray:
        """The table's bytes last to first: copied from the buffer into a new array, reversed there (a reversed
        slice of a map is built in a scratch buffer first: twice the fresh memory, ~3 ms more on a 3.4 MB table)."""
        out = bytearray(self.end - self.start)
        with memoryview(self.buf) as whole, whole[self.start : self.end] as part, memoryview(out) as into:
            into[:] = part
        out.reverse()
        return out

    def finditer(self, pattern: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
        """``pattern``'s matches in the table; their positions are the buffer's (subtract :attr:`start`)."""
        return pattern.finditer(self.buf, self.start, self.end)

    def findall(self, pattern: re.Pattern[bytes]) -> list[bytes]:
        """``pattern.findall`` of the table (a pattern with one group: that group of each match)."""
        return pattern.findall(self.buf, self.start, self.end)

    def search(self, pattern: re.Pattern[bytes], pos: int = 0) -> re.Match[bytes] | None:
        """``pattern``'s first match from ``pos`` of the table; its positions are the buffer's (as finditer's)."""
        return pattern.search(self.buf, self.start + max(0, pos), self.end)


def cstring_at(table: bytes | Window, off: int = 0) -> str:
    """The NUL-terminated string at ``off`` of ``table`` (to its end when unterminated; "" past the end), UTF-8 with
    bad bytes replaced."""
    end = table.find(b"\0", off)
    return table[off : end if end >= 0 else len(table)].decode("utf-8", "replace")


def names_by_offset(table: bytes, names: int | None = None) -> dict[int, str]:
    """Every NUL-terminated name of a string table by the offset it starts at, split in one pass (a name that ld
    merged into the tail of a longer one starts elsewhere: callers look those up one by one).

    ``names``: how many names the caller will look up. A table holding far more strings than that (a hostile
    DT_STRSZ or sh_size stretching it over the rest of the file, whose zeros are millions of empty strings) gives
    an empty dict, and the callers' one-by-one lookups keep memory bounded by the symbol count."""
    if names is not None and table.count(0) > 4 * names + 4096:
        return {}
    if table.isascii():
        parts = table.decode("ascii").split("\0")
        starts = accumulate(map((1).__add__, map(len, parts)), initial=0)
    else:
        raw_parts = table.split(b"\0")
        starts = accumulate(map((1).__add__, map(len, raw_parts)), initial=0)
        parts = [p.decode("utf-8", "replace") for p in raw_parts]
    return dict(zip(starts, parts, strict=False))  # (starts has one more: the end of the table)


def nonempty_names(table: bytes) -> dict[int, str]:
    """:func:`names_by_offset` without the empty strings (tables padded with NULs, as Go's pclntab name table)."""
    names = names_by_offset(table)
    return {k: v for k, v in names.items() if v} if "" in names.values() else names


def nonempty_list(table: bytes) -> list[str]:
    """The values of :func:`nonempty_names`, in table order, without the offsets (Go's file table: its paths only)."""
    if table.isascii():
        parts = table.decode("ascii").split("\0")
    else:
        parts = [p.decode("utf-8", "replace") for p in table.split(b"\0")]
    return [p for p in parts if p]


def fixed_name(field: bytes) -> str:
    """A name in a fixed-size, NUL-padded header field (PE section and COFF short names, Mach-O segment and section
    names, ELF note owners)."""
    return field.rstrip(b"\0").decode("utf-8", "replace")
