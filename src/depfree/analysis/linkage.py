"""How an ELF file is linked: static / static-pie / dynamic, its loader, libraries, search paths, libc flavour and the
minimum versions of glibc (and of every other versioned library) it needs, with the symbols that require them."""

from __future__ import annotations

from depfree.analysis.staticlibc import static_libc
from depfree.datafiles import load
from depfree.formats.elf import ElfExecutable
from depfree.model import Evidence, Libc, Library, Linkage, VersionedSymbol, VersionRequirement
from depfree.versions import max_version, split_tag, version_key


def _tag_minimum() -> dict[str, str]:
    """Non-numeric glibc version tags that imply a minimum (data/glibc.toml)."""
    return {k: v["min"] for k, v in load("glibc.toml")["version_tags"].items() if "min" in v}

_GLIBC_LOADERS = ("ld-linux", "/ld64.so.", "/ld.so.1")
_LIBC_NAMES = {"libc.so.6": "glibc", "libc.musl-x86_64.so.1": "musl", "libc.so": "musl"}


def elf_linkage(exe: ElfExecutable) -> Linkage:
    interp = exe.interpreter
    needed = exe.needed
    ev: list[Evidence] = []
    if interp is not None:
        kind = "dynamic"
        ev.append(Evidence("segment", "PT_INTERP", interp))
    elif needed:
        kind = "dynamic"  # a shared library: loaded by someone else's loader
        ev.append(Evidence("dynamic", "DT_NEEDED", ", ".join(needed)))
    elif exe.type == "shared" and exe.has_dynamic:
        kind = "dynamic"  # a DSO without DT_NEEDED: ld.so loads it into a process, which provides its symbols
        ev.append(Evidence("dynamic", "DT_NEEDED", "absent: " + host_symbols(exe)))
    elif exe.type == "pie" and exe.has_dynamic:
        kind = "static-pie"
        ev.append(Evidence("header", "ET_DYN", "no PT_INTERP and no DT_NEEDED: relocates itself"))
    else:
        kind = "static"
        ev.append(Evidence("segment", "PT_INTERP", "absent"))
        if not exe.has_dynamic:
            ev.append(Evidence("segment", "PT_DYNAMIC", "absent"))

    link = Linkage(kind=kind, interpreter=interp, needed=needed, rpath=exe.rpath, runpath=exe.runpath, evidence=ev)
    _versions(exe, link)
    link.libc = _libc(exe, link)
    link.libraries = [_classify(n, link.libc.flavour) for n in needed]
    return link


def host_symbols(exe: ElfExecutable) -> str:
    """What a shared object without DT_NEEDED relies on: its undefined dynamic symbols, bound by ld.so to the
    process that loads it (glibc elf/dl-lookup.c searches the global scope, the program and its libraries first)."""
    undefined = [name for name, defined, _v in exe.dynamic_symbol_entries if not defined and name]
    if not undefined:
        return "a shared object loaded by ld.so; it has no undefined symbols"
    shown = ", ".join(sorted(undefined)[:3]) + (" …" if len(undefined) > 3 else "")
    return (f"a shared object loaded by ld.so; its {len(undefined)} undefined symbols ({shown}) come from the "
            "process that loads it")


