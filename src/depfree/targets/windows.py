"""What each Windows release ships, per DLL, API-set family and imported function (data/windows.toml
``[system32.since]``, ``[system32.since_prefix]``, ``[system32.functions]``), validated on load: a PE that imports
something of a later release than the target's cannot start there (the loader refuses a missing DLL or entry point),
unless a Windows Update brings it to that release (``update``: a warning)."""

from __future__ import annotations

import functools
import re

from depfree.analysis.minimum import padded
from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.model import Library

_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


class WindowsDataError(ValueError):
    """data/windows.toml does not have the expected shape (a packaging bug, not bad input)."""


@dataclass(frozen=True)
class Since:
    """``what`` (a DLL, an API-set prefix, or ``dll!Function``) ships with Windows ``version`` and later."""

    what: str
    version: str
    source: str
    update: str = ""  # the Windows Update that brings it to older releases
    family: str = ""  # the API-set prefix it was matched by ("api-ms-win-crt-")

    @property
    def release(self) -> str:
        """The release's name (data/windows.toml [versions]), e.g. ``Windows 8 / Server 2012``."""
        versions = load("windows.toml")["versions"]
        base = ".".join(self.version.split(".")[:2])
        name = versions.get(base, f"Windows {base}")
        return name if base == self.version else f"{name} build {self.version.split('.')[2]}"


@dataclass(frozen=True)
class Releases:
    dlls: dict[str, Since]
    prefixes: dict[str, Since]
    functions: dict[str, Since]


def _entry(table: str, what: str, value: object) -> Since:
    where = f"data/windows.toml [system32.{table}] {what!r}"
    if not isinstance(value, dict):
        raise WindowsDataError(f"{where}: expected a table with version and source, found {value!r}")
    unknown = set(value) - {"version", "source", "update"}
    version, source = value.get("version"), value.get("source")
    if unknown or not isinstance(version, str) or not _VERSION.match(version) or not isinstance(source, str) \
            or not source.strip():
        raise WindowsDataError(f"{where}: expected version 'N.N[.build]' and a source, found {value!r}")
    base = ".".join(version.split(".")[:2])
    if base not in load("windows.toml")["versions"]:
        raise WindowsDataError(f"{where}: version {version!r} is not a release of [versions]")
    if what != what.lower():
        raise WindowsDataError(f"{where}: expected a lower-case name (the loader compares names case-insensitively)")
    return Since(what, version, source, str(value.get("update", "")))


@functools.cache
def releases() -> Releases:
    """The per-release knowledge of data/windows.toml, validated once per process."""
    s32 = load("windows.toml")["system32"]
    dlls = {k: _entry("since", k, v) for k, v in s32.get("since", {}).items()}
    prefixes = {k: _entry("since_prefix", k, v) for k, v in s32.get("since_prefix", {}).items()}
    functions: dict[str, Since] = {}
    for key, value in s32.get("functions", {}).items():
        dll, sep, func = key.partition("!")
        if not sep or not dll or not func:
            raise WindowsDataError(f"data/windows.toml [system32.functions] {key!r}: expected 'dll!Function'")
        functions[f"{dll.lower()}!{func}"] = _entry("functions", dll, value)
    return Releases(dlls, prefixes, functions)


def later_than(lib: Library, os_version: str) -> list[Since]:
    """What ``lib`` (an imported DLL and the functions taken from it) needs of a release after ``os_version``."""
    data = releases()
    low = lib.name.lower()
    out = []
    dll = data.dlls.get(low) or next((s for p, s in data.prefixes.items() if low.startswith(p)), None)
    if dll is not None and padded(dll.version) > padded(os_version):
        out.append(Since(lib.name, dll.version, dll.source, dll.update, "" if low in data.dlls else dll.what))
    for func in lib.functions or []:
        got = data.functions.get(f"{low}!{func}")
        if got is not None and padded(got.version) > padded(os_version):
            out.append(Since(f"{lib.name}!{func}", got.version, got.source, got.update))
    return out
