"""What a package must carry, by the kind of package (data/contexts.toml), applied to a binary's in-package
resolution: one verdict per binary, with what is *missing from the package* kept apart from what it *needs from
the machine it lands on*.

``judge_in_package(b, package)`` adds to ``b.resolution``::

    {"context": "image"|"root"|"deb"|"wheel"|"app", "verdict": "ok"|"warn"|"fail",
     "missing": [{"kind", "name", "why", "severity"}],      # the package had to carry it and does not
     "host":    [{"kind", "name", "why", "status", "detail"?}]}  # the machine's job; status met|provided|unknown|unmet

A binary is ``fail`` only for something missing from the package (severity fail), or a need known to be unmet on a
target the user chose; ``warn`` for a missing optional part (a CA bundle in an image) or a target warning.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from depfree.datafiles import load
from depfree.model import Binary, Evidence, to_json

CARRIES = {"interpreter", "library", "file"}
LIBRARY_RULES = {"inside", "depends", "platform-tag", "host"}


@dataclass(frozen=True)
class ContextRule:
    name: str
    kinds: tuple[str, ...]
    noun: str
    carries: frozenset[str]
    libraries: str
    source: str
    provided: Mapping[str, str] = field(default_factory=dict)


class ContextDataError(ValueError):
    """data/contexts.toml does not have the expected shape (a packaging bug, not bad input)."""


@functools.cache
def rules() -> dict[str, ContextRule]:
    """The context rules of data/contexts.toml, validated once per process."""
    data = load("contexts.toml")
    runtime = data["runtime_files"]
    out: dict[str, ContextRule] = {}
    for name, entry in data["context"].items():
        for key in ("kinds", "noun", "carries", "libraries", "source"):
            if key not in entry:
                raise ContextDataError(f"data/contexts.toml: context {name!r} is missing {key!r}")
        bad = set(entry["carries"]) - CARRIES
        if bad or entry["libraries"] not in LIBRARY_RULES:
            raise ContextDataError(f"data/contexts.toml: context {name!r}: expected carries from {sorted(CARRIES)} "
                                   f"and libraries one of {sorted(LIBRARY_RULES)}, found {sorted(bad)} / "
                                   f"{entry['libraries']!r}")
        provided = {}
        if entry.get("provided") == "runtime_files":
            provided = {p: runtime["by"] for p in runtime["paths"]}
        out[name] = ContextRule(name, tuple(entry["kinds"]), entry["noun"], frozenset(entry["carries"]),
                                entry["libraries"], entry["source"], provided)
    return out


def runtime_files() -> dict[str, str]:
    """Paths a container runtime supplies at start -> who supplies them (shared by scan and targets)."""
    return dict(rules()["image"].provided)


def rootfs_markers() -> list[str]:
    return list(load("contexts.toml")["rootfs"]["markers"])


@functools.cache
def _host_libraries() -> tuple[frozenset[str], tuple[str, ...]]:
    hl = load("contexts.toml")["host_libraries"]
    policy = load("wheel_policies.toml")["manylinux"]  # the X11, GL and GLib libraries manylinux lets wheels use
    extra = [n for names in policy.get("since", {}).values() for n in names]
    return frozenset([*hl["names"], *policy["libraries"], *extra]), tuple(hl["prefixes"])


def is_host_library(name: str) -> bool:
    """A library a Linux host of its libc is expected to have: glibc's own, libgcc_s, libstdc++, libz, the loader,
    and what the manylinux policies let a wheel take from the system (libX11, libGL, libglib...)."""
    names, prefixes = _host_libraries()
    return name in names or name.startswith(prefixes)


def rule_for(kind: str) -> ContextRule:
    """The context rule for a container kind (``oci``, ``deb``, ``wheel``, ``root``, ``tar``...)."""
    for rule in rules().values():
        if kind in rule.kinds:
            return rule
    return rules()["app"]


@dataclass
class Package:
    """What the judgement knows of the package around a binary."""

    rule: ContextRule
    depends: list[list[str]] | None = None  # a .deb's Depends + Pre-Depends: alternatives per entry
    package_name: str | None = None
    shlibs: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # soname -> (package, where it was read)
    wheel: Any = None  # targets.wheel.WheelTag
    targets_chosen: bool = False  # the user named the targets: a failing cell fails the binary
    owners: Any = None  # sources.dpkg.DpkgOwners of an image or root with a dpkg database (dpkg -S)


def _item(kind: str, name: str, why: str, evidence: list[Evidence] | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "why": why, **extra, "evidence": to_json(evidence or [])}


def _needed_ev(name: str, entry: dict[str, Any] | None = None) -> list[Evidence]:
    by = (entry or {}).get("needed_by")
    return [Evidence("dynamic", "DT_NEEDED", name + (f" of {by}" if by else ""))]


def _need_ev(b: Binary, path: str) -> list[Evidence]:
    return next((list(n.evidence) for n in b.needs or [] if n.what == path), [])


def judge_in_package(b: Binary, pkg: Package) -> None:
    """Fill ``context``, ``missing``, ``host`` and ``verdict`` of ``b.resolution`` for the package's rule."""
    res = b.resolution
    if res is None:
        return
    rule = pkg.rule
    missing: list[dict[str, Any]] = []
    host: list[dict[str, Any]] = []
    # the interpreter
    interp = res.get("interpreter")
    if interp and res.get("interpreter_found") is False:
        ev = [Evidence("segment", "PT_INTERP", interp)]
        if "interpreter" in rule.carries:
            missing.append(_item("interpreter", interp, "the kernel starts the program through this loader", ev,
                                 severity="fail"))
        else:
            host.append(_item("interpreter", interp, "the kernel starts the program through this loader", ev,
                              status=_deb_status(pkg, "libc.so.6")[0] if rule.libraries == "depends" else "unknown"))
    # libraries
    for entry in res.get("libraries") or []:
        if entry.get("path") is not None:
            _own(pkg, entry)
            continue
        _judge_library(b, pkg, entry, missing, host)
    if rule.libraries == "platform-tag" and pkg.wheel is not None:
        from depfree.targets.wheel import check_tag

        missing += check_tag(b, pkg.wheel)
    # files (a Linux program's: on Darwin and Windows the paths Go's net and time read are the OS's own)
    for f in res.get("files") or [] if b.os == "linux" else []:
        if f.get("found") is not None:
            continue
        ev = _need_ev(b, f["path"])
        if f.get("provided_by"):
            host.append(_item(f["kind"], f["path"], f["why"], ev, status="provided", detail=f["provided_by"]))
        elif "file" in rule.carries and f.get("required"):
            missing.append(_item(f["kind"], f["path"], f["why"], ev, severity="warn"))
        elif "file" not in rule.carries:
            host.append(_item(f["kind"], f["path"], f["why"], ev, status="unknown"))
    # the minimum kernel or OS (one, the highest of its sources) and the CPU level: always the machine's
    low = b.effective_min_os
    if low is not None:
        kind = "kernel" if low.os == "linux" else "os"
        why = "; ".join(f"{e.name}: {e.detail.split(';')[0]}" for e in low.evidence[:3])
        host.append(_item(kind, f"{low.os} ≥ {low.version}", why or "the minimum the binary declares",
                          low.evidence, status="unknown"))
    for need in b.needs or []:
        if need.kind == "cpu":
            host.append(_item(need.kind, need.what, need.why, need.evidence, status="unknown"))
    if rule.libraries == "host":
        _apply_targets(b, pkg, host)
    severities = [m["severity"] for m in missing] + [h["severity"] for h in host if h["status"] == "unmet"]
    res["context"] = rule.name
    res["verdict"] = "fail" if "fail" in severities else "warn" if severities else "ok"
    res["missing"] = missing
    res["host"] = host


