"""How a file is linked, for every format in one place: static / static-pie / dynamic, its loader, libraries, search
paths and C runtime. ELF also gets the minimum versions of glibc and of every other versioned library it needs
(``symver.py``); Windows and macOS programs are always dynamic against the OS, their libraries classified as system
or not by ``oslibs.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from depfree.analysis.oslibs import classify_dll, classify_dylib, macos_c_runtime, windows_c_runtime
from depfree.analysis.staticlibc import static_libc
from depfree.analysis.symver import add_version_requirements
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.model import Evidence, Libc, Library, Linkage

if TYPE_CHECKING:  # imported when such a file is read (pefile is slow to import)
    from depfree.formats.macho import MachoExecutable
    from depfree.formats.pe import PeExecutable

MH_EXECUTE = 2


def linkage_of(exe: Executable) -> Linkage:
    """The linkage of any executable (ELF, PE or Mach-O)."""
    if isinstance(exe, ElfExecutable):
        return elf_linkage(exe)
    if exe.format == "pe":
        from depfree.formats.pe import PeExecutable

        assert isinstance(exe, PeExecutable)
        return pe_linkage(exe)
    from depfree.formats.macho import MachoExecutable

    assert isinstance(exe, MachoExecutable)  # every reader is one of the three
    return macho_linkage(exe)


def pe_linkage(exe: PeExecutable) -> Linkage:
    libs = [classify_dll(imp.dll, imp.functions, imp.delay) for imp in exe.imports]
    return Linkage(kind="dynamic", needed=exe.needed, libc=windows_c_runtime(libs), libraries=libs,
                   evidence=[Evidence("import", "IMAGE_DIRECTORY_ENTRY_IMPORT",
                                      f"{len(libs)} DLLs; Windows programs always load through the OS loader")])


def macho_linkage(exe: MachoExecutable) -> Linkage:
    libs = [classify_dylib(d.name, d.kind) for d in exe.dylibs]
    return Linkage(kind="dynamic", needed=exe.needed, rpath=exe.rpath, libc=macos_c_runtime(libs), libraries=libs,
                   interpreter="/usr/lib/dyld" if exe.filetype == MH_EXECUTE else None,
                   evidence=[Evidence("load-command", "LC_LOAD_DYLIB", f"{len(exe.dylibs)} dylibs; macOS programs "
                                                                       "always load through dyld")])


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
    add_version_requirements(exe, link)
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
