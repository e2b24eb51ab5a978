"""Load the TOML knowledge files shipped in ``depfree/data`` (cached; they are read-only), each validated against
its schema (``dataschema.py``) when loaded: a wrong key or type is a :class:`DataFileError` naming the file, the
entry and the key ("what was expected, what was found").

A schema is made of: a Python type (``str``, ``int``, ``bool``, ``float``; ``bool`` is never an ``int`` here),
:class:`Table` (known keys, a trailing ``?`` marks one optional; ``rest`` the spec of any other key),
:class:`MapOf` (any keys, one spec for every value), :class:`ListOf`, :class:`OneOf` (one of some strings) and
``ANY``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from depfree.errors import DepfreeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class DataFileError(DepfreeError):
    """A knowledge file does not have the shape its schema says (a packaging bug, not bad input)."""


@dataclass(frozen=True)
class Table:
    keys: Mapping[str, Spec] = field(default_factory=dict)  # "name" required, "name?" optional
    rest: Spec | None = None  # the spec of keys not named in ``keys``; None: other keys are an error


@dataclass(frozen=True)
class MapOf:
    value: Spec


@dataclass(frozen=True)
class ListOf:
    item: Spec


@dataclass(frozen=True)
class OneOf:
    values: tuple[str, ...]


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
Spec = type | Table | MapOf | ListOf | OneOf | _Any

_NOUNS = {str: "a string", int: "an integer", bool: "true or false", float: "a number", dict: "a table",
          list: "a list"}


def _found(value: Any) -> str:
    kind = _NOUNS.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{kind} {shown}" if len(shown) <= 60 else kind


def _expected(spec: Spec) -> str:
    if isinstance(spec, type):
        return _NOUNS.get(spec, spec.__name__)
    if isinstance(spec, OneOf):
        return "one of " + ", ".join(repr(v) for v in spec.values)
    if isinstance(spec, ListOf):
        return f"a list of {_expected(spec.item).removeprefix('a ').removeprefix('an ')}s"
    return "a table"


def _is(value: Any, want: type) -> bool:
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


def _entry(path: list[str]) -> str:
    return "entry " + ".".join(path) if path else "the top level"


def check(value: Any, spec: Spec, where: str, path: list[str] | None = None, key: str | None = None) -> None:
    """Raise :class:`DataFileError` unless ``value`` matches ``spec``; ``where`` names the file, ``path`` the entry
    (the tables leading to it) and ``key`` the key holding ``value``."""
    path = path or []

    def fail(expected: str) -> None:
        what = f"key {key!r}" if key is not None else "the entry"
        raise DataFileError(f"{where}: {_entry(path)}: {what}: expected {expected}, found {_found(value)}")

    if spec is ANY:
        return
    if isinstance(spec, type):
        if not _is(value, spec):
            fail(_expected(spec))
    elif isinstance(spec, OneOf):
        if value not in spec.values:
            fail(_expected(spec))
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            fail(_expected(spec))
        for i, item in enumerate(value):
            inner = [*path, f"{key}[{i}]"] if key is not None else [*path, f"[{i}]"]
            if isinstance(spec.item, (Table, MapOf)):
                check(item, spec.item, where, inner)
            else:
                check(item, spec.item, where, path, f"{key}[{i}]")
    elif isinstance(spec, (Table, MapOf)):
        if not isinstance(value, dict):
            fail("a table")
        inner = [*path, key] if key is not None else path
        _check_table(value, spec, where, inner)


def _check_table(value: dict[str, Any], spec: Table | MapOf, where: str, path: list[str]) -> None:
    if isinstance(spec, MapOf):
        for k, v in value.items():
            check(v, spec.value, where, path, k)
        return
    named = {k.rstrip("?"): s for k, s in spec.keys.items()}
    for k, v in value.items():  # a misspelt key first: it is also why the right one is missing
        want = named.get(k, spec.rest)
        if want is None:
            raise DataFileError(f"{where}: {_entry(path)}: unknown key {k!r}; expected one of "
                                + ", ".join(repr(n) for n in named))
        check(v, want, where, path, k)
    missing = [k for k in spec.keys if not k.endswith("?") and k not in value]
    if missing:
        raise DataFileError(f"{where}: {_entry(path)}: expected key {missing[0]!r}, found none")


def read(path: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
    """The TOML file at ``path`` parsed and validated against the schema of ``data/<name>`` (default: its own file
    name); what :func:`load` does for the shipped files."""
    from depfree.dataschema import SCHEMAS

    path = os.fspath(path)
    name = name or os.path.basename(path)
    shipped = os.path.dirname(os.path.abspath(path)) == DATA_DIR and os.path.basename(path) == name
    where = f"data/{name}" if shipped else path
    try:
        with open(path, encoding="utf-8") as fh:
            doc = tomllib.loads(fh.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{where}: cannot read the knowledge file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{where}: expected TOML, found an error: {exc}") from None
    if name not in SCHEMAS:
        raise DataFileError(f"{where}: expected a knowledge file with a schema in depfree/dataschema.py, found none")
    check(doc, SCHEMAS[name], where)
    return doc


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed and validated ``data/<name>`` file."""
    # a path beside this module, not importlib.resources (which imports pathlib, tempfile, shutil and zipfile:
    # ~10 ms of every `depfree inspect`); depfree is installed as files, never imported from a zip
    return read(os.path.join(DATA_DIR, name), name)
