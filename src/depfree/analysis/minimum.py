"""One effective minimum OS / kernel version: the highest of what the binary's header says (ELF NT_GNU_ABI_TAG,
Mach-O LC_BUILD_VERSION / LC_VERSION_MIN_*, PE MajorSubsystemVersion / MajorOperatingSystemVersion) and what its Go
release needs (data/go_versions.toml), each source kept as evidence. Targets judge against this one number."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.model import Binary, Evidence, MinOS
from depfree.versions import version_key


def padded(version: str, width: int = 4) -> tuple[int, ...]:
    """A version key where ``12.0`` equals ``12`` (numeric, missing parts are 0)."""
    key = version_key(version)
    return key + (0,) * (width - len(key)) if len(key) < width else key


def analyze_minimum(ctx: Context) -> None:
    ctx.binary.effective_min_os = effective_min_os(ctx.binary)


def effective_min_os(b: Binary) -> MinOS | None:
    sources: list[tuple[str, str, Evidence]] = []  # (os, version, evidence)
    if b.min_os is not None:
        for e in b.min_os.evidence or [Evidence("header", "minimum", b.min_os.version)]:
            sources.append((b.min_os.os, b.min_os.version,
                            Evidence(e.kind, e.name, f"{b.min_os.os} {b.min_os.version}"
                                     + (f"; {e.detail}" if e.detail else ""))))
    for need in b.needs or []:
        if need.kind == "kernel":
            ev = need.evidence[0] if need.evidence else Evidence("setting", "go version")
            if ev.kind == "note":
                continue  # the ABI tag again (needs.py restates it for C programs)
            sources.append(("linux", need.what, Evidence(ev.kind, ev.name, f"linux {need.what}; {need.why}"
                                                         + (f"; {ev.detail}" if ev.detail else ""))))
        elif need.kind == "os":  # "macos 11", "windows 10.0": the header's names for the OS
            os_name, _, version = need.what.partition(" ")
            ev = need.evidence[0] if need.evidence else Evidence("setting", "go version")
            sources.append((os_name, version, Evidence(ev.kind, ev.name, f"{need.what}; {need.why}")))
    if not sources:
        return None
    os_name = b.min_os.os if b.min_os is not None else sources[0][0]
    same = [s for s in sources if s[0] == os_name]
    if not same:
        return None
    best = max(same, key=lambda s: padded(s[1]))
    names = [s for s in same if padded(s[1]) == padded(best[1])]
    name = b.min_os.name if b.min_os is not None and padded(b.min_os.version) == padded(best[1]) else None
    return MinOS(os=os_name, version=best[1], name=name,
                 evidence=[s[2] for s in names] + [s[2] for s in same if s not in names])
