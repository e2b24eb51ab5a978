"""The minimum versions an ELF file needs of each versioned library (glibc, libstdc++, ...): its version-need table
grouped by family (``GLIBC_2.34`` -> GLIBC 2.34), the highest of each, and the symbols bound to that version as the
evidence (glibc elf/dl-version.c checks every listed version when it loads the library)."""

from __future__ import annotations

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.formats.elf import ElfExecutable, VersionNeed
from depfree.model import Evidence, Linkage, VersionedSymbol, VersionRequirement
from depfree.versions import max_version, split_tag, version_key


def _tag_minimum() -> dict[str, str]:
    """Non-numeric glibc version tags that imply a minimum (data/glibc.toml)."""
    return {k: v["min"] for k, v in load("glibc.toml")["version_tags"].items() if "min" in v}


@dataclass
class _Needs:
    """The version names of the version-need table, sorted into what each one requires."""

    families: dict[str, dict[str, str]] = field(default_factory=dict)  # family -> {version: library}
    unshaped: dict[str, str] = field(default_factory=dict)  # version name without a number -> library
    tag_evidence: dict[str, list[Evidence]] = field(default_factory=dict)  # GLIBC_x.y -> why a named tag implies it
    glibc_private: bool = False


def _sort_needs(needs: list[VersionNeed]) -> _Needs:
    out = _Needs()
    tag_minimum = _tag_minimum()
    for need in needs:
        for name in need.versions.values():
            if name == "GLIBC_PRIVATE":
                out.glibc_private = True
            elif name in tag_minimum:
                out.families.setdefault("GLIBC", {})[tag_minimum[name]] = need.library
                out.tag_evidence.setdefault(f"GLIBC_{tag_minimum[name]}", []).append(
                    Evidence("version-need", name, f"{need.library}; defined from glibc {tag_minimum[name]} on"))
            elif (split := split_tag(name)) is not None:
                fam, ver = split
                out.families.setdefault(fam, {})[ver] = need.library
            else:
                # Not shaped NAME_x.y (``Base``, ``gssapi_krb5_2_MIT``): the loader still checks that the library
                # defines it (glibc elf/dl-version.c match_symbol), so it is a requirement of its own.
                out.unshaped.setdefault(name, need.library)
    return out


def _bound_symbols(exe: ElfExecutable, needs: list[VersionNeed], wanted: set[str]) -> dict[str, list[VersionedSymbol]]:
    """The undefined dynamic symbols bound to the ``wanted`` version names; thousands of others are skipped."""
    index: dict[int, tuple[str, str]] = {}  # version index -> (name, library)
    for need in needs:
        for idx, name in need.versions.items():
            index[idx] = (name, need.library)
    top_indexes = {idx for idx, (name, _lib) in index.items() if name in wanted and idx >= 2}
    bound: dict[str, list[VersionedSymbol]] = {}
    for sym, vidx in exe.undefined_bound_to(top_indexes):
        name, lib = index[vidx]
        bound.setdefault(name, []).append(VersionedSymbol(symbol=sym, version=name, library=lib))
    return bound


def _family_requirement(fam: str, vers: dict[str, str], top: str, syms: list[VersionedSymbol],
                        tag_evidence: list[Evidence]) -> VersionRequirement:
    tag = f"{fam}_{top}"
    evidence = tag_evidence + [Evidence("version-need", tag, f"{vers[top]}; bound by {s.symbol}") for s in syms[:3]]
    if not evidence:
        evidence = [Evidence("version-need", tag, f"{vers[top]}; listed, no symbol bound to it")]
    return VersionRequirement(family=fam, library=vers[top], min_version=top,
                              versions=sorted((f"{fam}_{v}" for v in vers), key=lambda t: version_key(t.split("_")[-1])),
                              symbols=syms, evidence=evidence)


def _unshaped_requirement(name: str, lib: str, syms: list[VersionedSymbol]) -> VersionRequirement:
    what = f"{lib}; a version name without a number: the library must define it"
    evidence = [Evidence("version-need", name, f"{what}; bound by {s.symbol}") for s in syms[:3]]
    return VersionRequirement(family=name, library=lib, min_version=name, versions=[name], symbols=syms,
                              evidence=evidence or [Evidence("version-need", name, f"{what}; no symbol bound to it")])


def add_version_requirements(exe: ElfExecutable, link: Linkage) -> None:
    """Fill ``link.versioned``, ``min_glibc``, ``glibc_symbols`` and ``glibc_private`` from the version needs."""
    needs = exe.version_needs
    if not needs:
        return
    sorted_needs = _sort_needs(needs)
    if sorted_needs.glibc_private:
        link.glibc_private = True
    tops: dict[str, str] = {}
    for fam, vers in sorted_needs.families.items():
        top = max_version(list(vers))
        assert top is not None  # a family has at least one version
        tops[fam] = top
    bound = _bound_symbols(exe, needs, {f"{fam}_{top}" for fam, top in tops.items()} | set(sorted_needs.unshaped))
    for fam, vers in sorted(sorted_needs.families.items()):
        top = tops[fam]
        syms = sorted(bound.get(f"{fam}_{top}", []), key=lambda s: s.symbol)
        link.versioned.append(_family_requirement(fam, vers, top, syms, sorted_needs.tag_evidence.get(f"{fam}_{top}", [])))
        if fam == "GLIBC":
            link.min_glibc = top
            link.glibc_symbols = syms
    for name, lib in sorted(sorted_needs.unshaped.items()):
        link.versioned.append(_unshaped_requirement(name, lib, sorted(bound.get(name, []), key=lambda s: s.symbol)))
