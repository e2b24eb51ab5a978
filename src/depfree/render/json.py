"""JSON output: the documented schema (``data/report.schema.json``), stable key order, UTF-8.

Encoded by orjson, which writes the same characters as ``json.dumps(..., ensure_ascii=False)`` with the
separators used here for everything a report holds (str, int, bool, None, lists, tuples, dicts with str keys, enums,
floats rounded to a few decimals, model objects: dataclasses written by orjson itself, those with a ``json_omit``
through :func:`depfree.model.shallow_json`), three to ten times faster. What orjson refuses goes to the json module,
whose output is the reference: a lone surrogate (a file name that is not UTF-8), an int beyond 64 bits, a dict key
that is not a str, an object that is not part of the model (the json module's TypeError then names it).
``tests/test_render_json.py`` holds the two to the same bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

_SURROGATE = re.compile("[\ud800-\udfff]")
# Plain data: a dataclass or a datetime is an error, as in the json module (both passed to ``default``, None).
_PASS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
# Model objects: orjson writes a dataclass itself, from its instance's attributes, which are its fields in order
# (depfree/model.py; an Evidence without a detail has no such attribute, as its JSON has no such key). A class with
# a ``json_omit`` is no dataclass to orjson (depfree/dataclass.py): it goes to ``default``, model.shallow_json.
# The same bytes as the json module's through ``default`` (tests/test_render_json.py), and a scan of /usr/bin
# calls back into Python for 5,420 of its 53,609 model objects instead of each (issue 23).
_MODEL = orjson.OPT_PASSTHROUGH_DATETIME


def escape_surrogates(text: str) -> str:
    """A file name that is not valid UTF-8 arrives as lone surrogates (``os.fsdecode``'s surrogateescape); written
    as JSON ``\\udcXX`` escapes the output stays valid UTF-8, and ``json.loads`` + ``os.fsencode`` give the
    original bytes back."""
    if text.isascii():
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _encode_utf8(value: Any, default: Callable[[Any], Any] | None, indent: bool) -> bytes:
    try:
        option = _PASS if default is None else _MODEL
        return orjson.dumps(value, default=default, option=option | orjson.OPT_INDENT_2 if indent else option)
    except orjson.JSONEncodeError:  # (no output: orjson never writes a lone surrogate) the reference encoder
        if indent:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=default)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default)
        return escape_surrogates(text).encode("utf-8")


def _encode(value: Any, default: Callable[[Any], Any] | None, indent: bool) -> str:
    return _encode_utf8(value, default, indent).decode("utf-8")


def dumps(data: Any, *, compact: bool = False) -> str:
    """Plain JSON data: indented for reading (two spaces, ``": "``), or ``compact`` on one line."""
    return _encode(data, None, not compact)


def dumps_model(obj: Any) -> str:
    """A report (or any model object) as one line of JSON, the same as ``dumps(to_json(obj), compact=True)`` but
    without building the plain data first: only model objects come back to Python
    (:func:`depfree.model.shallow_json`)."""
    from depfree.model import shallow_json

    return _encode(obj, shallow_json, False)


def write_model(obj: Any, write: Callable[[str], object]) -> None:
    """:func:`dumps_model` of ``obj`` handed to ``write`` in pieces, each item of its top-level lists (a report's
    binaries) encoded on its own: the same characters, but the whole document is never one string (a scan of
    /usr/lib makes 20 MB of JSON, and writing it encodes a second copy), so the peak memory stays that of the report
    (issue 23: ≤ 200 MiB)."""
    from depfree.model import shallow_json

    write("{")
    for i, (key, value) in enumerate(shallow_json(obj).items()):
        _write_field(write, i, key, value)
    write("}")


def _write_field(write: Callable[[str], object], i: int, key: str, value: Any) -> None:
    from depfree.model import shallow_json

    write(("," if i else "") + _encode(key, None, False) + ":")
    if isinstance(value, list):
        write("[")
        for j, item in enumerate(value):
            write(("," if j else "") + _encode(item, shallow_json, False))
        write("]")
    else:
        write(_encode(value, shallow_json, False))


class StreamedReport:
    """:func:`write_model` of a report whose first field is the list ``first`` (a scan's binaries), written as its
    items come in (``add``, container by container) and the other fields at the end (``finish``, from the report
    without those items): the same characters, and no item kept once written. Nothing is written before the first
    ``add``, so an error raised before any result leaves no half document. ``write_utf8``: the items go to it as
    UTF-8 bytes instead (a file's binary buffer: the text is not decoded and encoded again)."""

    def __init__(self, write: Callable[[str], object], first: str = "binaries",
                 write_utf8: Callable[[bytes], object] | None = None) -> None:
        self.write = write
        self.write_utf8 = write_utf8
        self.first = first
        self.count = 0
        self.started = False

    def add(self, items: list[Any]) -> None:
        from depfree.model import shallow_json

        if not self.started:
            self.write("{" + _encode(self.first, None, False) + ":[")
            self.started = True
        if self.write_utf8 is not None:
            for item in items:
                self.write_utf8((b"," if self.count else b"") + _encode_utf8(item, shallow_json, False))
                self.count += 1
            return
        for item in items:
            self.write(("," if self.count else "") + _encode(item, shallow_json, False))
            self.count += 1

    def finish(self, rest: Any) -> None:
        """The other fields, from ``rest``: the report whose ``first`` list is empty (its items were added)."""
        from depfree.model import shallow_json

        self.add([])
        fields = shallow_json(rest)
        keys = list(fields)
        if not keys or keys[0] != self.first or fields[self.first]:
            raise ValueError(f"expected a report whose first field is an empty {self.first!r}, found {keys[:1]}")
        self.write("]")
        for i, key in enumerate(keys[1:], 1):
            _write_field(self.write, i, key, fields[key])
        self.write("}")
