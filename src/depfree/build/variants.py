"""Build variants as data (``data/variants.toml``), validated when loaded, and their combinations (``a+b+c``).

A :class:`Variant` is a set of ``go build`` knobs — cgo on or off, linker flags, build tags, build mode,
``-trimpath``, extra environment, the C compiler — plus a description, the source that documents it and the install
hint for its compiler. ``resolve("cgo-off+stripped+trimpath")`` merges variants left to right: flags and tags add up,
``-trimpath`` is on when any part has it, and two parts that set the same knob differently are an error.
"""

from __future__ import annotations

import functools
import shlex
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.errors import UsageError

ZIG_PREFIX = "zig:"
_KEYS: dict[str, type | tuple[type, ...]] = {
    "description": str, "source": str, "cgo": bool, "ldflags": list, "tags": list, "buildmode": str,
    "trimpath": bool, "env": dict, "cc": str, "install": str,
}
_REQUIRED = ("description", "source")
# Environment a variant may not set: what the build runner owns (its hermetic setup) or what has its own key.
_RESERVED_ENV = {"CGO_ENABLED": "cgo", "CC": "cc", "GOFLAGS": "ldflags/tags/trimpath", "GOOS": "", "GOARCH": "",
                 "GOROOT": "", "GOCACHE": "", "GOPATH": ""}


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    source: str
    cgo: bool = True
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    buildmode: str = ""
    trimpath: bool = False
    env: tuple[tuple[str, str], ...] = ()
    cc: str = ""
    install: str = ""
    parts: tuple[str, ...] = field(default=())  # the variants a combination was made of

    @property
    def zig_target(self) -> str | None:
        return self.cc[len(ZIG_PREFIX):] if self.cc.startswith(ZIG_PREFIX) else None

    def build_flags(self) -> list[str]:
        """The ``go build`` flags (before ``-o``), in the order ``go help build`` lists them."""
        flags = []
        if self.buildmode:
            flags.append(f"-buildmode={self.buildmode}")
        if self.tags:
            flags.append("-tags=" + ",".join(self.tags))
        if self.trimpath:
            flags.append("-trimpath")
        if self.ldflags:
            flags.append("-ldflags=" + " ".join(self.ldflags))
        return flags

    def command_line(self, pkg: str = ".", output: str = "app") -> str:
        """The shell command that builds this variant by hand (what the recommendation prints)."""
        env = [f"CGO_ENABLED={1 if self.cgo else 0}"]
        if self.cgo and self.cc and self.cc != "gcc":
            cc = (f"zig cc -target {self.zig_target}" if self.zig_target else self.cc)
            env.append(f"CC={shlex.quote(cc)}")
        env += [f"{k}={shlex.quote(v)}" for k, v in self.env]
        args = ["go", "build", *self.build_flags(), "-o", output, pkg]
        return " ".join(env + [shlex.quote(a) for a in args])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "source": self.source, "cgo": self.cgo,
                "ldflags": list(self.ldflags), "tags": list(self.tags), "buildmode": self.buildmode,
                "trimpath": self.trimpath, "env": dict(self.env), "cc": self.cc, "install": self.install,
                "parts": list(self.parts) or [self.name], "flags": self.build_flags()}


