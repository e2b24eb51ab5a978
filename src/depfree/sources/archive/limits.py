"""The bounds that keep hostile archives harmless (``scan --limit NAME=VALUE``) and the error of an archive that
cannot be read further."""

from __future__ import annotations

import dataclasses
import re

from depfree.dataclass import dataclass
from depfree.errors import FormatError, UsageError


@dataclass
class Limits:
    """Bounds that keep hostile archives harmless (docs/limits.md: the defaults and the worst case measured)."""

    max_member: int = 16 << 30  # a declared (or sparse real) member size above this is refused, per member
    max_total: int = 64 << 30  # decompressed bytes of one compressed stream (a tar.gz, a layer, a data.tar.zst)
    max_ratio: int = 200  # uncompressed:compressed above this, once the output passed ratio_floor, is a bomb
    ratio_floor: int = 2 << 30  # below this much output the ratio is not judged: 300 near-identical binaries in a
    #                             tar.xz (665 MB at 500:1) are a real archive, a 2 GiB gzip of zeros is a bomb
    spool_over: int = 64 << 20  # members larger than this go to a temp file instead of memory
    max_entries: int = 2_000_000


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_limits(items: list[str] | tuple[str, ...], base: Limits | None = None) -> Limits:
    """``["max_member=1G", "max_total=8G"]`` (sizes take K/M/G/T, powers of 1024) on top of ``base`` (the defaults);
    a UsageError names the known limits."""
    names = [f.name for f in dataclasses.fields(Limits)]
    out = dataclasses.replace(base or Limits())
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise UsageError(f"--limit {item!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)i?[bB]?\s*", value)
        if not m or int(m.group(1)) <= 0:
            raise UsageError(f"--limit {item!r}: expected a positive number (with K, M, G or T), found {value!r}")
        setattr(out, key, int(m.group(1)) * _UNITS[m.group(2).lower()])
    return out


class ArchiveError(FormatError):
    """The archive as a whole cannot be read further (the message says why)."""
