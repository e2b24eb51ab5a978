"""What a package must carry, by the kind of package (data/contexts.toml), applied to a binary's in-package
resolution: one verdict per binary, with what is *missing from the package* kept apart from what it *needs from
the machine it lands on*.

``judge_in_package(b, package)`` fills ``context`` (image, root, deb, wheel, app), ``verdict`` (ok, warn, fail),
``missing`` (``MissingItem``: the package had to carry it and does not) and ``host`` (``HostItem``: the machine's
job; status met, provided, unknown or unmet) of ``b.resolution`` (model_verdicts.py).

A binary is ``fail`` only for something missing from the package (severity fail), or a need known to be unmet on a
target the user chose; ``warn`` for a missing optional part (a CA bundle in an image) or a target warning.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.model import Binary, Evidence
from depfree.model_verdicts import HostItem, MissingItem, Resolution, ResolvedLibrary


@dataclass(frozen=True)
class ContextRule:
    name: str
    kinds: tuple[str, ...]
    noun: str
    carries: frozenset[str]
    libraries: str
    source: str
    provided: Mapping[str, str] = field(default_factory=dict)


@functools.cache
def rules() -> dict[str, ContextRule]:
    """The context rules of data/contexts.toml (its keys and values checked by dataschema.py when loaded)."""
    data = load("contexts.toml")
    runtime = data["runtime_files"]
    out: dict[str, ContextRule] = {}
    for name, entry in data["context"].items():
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


def _missing(kind: str, name: str, why: str, evidence: list[Evidence], severity: str,
             detail: str | None = None) -> MissingItem:
    return MissingItem(kind, name, why, severity=severity, detail=detail, evidence=evidence)


def _host(kind: str, name: str, why: str, evidence: list[Evidence], status: str, detail: str | None = None,
          severity: str | None = None) -> HostItem:
    return HostItem(kind, name, why, status=status, severity=severity, detail=detail, evidence=evidence)


def _needed_ev(name: str, entry: ResolvedLibrary | None = None) -> list[Evidence]:
    by = entry.needed_by if entry is not None else None
    return [Evidence("dynamic", "DT_NEEDED", name + (f" of {by}" if by else ""))]


def _need_ev(b: Binary, path: str) -> list[Evidence]:
    return next((list(n.evidence) for n in b.needs or [] if n.what == path), [])


INTERP_WHY = "the kernel starts the program through this loader"


def judge_in_package(b: Binary, pkg: Package) -> None:
    """Fill ``context``, ``missing``, ``host`` and ``verdict`` of ``b.resolution`` for the package's rule."""
    res = b.resolution
    if res is None:
        return
    rule = pkg.rule
    missing: list[MissingItem] = []
    host: list[HostItem] = []
    interp = res.interpreter
    if interp and res.interpreter_found is False:
        ev = [Evidence("segment", "PT_INTERP", interp)]
        if "interpreter" in rule.carries:
            missing.append(_missing("interpreter", interp, INTERP_WHY, ev, "fail"))
        else:
            host.append(_host("interpreter", interp, INTERP_WHY, ev,
                              _deb_status(pkg, "libc.so.6")[0] if rule.libraries == "depends" else "unknown"))
    for entry in res.libraries:
        if entry.path is not None:
            _own(pkg, entry)
        else:
            _judge_library(b, pkg, entry, missing, host)
    if rule.libraries == "platform-tag" and pkg.wheel is not None:
        from depfree.targets.wheel import check_tag

        missing += check_tag(b, pkg.wheel)
    _judge_files(b, res, rule, missing, host)
    _machine_minimums(b, host)
    if rule.libraries == "host":
        _apply_targets(b, pkg, host)
    severities = [m.severity for m in missing] + [h.severity or "" for h in host if h.status == "unmet"]
    res.context = rule.name
    res.verdict = "fail" if "fail" in severities else "warn" if severities else "ok"
    res.missing = missing
    res.host = host


def _judge_files(b: Binary, res: Resolution, rule: ContextRule, missing: list[MissingItem],
                 host: list[HostItem]) -> None:
    """A Linux program's file needs (on Darwin and Windows the paths Go's net and time read are the OS's own)."""
    for f in res.files if b.os == "linux" else []:
        if f.found is not None:
            continue
        ev = _need_ev(b, f.path)
        if f.provided_by:
            host.append(_host(f.kind, f.path, f.why, ev, "provided", detail=f.provided_by))
        elif "file" in rule.carries and f.required:
            missing.append(_missing(f.kind, f.path, f.why, ev, "warn"))
        elif "file" not in rule.carries:
            host.append(_host(f.kind, f.path, f.why, ev, "unknown"))


