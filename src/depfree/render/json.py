"""JSON output: the documented schema (``data/report.schema.json``), stable key order, UTF-8."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """A file name that is not valid UTF-8 arrives as lone surrogates (``os.fsdecode``'s surrogateescape); written
    as JSON ``\\udcXX`` escapes the output stays valid UTF-8, and ``json.loads`` + ``os.fsencode`` give the
    original bytes back."""
    if text.isascii():
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(data: Any, *, compact: bool = False) -> str:
    """Indented for reading; ``compact`` (one line, for large scan reports) takes the C encoder, about ten times
    faster: Python's json module encodes in pure Python whenever it indents."""
    if compact:
        return escape_surrogates(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return escape_surrogates(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def dumps_model(obj: Any) -> str:
    """A report (or any model object) as one line of JSON, the same as ``dumps(to_json(obj), compact=True)`` but
    about three times faster: the C encoder walks the lists, dicts and strings, and only model objects come back
    to Python (:func:`depfree.model.shallow_json`)."""
    from depfree.model import shallow_json

    return escape_surrogates(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=shallow_json))


def write_model(obj: Any, write: Callable[[str], object]) -> None:
    """:func:`dumps_model` of ``obj`` handed to ``write`` in pieces, each item of its top-level lists (a report's
    binaries) encoded on its own: the same characters, but the whole document is never one string (a scan of
    /usr/lib makes 20 MB of JSON, and writing it encodes a second copy), so the peak memory stays that of the report
    (issue 23: ≤ 200 MiB)."""
    from depfree.model import shallow_json

    def one(value: Any) -> str:
        return escape_surrogates(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=shallow_json))

    fields = shallow_json(obj)
    write("{")
    for i, (key, value) in enumerate(fields.items()):
        write(("," if i else "") + one(key) + ":")
        if isinstance(value, list):
            write("[")
            for j, item in enumerate(value):
                write(("," if j else "") + one(item))
            write("]")
        else:
            write(one(value))
    write("}")
