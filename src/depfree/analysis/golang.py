"""Go facts: which Go built the binary and how, from build info first, then from deeper signs (pclntab, symbols,
gccgo) when build info is gone. Whether cgo is on, with the evidence."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.formats.base import Executable
from depfree.golang.buildinfo import BuildInfoError, read_buildinfo
from depfree.model import Evidence, Go

# Symbols only runtime/cgo's C part brings in (GOROOT src/runtime/cgo/gcc_linux_amd64.c, gcc_libinit.c, asm_*.s).
# Not `_cgo_init`: it is a runtime variable (runtime/cgo.go) present in every Go binary, nil without cgo.
CGO_SYMBOLS = ("x_cgo_init", "_cgo_sys_thread_start", "crosscall2", "_cgo_topofstack", "runtime/cgo..inittask")
CGO_DYNAMIC_SYMBOLS = ("pthread_create", "malloc", "__libc_start_main", "getaddrinfo", "getpwuid_r")


def analyze_go(ctx: Context) -> None:
    go = go_from_buildinfo(ctx.exe)
    if go is None:
        for finder in _FALLBACKS:
            go = finder(ctx)
            if go is not None:
                break
    if go is None:
        return
    if go.cgo is None or not go.cgo_evidence:
        _cgo_from_binary(ctx.exe, go)
    ctx.binary.go = go


def go_from_buildinfo(exe: Executable) -> Go | None:
    try:
        bi = read_buildinfo(exe)
    except BuildInfoError as exc:
        return Go(version=None, source="buildinfo", evidence=[Evidence("section", "build info", f"unreadable: {exc}")])
    if bi is None:
        return None
    where = exe.section(".go.buildinfo") or exe.section("__go_buildinfo")
    where_name = where.name if where else f"data at {bi.raw.address:#x}" if bi.raw else "data"
    form = "inline strings (Go >= 1.18)" if bi.raw and bi.raw.inline else "pointer form (Go < 1.18)"
    go = Go(version=bi.go_version, source="buildinfo", path=bi.path or None, main=bi.main, deps=bi.deps,
            settings=bi.settings, evidence=[Evidence("section", where_name, f"build info magic, {form}")])
    cgo = bi.settings.get("CGO_ENABLED")
    if cgo is not None:
        go.cgo = cgo == "1"
        go.cgo_evidence = [Evidence("setting", "CGO_ENABLED", cgo)]
    return go


def _cgo_from_binary(exe: Executable, go: Go) -> None:
    """cgo signs when build settings do not say (GOPATH-mode and distro builds, binaries without build info)."""
    found = [Evidence("symbol", s, "cgo runtime") for s in CGO_SYMBOLS if exe.symbol(s) is not None]
    if found:
        go.cgo = True if go.cgo is None else go.cgo
        go.cgo_evidence = go.cgo_evidence or found[:3]
        return
    if exe.format == "elf":
        dyn = set(exe.dynamic_symbols())
        hits = [s for s in CGO_DYNAMIC_SYMBOLS if s in dyn]
        if hits:
            go.cgo = True if go.cgo is None else go.cgo
            go.cgo_evidence = go.cgo_evidence or [Evidence("import", s, "C library function imported") for s in hits[:3]]
            return
        if go.cgo is None and exe.section(".symtab") is not None and not getattr(exe, "interpreter", None):
            go.cgo = False
            go.cgo_evidence = [Evidence("symbol", "x_cgo_init", "absent from .symtab; no PT_INTERP")]


# Finders tried in order when build info is absent; each returns Go facts or None. pclntab/symbols/gccgo go here.
_FALLBACKS: list = []