def _variant(name: str, entry: Any, where: str) -> Variant:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: variant {name!r} must be a table, found {type(entry).__name__}")
    for key, value in entry.items():
        want = _KEYS.get(key)
        if want is None:
            raise UsageError(f"{where}: variant {name!r}: unknown key {key!r}; expected one of {', '.join(_KEYS)}")
        if not isinstance(value, want):
            raise UsageError(f"{where}: variant {name!r}: {key!r} must be a {want.__name__}, found {value!r}")  # type: ignore[union-attr]
        if isinstance(value, list) and not all(isinstance(v, str) and v for v in value):
            raise UsageError(f"{where}: variant {name!r}: {key!r} must be a list of non-empty strings, found {value!r}")
        if isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
            raise UsageError(f"{where}: variant {name!r}: env values must be strings, found {value!r}")
    missing = [k for k in _REQUIRED if not entry.get(k)]
    if missing:
        raise UsageError(f"{where}: variant {name!r} is missing {', '.join(missing)}")
    if "+" in name or not name:
        raise UsageError(f"{where}: variant name {name!r} may not be empty or contain '+'")
    env = entry.get("env", {})
    for k in env:
        if k in _RESERVED_ENV:
            own = _RESERVED_ENV[k]
            raise UsageError(f"{where}: variant {name!r}: env may not set {k}" + (f" (use {own!r})" if own else ""))
    cc = entry.get("cc", "")
    if cc.startswith(ZIG_PREFIX) and not cc[len(ZIG_PREFIX):]:
        raise UsageError(f"{where}: variant {name!r}: cc {cc!r} names no Zig target (zig:x86_64-linux-gnu.2.17)")
    return Variant(name=name, description=entry["description"], source=entry["source"], cgo=entry.get("cgo", True),
                   ldflags=tuple(entry.get("ldflags", ())), tags=tuple(entry.get("tags", ())),
                   buildmode=entry.get("buildmode", ""), trimpath=entry.get("trimpath", False),
                   env=tuple(sorted(env.items())), cc=cc if entry.get("cgo", True) else "",
                   install=entry.get("install", "") if entry.get("cgo", True) else "")


def parse(doc: dict[str, Any], where: str) -> dict[str, Variant]:
    variants = {name: _variant(name, entry, where) for name, entry in doc.items()}
    if "default" not in variants:
        raise UsageError(f"{where}: expected a [default] variant, found {', '.join(variants) or 'none'}")
    return variants


@functools.cache
def builtin() -> dict[str, Variant]:
    """The variants of data/variants.toml, in file order (validated once per process)."""
    return parse(load("variants.toml"), "data/variants.toml")


def _merge(a: Variant, b: Variant) -> Variant:
    def one(knob: str, x: Any, y: Any, unset: Any) -> Any:
        if x != unset and y != unset and x != y:
            raise UsageError(f"cannot combine {a.name} and {b.name}: they set {knob} to {x!r} and {y!r}")
        return y if y != unset else x

    # cgo: a part that turns cgo off wins over the default "on"; musl/zig parts that need it on conflict with it.
    cgo = a.cgo and b.cgo
    cc_a, cc_b = (a.cc if a.cgo else ""), (b.cc if b.cgo else "")
    if not cgo and (cc_a not in ("", "gcc") or cc_b not in ("", "gcc")):
        raise UsageError(f"cannot combine {a.name} and {b.name}: one turns cgo off, the other needs the C compiler "
                         f"{(cc_a if cc_a not in ('', 'gcc') else cc_b)!r}")
    cc = "" if not cgo else one("cc", cc_a if cc_a != "gcc" else "", cc_b if cc_b != "gcc" else "", "") or "gcc"
    env = dict(a.env)
    for k, v in b.env:
        one(k, env.get(k, ""), v, "")
        env[k] = v
    install = "" if not cgo else (b.install if cc == b.cc else a.install)
    return Variant(name=f"{a.name}+{b.name}", description=f"{a.description}; {b.description}",
                   source=f"{a.source}; {b.source}", cgo=cgo, ldflags=a.ldflags + b.ldflags,
                   tags=tuple(dict.fromkeys(a.tags + b.tags)), buildmode=one("buildmode", a.buildmode, b.buildmode, ""),
                   trimpath=a.trimpath or b.trimpath, env=tuple(sorted(env.items())), cc=cc, install=install,
                   parts=(a.parts or (a.name,)) + (b.parts or (b.name,)))


def resolve(spec: str, variants: dict[str, Variant] | None = None) -> Variant:
    """The variant named ``spec``: one name from the table, or names joined with '+'."""
    variants = variants if variants is not None else builtin()
    names = spec.split("+")
    for n in names:
        if n not in variants:
            raise UsageError(f"unknown variant {n!r}" + (f" in {spec!r}" if len(names) > 1 else "")
                             + f": expected one of {', '.join(variants)} (or several joined with '+')")
    if len(set(names)) != len(names):
        raise UsageError(f"variant {spec!r} names the same variant twice")
    out = variants[names[0]]
    for n in names[1:]:
        out = _merge(out, variants[n])
    return out
