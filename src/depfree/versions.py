"""Parsing and comparing version tags such as ``GLIBC_2.34`` or ``GLIBCXX_3.4.29``."""

from __future__ import annotations

import re
from functools import lru_cache

_TAG = re.compile(r"^(?P<family>[A-Za-z][A-Za-z0-9_]*?)_(?P<version>\d+(?:\.\d+)*)$")


def split_tag(tag: str) -> tuple[str, str] | None:
    """``GLIBC_2.34`` -> (``GLIBC``, ``2.34``); None for tags without a numeric version (``GLIBC_PRIVATE``)."""
    m = _TAG.match(tag)
    return (m.group("family"), m.group("version")) if m else None


@lru_cache(maxsize=4096)
def version_key(version: str) -> tuple[int, ...]:
    """A sortable key: ``2.3.4`` < ``2.14`` < ``2.34``. Non-numeric parts sort as 0."""
    out = []
    for part in re.split(r"[.\-+]", version):
        m = re.match(r"\d+", part)
        out.append(int(m.group()) if m else 0)
    return tuple(out)


def max_version(versions: list[str]) -> str | None:
    return max(versions, key=version_key) if versions else None
