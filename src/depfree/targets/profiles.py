"""Target profiles: the built-in ones (data/targets.toml) plus a user's TOML file (--targets-file), validated."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any

from depfree.datafiles import load
from depfree.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KEYS = {"os": str, "arch": list, "libc": str, "libc_version": str, "kernel": str, "os_version": str, "files": list,
        "interpreters": list, "libraries": list, "cpu": str, "source": str}
REQUIRED = ("os", "arch", "libc", "files", "interpreters")
DEFAULT_SET = ["scratch", "distroless-static", "alpine-3.20", "debian-12", "ubuntu-20.04", "centos-7"]


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


def _profile(name: str, entry: Any, where: str) -> Profile:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: target {name!r} must be a table")
    for key, value in entry.items():
        if key not in KEYS:
            raise UsageError(f"{where}: target {name!r}: unknown key {key!r}; expected one of {', '.join(sorted(KEYS))}")
        if not isinstance(value, KEYS[key]) or (KEYS[key] is list and not all(isinstance(v, str) for v in value)):
            want = "a list of strings" if KEYS[key] is list else "a string"
            raise UsageError(f"{where}: target {name!r}: {key!r} must be {want}, found {value!r}")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise UsageError(f"{where}: target {name!r} is missing {', '.join(missing)}")
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


def select(profiles: dict[str, Profile], names: list[str] | None) -> list[Profile]:
    names = names or DEFAULT_SET
    unknown = [n for n in names if n not in profiles]
    if unknown:
        raise UsageError(f"unknown target {unknown[0]!r}; known targets: {', '.join(sorted(profiles))}")
    return [profiles[n] for n in names]