def _versions(exe: ElfExecutable, link: Linkage) -> None:
    needs = exe.version_needs
    if not needs:
        return
    # version index -> (name, library)
    index: dict[int, tuple[str, str]] = {}
    for need in needs:
        for idx, name in need.versions.items():
            index[idx] = (name, need.library)
    tag_minimum = _tag_minimum()
    tag_evidence: dict[str, list[Evidence]] = {}
    families: dict[str, dict[str, str]] = {}  # family -> {version: library}
    unshaped: dict[str, str] = {}  # version name -> library
    for need in needs:
        for name in need.versions.values():
            if name == "GLIBC_PRIVATE":
                link.glibc_private = True
                continue
            if name in tag_minimum:
                families.setdefault("GLIBC", {})[tag_minimum[name]] = need.library
                tag_evidence.setdefault(f"GLIBC_{tag_minimum[name]}", []).append(
                    Evidence("version-need", name, f"{need.library}; defined from glibc {tag_minimum[name]} on"))
                continue
            split = split_tag(name)
            if split is None:
                # Not shaped NAME_x.y (``Base``, ``gssapi_krb5_2_MIT``): the loader still checks that the library
                # defines it (glibc elf/dl-version.c match_symbol), so it is a requirement of its own.
                unshaped.setdefault(name, need.library)
                continue
            fam, ver = split
            families.setdefault(fam, {})[ver] = need.library

    tops = {fam: max_version(list(vers)) for fam, vers in families.items()}
    wanted = {f"{fam}_{top}" for fam, top in tops.items()} | set(unshaped)
    # Only the symbols bound to each family's highest version are evidence; thousands of others are skipped.
    bound: dict[str, list[VersionedSymbol]] = {}
    top_indexes = {idx for idx, (name, _lib) in index.items() if name in wanted and idx >= 2}
    for sym, defined, vidx in exe.dynamic_symbol_entries:
        if vidx in top_indexes and not defined:
            name, lib = index[vidx]
            bound.setdefault(name, []).append(VersionedSymbol(symbol=sym, version=name, library=lib))

    for fam, vers in sorted(families.items()):
        top = tops[fam]
        assert top is not None
        tag = f"{fam}_{top}"
        syms = sorted(bound.get(tag, []), key=lambda s: s.symbol)
        evidence = tag_evidence.get(tag, []) + [Evidence("version-need", tag, f"{vers[top]}; bound by {s.symbol}")
                                                for s in syms[:3]]
        if not evidence:
            evidence = [Evidence("version-need", tag, f"{vers[top]}; listed, no symbol bound to it")]
        link.versioned.append(VersionRequirement(
            family=fam, library=vers[top], min_version=top,
            versions=sorted((f"{fam}_{v}" for v in vers), key=lambda t: version_key(t.split("_")[-1])),
            symbols=syms, evidence=evidence))
        if fam == "GLIBC":
            link.min_glibc = top
            link.glibc_symbols = syms
    for name, lib in sorted(unshaped.items()):
        syms = sorted(bound.get(name, []), key=lambda s: s.symbol)
        what = f"{lib}; a version name without a number: the library must define it"
        evidence = [Evidence("version-need", name, f"{what}; bound by {s.symbol}") for s in syms[:3]]
        link.versioned.append(VersionRequirement(
            family=name, library=lib, min_version=name, versions=[name], symbols=syms,
            evidence=evidence or [Evidence("version-need", name, f"{what}; no symbol bound to it")]))


def _libc(exe: ElfExecutable, link: Linkage) -> Libc:
    interp = link.interpreter or ""
    if "ld-musl" in interp:
        return Libc("musl", [Evidence("segment", "PT_INTERP", interp)])
    if interp.startswith("/system/bin/linker"):
        return Libc("bionic", [Evidence("segment", "PT_INTERP", interp)])
    if any(n.startswith("libc.musl") for n in link.needed):
        return Libc("musl", [Evidence("dynamic", "DT_NEEDED", "libc.musl-*")])
    if link.min_glibc or link.glibc_private:
        return Libc("glibc", [Evidence("version-need", f"GLIBC_{link.min_glibc or 'PRIVATE'}",
                                       "symbol versions only glibc defines")])
    if "libc.so.6" in link.needed or any(m in interp for m in _GLIBC_LOADERS):
        what = Evidence("dynamic", "DT_NEEDED", "libc.so.6") if "libc.so.6" in link.needed else Evidence(
            "segment", "PT_INTERP", interp)
        return Libc("glibc", [what])
    if "libc.so" in link.needed:
        return Libc("musl", [Evidence("dynamic", "DT_NEEDED", "libc.so (musl's soname)")])
    if link.kind != "dynamic":
        return static_libc(exe)
    return Libc("unknown", [Evidence("dynamic", "DT_NEEDED", "no libc among " + (", ".join(link.needed) or "none"))])


_SYSTEM_PREFIXES = ("libc.", "libm.", "libpthread.", "libdl.", "librt.", "libresolv.", "ld-linux", "libutil.",
                    "libnsl.", "libanl.", "ld64.", "libgcc_s.", "libstdc++.")


def _classify(name: str, libc: str) -> Library:
    if name.startswith(("libc.so", "libc.musl")):
        return Library(name=name, system=True, kind="libc")
    if name.startswith(("ld-linux", "ld64.so", "ld-musl")):
        return Library(name=name, system=True, kind="loader")
    if name.startswith(("libgo.so",)):
        return Library(name=name, system=False, kind="go-runtime")
    if name.startswith(_SYSTEM_PREFIXES):
        return Library(name=name, system=True, kind="c-runtime")
    return Library(name=name, system=False, kind="third-party")