def _judge_library(b: Binary, pkg: Package, entry: dict[str, Any], missing: list[dict[str, Any]],
                   host: list[dict[str, Any]]) -> None:
    name = entry["name"]
    rule = pkg.rule
    why = "a shared library the loader must find" + (f" (needed by {entry['needed_by']})"
                                                     if entry.get("needed_by") else "")
    ev = _needed_ev(name, entry)
    if rule.libraries == "inside":
        detail, how = _dpkg_provider(pkg, name)
        missing.append(_item("library", name, why, ev + how, severity="fail", **({"detail": detail} if detail else {})))
        return
    if rule.libraries == "depends":
        if entry.get("needed_by"):
            return  # a library of the package's own library: judged on that library
        status, detail, how = _deb_status(pkg, name)
        if status == "unmet":
            missing.append(_item("library", name, f"{why}; {detail}", ev + how, severity="fail", detail=detail))
        else:
            host.append(_item("library", name, why, ev + how, status=status, detail=detail))
        return
    if rule.libraries == "platform-tag":
        from depfree.targets.wheel import allowed_library

        if pkg.wheel is not None and allowed_library(b, pkg.wheel, name):
            host.append(_item("library", name, why, ev + [_policy_ev(pkg)], status="met",
                              detail=f"allowed by {pkg.wheel.tag}"))
        else:
            policy = pkg.wheel.tag if pkg.wheel is not None else "its platform tag"
            missing.append(_item("library", name, f"{why}; not in the wheel and not allowed by {policy}",
                                 ev + [_policy_ev(pkg)], severity="fail"))
        return
    # host: the package is the application; the machine supplies the rest, unless the binary looks next to itself
    if b.format == "elf":
        searches_origin = any("$ORIGIN" in p or "${ORIGIN}" in p for p in b.linkage.rpath + b.linkage.runpath)
        bundles = any(e.get("path") and not is_host_library(e["name"]) for e in (b.resolution or {}).get("libraries")
                      or [])  # it found libraries of its own in the package: it bundles, and this one is left out
        if searches_origin and bundles and not is_host_library(name):
            origin = [p for p in b.linkage.rpath + b.linkage.runpath if "ORIGIN" in p]
            missing.append(_item("library", name, f"{why}; the binary searches $ORIGIN for the libraries the "
                                                  "package bundles, and no host is expected to have this one",
                                 ev + [Evidence("dynamic", "DT_RUNPATH" if b.linkage.runpath else "DT_RPATH",
                                                ":".join(origin))], severity="fail"))
            return
        host.append(_item("library", name, why, ev, status="unknown"))
        return
    lib = next((lib for lib in b.linkage.libraries if lib.name == name), None)
    kind = lib.kind if lib is not None else ""
    ev = [Evidence("import" if b.format == "pe" else "load-command", name, kind or "not a system library")]
    if kind == "c-runtime:vcruntime" or (kind == "third-party" and b.format == "macho" and name.startswith("/")):
        host.append(_item("library", name, "a runtime the machine must have installed", ev, status="unknown"))
    else:
        missing.append(_item("library", name, "not part of the OS: must travel next to the program", ev,
                             severity="fail"))


