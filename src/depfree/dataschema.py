"""The schema of every knowledge file in ``depfree/data`` (:data:`SCHEMAS`) and the one check of a parsed file
against it (:func:`check`), used by ``datafiles.read`` when a file is parsed (not when its validated data come
back from the derived-data cache).

A schema is made of: a Python type (``str``, ``int``, ``bool``, ``float``; ``bool`` is never an ``int`` here),
:class:`Table` (known keys, a trailing ``?`` marks one optional; ``rest`` the spec of any other key),
:class:`MapOf` (any keys, one spec for every value), :class:`ListOf`, :class:`OneOf` (one of some strings) and
``ANY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.errors import DataFileError


@dataclass(frozen=True)
class Table:
    """A schema: a table with these keys (and ``rest``: the spec of any other key)."""

    keys: Mapping[str, Spec] = field(default_factory=dict)  # "name" required, "name?" optional
    rest: Spec | None = None  # the spec of keys not named in ``keys``; None: other keys are an error


@dataclass(frozen=True)
class MapOf:
    """A schema: a table of any keys, every value ``value``."""

    value: Spec


@dataclass(frozen=True)
class ListOf:
    """A schema: a list, every item ``item``."""

    item: Spec


@dataclass(frozen=True)
class OneOf:
    """A schema: one of these strings."""

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


# ---- the schema of every knowledge file -------------------------------------------------------------------------
# A new data file needs its line in SCHEMAS; a new key in one, its name in that file's table (``name?`` when entries
# may leave it out).

STRS = ListOf(str)
SEVERITY = OneOf(("note", "warning", "error"))


def sourced(rest: Spec | None = None, **keys: Spec) -> Table:
    """A table with a ``source`` citing where its knowledge comes from; ``name_`` stands for an optional ``name?``."""
    return Table({"source": str, **{k.removesuffix("_") + ("?" if k.endswith("_") else ""): v
                                    for k, v in keys.items()}}, rest)


CONTEXT = Table({"kinds": STRS, "noun": str, "carries": ListOf(OneOf(("interpreter", "library", "file"))),
                 "libraries": OneOf(("inside", "depends", "platform-tag", "host")),
                 "provided?": OneOf(("runtime_files",)), "source": str})

TARGET = Table({"os": str, "arch": ListOf(str), "libc": str, "files": STRS, "interpreters": STRS, "cpu?": str,
                "source": str, "libc_version?": str, "default?": bool, "kernel?": str, "os_version?": str,
                "container?": bool, "libraries?": STRS})

VARIANT = Table({"description": str, "source": str, "cgo?": bool, "ldflags?": STRS, "tags?": STRS,
                 "buildmode?": str, "trimpath?": bool, "env?": MapOf(str), "cc?": str, "install?": str})

# a DLL, API-set prefix or function that ships only from a Windows release on (targets/windows.py)
SINCE = sourced(version=str, update_=str)

STDLIB_NEED = Table({"id": str, "kind": OneOf(("file", "dir", "env", "library")), "what": str,
                     "alternatives?": STRS, "why": str, "functions": STRS, "goos?": STRS, "required?": bool,
                     "source": str, "unless_features?": STRS})

SCHEMAS: dict[str, Spec] = {
    "contexts.toml": Table({
        "runtime_files": sourced(paths=STRS, by=str), "host_libraries": sourced(names=STRS, prefixes=STRS),
        "context": MapOf(CONTEXT), "rootfs": sourced(markers=STRS)}),
    "fortify.toml": Table({"meta": sourced(libc6_=str),
                           "functions": MapOf(Table({"version": str, "checks": STRS, "source?": str}))}),
    "glibc.toml": Table({"version_tags": MapOf(sourced(min_=str))}),
    "go_versions.toml": Table({
        "linux": ListOf(sourced(since=str, kernel=str)), "macos": ListOf(sourced(since=str, version=str)),
        "windows": ListOf(sourced(since=str, version=str, name_=str)), "cpu": MapOf(sourced(str))}),
    "hardening.toml": Table({"stack_default": sourced(bool), "canary_load": sourced(str),
                             "rpath_risk": sourced(world_writable=STRS)}),
    "macos.toml": Table({"system_paths": sourced(prefixes=STRS, relative_prefixes=STRS),
                         "c_runtime": sourced(libsystem=STRS), "cpu_types": sourced(str), "platforms": sourced(str),
                         "macos_names": sourced(str)}),
    "packers.toml": MapOf(sourced(name=str, pe_sections=STRS, magic_=str, strings_=STRS)),
    # a preset is a policy: policy/config.py checks its keys as it checks a policy file's
    "presets.toml": MapOf(Table({"description": str, "source?": str}, rest=ANY)),
    "rules.toml": MapOf(Table({"name": str, "severity": SEVERITY, "summary": str, "fix": str})),
    "size_categories.toml": MapOf(sourced(label=str, why=str, sections_=STRS)),
    "static_libc.toml": Table({
        "sign": ListOf(sourced(libc=str, kind=str, code_=bool, value=str, why=str)),
        "irelative_types": sourced(int)}),
    "stdlib_needs.toml": Table({"need": ListOf(STDLIB_NEED)}),
    "targets.toml": MapOf(TARGET),
    "variants.toml": MapOf(VARIANT),
    "wheel_policies.toml": Table({
        "aliases": sourced(str),
        "manylinux": sourced(libraries=STRS, since=MapOf(STRS), symbol_versions=sourced(MapOf(str))),
        "musllinux": sourced(libraries=STRS)}),
    "windows.toml": Table({
        "system_dlls": sourced(names=STRS, api_set_prefixes=STRS),
        "system32": sourced(names=STRS, since=MapOf(SINCE), since_prefix_=MapOf(SINCE), functions_=MapOf(SINCE)),
        "c_runtimes": sourced(Table({"dlls?": STRS, "prefixes?": STRS, "system": bool, "note": str})),
        "versions": sourced(str), "subsystems": sourced(str), "machines": sourced(str)}),
}
