"""The one reader of NUL-terminated strings and string tables (ELF .strtab/.dynstr/.shstrtab, COFF and Mach-O string
tables, load-command strings, Go's pclntab name and file tables)."""

from __future__ import annotations

from itertools import accumulate


def cstring_at(table: bytes, off: int = 0) -> str:
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