def _own(pkg: Package, entry: dict[str, Any]) -> None:
    """The dpkg package that owns a library found in an image or root (its ``info/*.list``, as ``dpkg -S``)."""
    if pkg.owners is None or not pkg.owners.present:
        return
    owner = pkg.owners.owner(entry["path"])
    if owner is not None:
        entry["package"] = owner.package


def _dpkg_provider(pkg: Package, soname: str) -> tuple[str, list[Evidence]]:
    """For a library missing from an image or root with a dpkg database: the package its shlibs/symbols files name
    for the soname, and whether dpkg still counts it installed (a later layer or a hand deleted the file)."""
    if pkg.owners is None or not pkg.owners.present:
        return "", []
    got = pkg.shlibs.get(soname)
    if got is None:
        return "", []
    provider, where = got
    installed = any(p.package == provider for p in pkg.owners.packages)
    state = "installed per the dpkg database, its file is gone" if installed else "not installed"
    return f"← {provider} ({state})", [Evidence("file", where, f"maps {soname} to {provider}")]


def _policy_ev(pkg: Package) -> Evidence:
    return Evidence("file", "data/wheel_policies.toml", f"{pkg.wheel.tag if pkg.wheel else 'no tag'}; "
                    + load("wheel_policies.toml")["manylinux"]["source"])


def _deb_status(pkg: Package, soname: str) -> tuple[str, str, list[Evidence]]:
    """How a .deb satisfies ``soname``: ``met`` through Depends, ``unmet`` (the package providing it is not a
    dependency), or ``unknown`` (no shlibs/symbols file maps it); the detail and the evidence."""
    depends = Evidence("file", "control", "Depends/Pre-Depends: " + ", ".join(" | ".join(a) for a in pkg.depends or []))
    got = pkg.shlibs.get(soname)
    if got is None:
        from depfree.sources.dpkg import policy_package_names

        named = [n for n in policy_package_names(soname) if any(n in alt for alt in pkg.depends or [])]
        if named:
            return ("met", f"← {named[0]} (Depends ✓; named as Debian Policy §8.1 names library packages)",
                    [Evidence("setting", "Debian Policy §8.1", f"{soname} → {named[0]}"), depends])
        return "unknown", "no shlibs/symbols file maps it to a package: Depends not checked", []
    provider, where = got
    mapped = Evidence("file", where, f"maps {soname} to {provider}")
    if provider == pkg.package_name:
        return "met", f"← {provider} (this package)", [mapped]
    for alternatives in pkg.depends or []:
        if provider in alternatives:
            return "met", f"← {provider} (Depends ✓)", [mapped, depends]
    return "unmet", f"← {provider} ({where}), not in Depends or Pre-Depends", [mapped, depends]


def _apply_targets(b: Binary, pkg: Package, host: list[dict[str, Any]]) -> None:
    """Targets the user chose judge the host needs: a failing cell is a need known to be unmet there."""
    if not pkg.targets_chosen:
        return
    for cell in b.targets or []:
        if any(r.get("code") == "os-mismatch" for r in cell.get("reasons") or []):
            continue  # a target for another OS (a Linux profile for the .exe of a multi-OS release): not its machine
        for r in cell.get("reasons") or []:
            host.append(_item("target", cell["target"], r["message"],
                              [Evidence("file", "data/targets.toml", f"{cell['target']}: {r['code']}")],
                              status="unmet", severity=r["severity"], detail=r["fix"]))
