"""Target profiles: the built-in ones (data/targets.toml) plus a user's TOML file (--targets-file), validated."""

from __future__ import annotations

import functools
import sys
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.errors import UsageError

KEYS: dict[str, type | tuple[type, ...]] = {
    "os": str, "arch": (list, str), "libc": str, "libc_version": str, "kernel": str, "os_version": str, "files": list,
    "interpreters": list, "libraries": list, "cpu": str, "source": str, "container": bool, "default": bool}
REQUIRED = ("os", "arch", "libc", "files", "interpreters")


@dataclass
class Profile:
    name: str
    os: str
    arch: list[str]
    libc: str
    files: list[str]
    interpreters: list[str]
    libc_version: str | None = None
    kernel: str | None = None
    os_version: str | None = None
    libraries: list[str] = field(default_factory=list)
    cpu: str = "x86-64-v1"
    source: str = ""
    container: bool = False  # a container image: the runtime's files count as present (data/contexts.toml)
    default: bool = False  # in the default set for binaries of its os


def _profile(name: str, entry: Any, where: str) -> Profile:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: target {name!r} must be a table")
    for key, value in entry.items():
        if key not in KEYS:
            raise UsageError(f"{where}: target {name!r}: unknown key {key!r}; expected one of {', '.join(sorted(KEYS))}")
        want_type = KEYS[key]
        ok = isinstance(value, want_type) and (not isinstance(value, list) or all(isinstance(v, str) for v in value))
        if want_type is str and isinstance(value, bool):
            ok = False
        if not ok:
            wants: dict[type | tuple[type, ...], str] = {list: "a list of strings", str: "a string",
                                                         bool: "true or false"}
            want = wants.get(want_type, "a string or a list of strings")
            raise UsageError(f"{where}: target {name!r}: {key!r} must be {want}, found {value!r}")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise UsageError(f"{where}: target {name!r} is missing {', '.join(missing)}")
    entry = dict(entry)
    if isinstance(entry["arch"], str):
        entry["arch"] = [entry["arch"]]  # pinned to one architecture
    return Profile(name=name, **entry)


def builtin() -> dict[str, Profile]:
    """The profiles of data/targets.toml (a fresh dict; the profiles themselves are validated once per process)."""
    return dict(_builtin())


@functools.cache
def _builtin() -> dict[str, Profile]:
    return {name: _profile(name, e, "data/targets.toml") for name, e in load("targets.toml").items()}


def load_profiles(targets_file: str | None = None) -> dict[str, Profile]:
    profiles = builtin()
    if targets_file:
        if sys.version_info >= (3, 11):  # here: only a --targets-file is TOML to parse (data/*.toml come cached)
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            with open(targets_file, "rb") as fh:
                doc = tomllib.load(fh)
        except OSError as exc:
            raise UsageError(f"{targets_file}: cannot read targets file: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{targets_file}: not valid TOML: {exc}") from None
        for name, entry in doc.items():
            profiles[name] = _profile(name, entry, targets_file)
    return profiles


def default_set(profiles: dict[str, Profile], os: str | None = "linux") -> list[str]:
    """The profiles marked ``default`` for binaries of ``os`` (in file order: built-in first, then a targets file)."""
    return [n for n, p in profiles.items() if p.default and p.os == (os or "linux")]


def select(profiles: dict[str, Profile], names: list[str] | None, os: str | None = "linux") -> list[Profile]:
    """The named profiles, or the default set for ``os`` (the binary's: a PE gets Windows targets, a Mach-O macOS);
    ``os=None`` for names only, or every default set when no names are given."""
    if not names:
        if os is None:
            return [p for p in profiles.values() if p.default]
        names = default_set(profiles, os)
    unknown = [n for n in names if n not in profiles]
    if unknown:
        raise UsageError(f"unknown target {unknown[0]!r}; known targets: {', '.join(sorted(profiles))}")
    return [profiles[n] for n in names]