def _machine_minimums(b: Binary, host: list[HostItem]) -> None:
    """The minimum kernel or OS (one, the highest of its sources) and the CPU level: always the machine's."""
    low = b.effective_min_os
    if low is not None:
        kind = "kernel" if low.os == "linux" else "os"
        why = "; ".join(f"{e.name}: {e.detail.split(';')[0]}" for e in low.evidence[:3])
        host.append(_host(kind, f"{low.os} ≥ {low.version}", why or "the minimum the binary declares",
                          list(low.evidence), "unknown"))
    for need in b.needs or []:
        if need.kind == "cpu":
            host.append(_host(need.kind, need.what, need.why, list(need.evidence), "unknown"))


def _judge_library(b: Binary, pkg: Package, entry: ResolvedLibrary, missing: list[MissingItem],
                   host: list[HostItem]) -> None:
    name = entry.name
    rule = pkg.rule
    why = "a shared library the loader must find" + (f" (needed by {entry.needed_by})" if entry.needed_by else "")
    ev = _needed_ev(name, entry)
    if rule.libraries == "inside":
        detail, how = _dpkg_provider(pkg, name)
        missing.append(_missing("library", name, why, ev + how, "fail", detail=detail or None))
    elif rule.libraries == "depends":
        if entry.needed_by:
            return  # a library of the package's own library: judged on that library
        status, detail, how = _deb_status(pkg, name)
        if status == "unmet":
            missing.append(_missing("library", name, f"{why}; {detail}", ev + how, "fail", detail=detail))
        else:
            host.append(_host("library", name, why, ev + how, status, detail=detail))
    elif rule.libraries == "platform-tag":
        from depfree.targets.wheel import allowed_library

        if pkg.wheel is not None and allowed_library(b, pkg.wheel, name):
            host.append(_host("library", name, why, ev + [_policy_ev(pkg)], "met",
                              detail=f"allowed by {pkg.wheel.tag}"))
        else:
            policy = pkg.wheel.tag if pkg.wheel is not None else "its platform tag"
            missing.append(_missing("library", name, f"{why}; not in the wheel and not allowed by {policy}",
                                    ev + [_policy_ev(pkg)], "fail"))
    elif b.format == "elf":
        _judge_host_elf_library(b, name, why, ev, missing, host)
    else:
        _judge_host_foreign_library(b, name, missing, host)


def _judge_host_elf_library(b: Binary, name: str, why: str, ev: list[Evidence], missing: list[MissingItem],
                            host: list[HostItem]) -> None:
    """host: the package is the application; the machine supplies the rest, unless the binary looks next to itself."""
    searches_origin = any("$ORIGIN" in p or "${ORIGIN}" in p for p in b.linkage.rpath + b.linkage.runpath)
    # it found libraries of its own in the package: it bundles, and this one is left out
    bundles = any(e.path and not is_host_library(e.name) for e in (b.resolution.libraries if b.resolution else []))
    if searches_origin and bundles and not is_host_library(name):
        origin = [p for p in b.linkage.rpath + b.linkage.runpath if "ORIGIN" in p]
        missing.append(_missing("library", name, f"{why}; the binary searches $ORIGIN for the libraries the "
                                                 "package bundles, and no host is expected to have this one",
                                ev + [Evidence("dynamic", "DT_RUNPATH" if b.linkage.runpath else "DT_RPATH",
                                               ":".join(origin))], "fail"))
        return
    host.append(_host("library", name, why, ev, "unknown"))


def _judge_host_foreign_library(b: Binary, name: str, missing: list[MissingItem], host: list[HostItem]) -> None:
    lib = next((lib for lib in b.linkage.libraries if lib.name == name), None)
    kind = lib.kind if lib is not None else ""
    ev = [Evidence("import" if b.format == "pe" else "load-command", name, kind or "not a system library")]
    if kind == "c-runtime:vcruntime" or (kind == "third-party" and b.format == "macho" and name.startswith("/")):
        host.append(_host("library", name, "a runtime the machine must have installed", ev, "unknown"))
    else:
        missing.append(_missing("library", name, "not part of the OS: must travel next to the program", ev, "fail"))


def _own(pkg: Package, entry: ResolvedLibrary) -> None:
    """The dpkg package that owns a library found in an image or root (its ``info/*.list``, as ``dpkg -S``)."""
    if pkg.owners is None or not pkg.owners.present or entry.path is None:
        return
    owner = pkg.owners.owner(entry.path)
    if owner is not None:
        entry.package = owner.package


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


def _apply_targets(b: Binary, pkg: Package, host: list[HostItem]) -> None:
    """Targets the user chose judge the host needs: a failing cell is a need known to be unmet there."""
    if not pkg.targets_chosen:
        return
    for cell in b.targets or []:
        if any(r.code == "os-mismatch" for r in cell.reasons):
            continue  # a target for another OS (a Linux profile for the .exe of a multi-OS release): not its machine
        for r in cell.reasons:
            host.append(_host("target", cell.target, r.message,
                              [Evidence("file", "data/targets.toml", f"{cell.target}: {r.code}")],
                              "unmet", severity=r.severity, detail=r.fix))
