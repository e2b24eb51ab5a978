"""System or not: classify the DLLs a PE imports and the dylibs a Mach-O loads, from ``data/windows.toml`` and
``data/macos.toml``.

A Windows or macOS program is always dynamic against the OS; what matters for "will it run there" is which of its
libraries ship with the OS (``KERNEL32.dll``, ``/usr/lib/libSystem.B.dylib``) and which must travel with the program
(``libgcc_s_seh-1.dll``, ``@rpath/libfoo.dylib``). The C runtime plays the role libc plays on Linux.
"""

from __future__ import annotations

import functools
from typing import Any

from depfree.datafiles import load
from depfree.model import Evidence, Libc, Library

# The most specific runtime names the flavour: a program importing vcruntime140.dll also imports the UCRT API sets.
WINDOWS_CRT_ORDER = ("vcruntime", "mingw", "ucrt", "msvcrt")


def _entries(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k != "source"}


# --- Windows ---------------------------------------------------------------------------------------------------
def classify_dll(dll: str, functions: list[str] | None = None, delay: bool = False) -> Library:
    """One imported DLL: ``kind`` is ``c-runtime:<flavour>``, ``os`` or ``third-party``. Names compare
    case-insensitively, as the Windows loader does."""
    data = load("windows.toml")
    low = dll.lower()
    for flavour, spec in _entries(data["c_runtimes"]).items():
        if low in spec.get("dlls", []) or low.startswith(tuple(spec.get("prefixes", []))):
            return Library(name=dll, system=bool(spec["system"]), kind=f"c-runtime:{flavour}", delay_load=delay,
                           functions=functions)
    system = data["system_dlls"]
    if low in system["names"] or low.startswith(tuple(system["api_set_prefixes"])) or low in _system32():
        return Library(name=dll, system=True, kind="os", delay_load=delay, functions=functions)
    return Library(name=dll, system=False, kind="third-party", delay_load=delay, functions=functions)


@functools.cache
def _system32() -> frozenset[str]:
    """System32's DLLs (data/windows.toml [system32]: Wine's reimplemented set and the later ones of ``since``)."""
    s32 = load("windows.toml")["system32"]
    return frozenset(n.lower() for n in [*s32["names"], *s32.get("since", {})])


def windows_c_runtime(libs: list[Library]) -> Libc:
    """The C runtime flavour from the classified imports (``none`` when the runtime is linked in statically)."""
    found: dict[str, list[str]] = {}
    for lib in libs:
        if lib.kind.startswith("c-runtime:"):
            found.setdefault(lib.kind.split(":", 1)[1], []).append(lib.name)
    for flavour in WINDOWS_CRT_ORDER:
        if flavour in found:
            return Libc(flavour, [Evidence("import", name, k) for k, names in found.items() for name in names])
    return Libc("none", [Evidence("import", "C runtime", "no msvcrt/ucrt/vcruntime/mingw runtime DLL imported")])


# --- macOS -----------------------------------------------------------------------------------------------------
def classify_dylib(name: str, how: str = "load") -> Library:
    """One dylib load command (``how``: load, weak, reexport, lazy, upward). ``kind`` is ``libsystem``, ``os``,
    ``relative`` (@rpath/@executable_path/@loader_path: ships with the program) or ``third-party``."""
    data = load("macos.toml")
    weak = how == "weak"
    base = name.rsplit("/", 1)[-1]
    if name.startswith(tuple(data["system_paths"]["prefixes"])):
        kind = "libsystem" if base.startswith(tuple(data["c_runtime"]["libsystem"])) else "os"
        return Library(name=name, system=True, kind=kind, weak=weak)
    if name.startswith(tuple(data["system_paths"]["relative_prefixes"])):
        return Library(name=name, system=False, kind="relative", weak=weak)
    return Library(name=name, system=False, kind="third-party", weak=weak)


def macos_c_runtime(libs: list[Library]) -> Libc:
    for lib in libs:
        if lib.kind == "libsystem":
            return Libc("libsystem", [Evidence("load-command", "LC_LOAD_DYLIB", lib.name)])
    return Libc("none", [Evidence("load-command", "LC_LOAD_DYLIB", "libSystem not loaded")])
