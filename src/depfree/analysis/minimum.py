"""One effective minimum OS / kernel version: the highest of what the binary's header says (ELF NT_GNU_ABI_TAG,
Mach-O LC_BUILD_VERSION / LC_VERSION_MIN_*, PE MajorSubsystemVersion / MajorOperatingSystemVersion) and what its Go
release needs (data/go_versions.toml), each source kept as evidence. Targets judge against this one number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from depfree.analysis.context import Context
from depfree.datafiles import load
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.model import Binary, Evidence, MinOS
from depfree.versions import version_key

if TYPE_CHECKING:  # imported when such a file is read (pefile is slow to import)
    from depfree.formats.macho import MachoExecutable
    from depfree.formats.pe import PeExecutable


def padded(version: str, width: int = 4) -> tuple[int, ...]:
    """A version key where ``12.0`` equals ``12`` (numeric, missing parts are 0)."""
    key = version_key(version)
    return key + (0,) * (width - len(key)) if len(key) < width else key


def header_min_os(exe: Executable) -> MinOS | None:
    """The minimum OS the header states: ELF NT_GNU_ABI_TAG (Linux only), PE subsystem / OS version, Mach-O
    LC_BUILD_VERSION or LC_VERSION_MIN_*."""
    if isinstance(exe, ElfExecutable):
        tag = exe.abi_tag
        if tag is None or tag[0] != 0:
            return None
        version = f"{tag[1]}.{tag[2]}.{tag[3]}"
        return MinOS(os="linux", version=version, name=f"Linux {version}",
                     evidence=[Evidence("note", "NT_GNU_ABI_TAG", ".note.ABI-tag")])
    if exe.format == "pe":
        from depfree.formats.pe import PeExecutable

        assert isinstance(exe, PeExecutable)
        return _pe_min_os(exe)
    from depfree.formats.macho import MachoExecutable

    assert isinstance(exe, MachoExecutable)
    return _macho_min_os(exe)


def _pe_min_os(exe: PeExecutable) -> MinOS:
    sub, osv = exe.headers.subsystem_version, exe.headers.os_version
    names = {k: v for k, v in load("windows.toml")["versions"].items() if k != "source"}
    # The loader enforces the subsystem version; the OS version field is advisory. Report the higher.
    version = max(sub, osv, key=version_key)
    return MinOS(os="windows", version=version, name=names.get(version),
                 evidence=[Evidence("header", "MajorSubsystemVersion", sub),
                           Evidence("header", "MajorOperatingSystemVersion", osv)])


def _macho_min_os(exe: MachoExecutable) -> MinOS | None:
    bv = exe.build_version
    if bv is None:
        return None
    names = load("macos.toml")["macos_names"]
    major = bv.minos.split(".")[0]
    key = bv.minos.rsplit(".", 1)[0] if major == "10" else major
    name = names.get(key) if bv.platform == "macos" else None
    return MinOS(os=bv.platform, version=bv.minos, name=f"macOS {bv.minos} {name}" if name else None,
                 evidence=[Evidence("load-command", bv.command, f"minos {bv.minos}, sdk {bv.sdk}")])


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
