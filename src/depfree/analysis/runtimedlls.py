"""DLLs a Windows Go program loads itself at run time, apart from its import table (``linkage.runtime_dlls``).

A Go PE imports only kernel32.dll (the runtime's ``//go:cgo_import_dynamic`` lines); everything else is loaded by
name while the program runs (all GOROOT files):
- the runtime, with ``LoadLibraryExW(..., LOAD_LIBRARY_SEARCH_SYSTEM32)`` on NUL-terminated UTF-16 names kept in
  ``[...]uint16`` arrays (``runtime/os_windows.go``: bcryptprimitives.dll, ntdll.dll, powrprof.dll, winmm.dll);
- ``syscall``, ``internal/syscall/windows`` and golang.org/x/sys/windows, through
  ``NewLazyDLL(sysdll.Add("advapi32.dll"))`` / ``NewLazySystemDLL("...")`` on Go string literals
  (``syscall/zsyscall_windows.go``, ``internal/syscall/windows/zsyscall_windows.go``).
A name found as a UTF-16 array is reported with ``how = "go-runtime"``; a name among the Go strings with
``how = "lazy-dll"``. Go keeps its string literals back to back, without separators, so an ASCII name right after
other text counts only when it ends in a known system DLL name (data/windows.toml), which is then the name; DLLs in
the import table are not repeated. Missing a DLL that ships with every Windows breaks nothing; a third-party one
that is not next to the program fails at the first call that needs it.
"""

from __future__ import annotations

import re

from depfree.analysis.context import Context
from depfree.analysis.oslibs import classify_dll
from depfree.datafiles import load
from depfree.model import Evidence, RuntimeDll

MAX_SCAN = 256 << 20  # bytes of data sections searched
MAX_NAMES = 64
_NAME = rb"[A-Za-z0-9_\-]"
_UTF16 = re.compile(rb"(?:" + _NAME + rb"\x00){1,64}\.\x00[dD]\x00[lL]\x00[lL]\x00\x00\x00")
_ASCII = re.compile(_NAME + rb"{1,64}\.[dD][lL][lL]")


def analyze_runtime_dlls(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
    if exe.format != "pe" or b.go is None or b.go.compiler != "gc":
        return
    known = sorted(load("windows.toml")["system_dlls"]["names"], key=len, reverse=True)
    imported = {n.lower() for n in b.linkage.needed}
    found: dict[str, RuntimeDll] = {}
    view = exe.source.view()
    budget = MAX_SCAN
    for sec in exe.sections():
        if sec.executable or not sec.file_size or budget <= 0:
            continue
        start = exe.base + sec.offset
        end = min(start + sec.file_size, start + budget, len(view))
        budget -= end - start
        for m in _UTF16.finditer(view, start, end):
            name = bytes(m.group())[:-2].decode("utf-16-le")
            _add(found, imported, name, "go-runtime", Evidence(
                "string", name, f"NUL-terminated UTF-16 name in {sec.name} at file offset {m.start() - exe.base:#x}, "
                                "as the Go runtime passes to LoadLibraryExW (GOROOT src/runtime/os_windows.go)"))
        for m in _ASCII.finditer(view, start, end):
            raw = bytes(m.group())
            clean = m.start() == start or not 0x20 <= view[m.start() - 1] < 0x7F
            dll = _name(raw.decode("ascii").lower(), known, clean)
            if dll is not None:
                _add(found, imported, dll, "lazy-dll", Evidence(
                    "string", dll, f"DLL name among the strings of {sec.name} at file offset "
                                   f"{m.end() - len(dll) - exe.base:#x}, as syscall.NewLazyDLL / NewLazySystemDLL "
                                    "take it (GOROOT src/syscall/zsyscall_windows.go)"))
        if len(found) >= MAX_NAMES:
            break
    b.linkage.runtime_dlls = sorted(found.values(), key=lambda d: (d.how != "go-runtime", d.name))[:MAX_NAMES]


def _name(candidate: str, known: list[str], clean: bool) -> str | None:
    """The DLL name a match stands for: itself when it is a known name or starts cleanly; else the longest known
    system DLL name it ends with (Go strings run together: ``...Procws2_32.dll``)."""
    if candidate in known:
        return candidate
    for k in known:
        if candidate.endswith(k) and candidate[-len(k) - 1 : -len(k)] not in ("-", "_"):
            return k
    return candidate if clean else None


def _add(found: dict[str, RuntimeDll], imported: set[str], name: str, how: str, ev: Evidence) -> None:
    key = name.lower()
    if key in imported or len(found) >= MAX_NAMES:
        return
    if key in found:
        if how == "go-runtime" and found[key].how != "go-runtime":
            found[key].how = how
            found[key].evidence.insert(0, ev)
        return
    lib = classify_dll(name)
    found[key] = RuntimeDll(name=name, system=lib.system, how=how, evidence=[ev])
