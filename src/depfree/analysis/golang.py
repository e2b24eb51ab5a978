"""Go facts: which Go built the binary and how, from build info first, then from deeper signs (pclntab, symbols,
gccgo) when build info is gone. Whether cgo is on, with the evidence. gccgo's module is imported when
that fallback runs (issue 23)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from depfree.analysis.context import Context
from depfree.formats.base import ByteOrder, Executable
from depfree.golang.buildinfo import BuildInfoError, read_buildinfo
from depfree.golang.funcnames import CGO_GLUE_PARTS, CGO_PREFIXES
from depfree.golang.search import VERSION_RE, search_build_version
from depfree.model import Evidence, Go

# Symbols only runtime/cgo's C part brings in (GOROOT src/runtime/cgo/gcc_linux_amd64.c, gcc_libinit.c, asm_*.s).
# Not `_cgo_init`: it is a runtime variable (runtime/cgo.go) present in every Go binary, nil without cgo.
CGO_SYMBOLS = ("x_cgo_init", "_cgo_sys_thread_start", "crosscall2", "_cgo_topofstack", "runtime/cgo..inittask")
CGO_DYNAMIC_SYMBOLS = ("pthread_create", "malloc", "__libc_start_main", "getaddrinfo", "getpwuid_r")


def analyze_go(ctx: Context) -> None:
    go = go_from_buildinfo(ctx.exe)
    if go is None or go.version is None:
        for finder in _FALLBACKS:
            found = finder(ctx)
            if found is not None:
                if go is not None:  # unreadable build info: keep saying so
                    found.evidence.extend(go.evidence)
                go = found
                break
    if go is None:
        return
    cgo_linked(ctx, go)
    ctx.binary.go = go


def cgo_linked(ctx: Context, go: Go) -> None:
    """Whether C code is linked (``go.cgo``), judged from the binary itself: CGO_ENABLED=1 in the build settings
    (``go.cgo_enabled``) only allows cgo; a program that imports no package using C (Debian's shfmt, age-keygen)
    links no runtime/cgo and no libc, and runs like a CGO_ENABLED=0 build."""
    if go.cgo_enabled is False:
        go.cgo = False
        go.cgo_evidence = [Evidence("setting", "CGO_ENABLED", "0: the go command links no C code")]
        return
    _cgo_from_binary(ctx.exe, go)
    if go.cgo is not True and go.compiler == "gc":
        _cgo_from_pclntab(ctx, go)


def _cgo_from_pclntab(ctx: Context, go: Go) -> None:
    """cgo signs in the function table of stripped binaries: runtime/cgo's C part (x_cgo_init) and cgo glue. The
    first names in sorted order of those that are signs, found by the name table's searches (a 50 MB binary has
    55k names: sorting them and testing each cost ~50 ms)."""
    tables = ctx.go
    count = tables.name_count
    if not count:
        return
    runtime_cgo = tables.names_with_prefix(("runtime/cgo.",)) | {n for n in CGO_SYMBOLS if tables.has_name(n)}
    hits = sorted(runtime_cgo)[:2]
    glue = tables.names_with_prefix(CGO_PREFIXES) | tables.names_containing_any(CGO_GLUE_PARTS)
    hits += sorted(n for n in glue if n not in hits)[: 3 - len(hits)]
    if hits:
        go.cgo = True
        go.cgo_evidence = [Evidence("function", n, "cgo code in the pclntab") for n in hits]
    elif go.cgo is None:
        go.cgo = False
        go.cgo_evidence = [Evidence("function", "x_cgo_init", f"absent from the {count} pclntab function names")]


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
        go.cgo_enabled = cgo == "1"
    return go


def _cgo_from_binary(exe: Executable, go: Go) -> None:
    """cgo signs in the symbol table and the dynamic section: runtime/cgo's C part, C library imports, a NEEDED
    libc (on Linux the Go runtime makes system calls itself, so only C code brings libc in)."""
    # the first three found are the evidence: the rest need not be looked up (each a pass over a Go .strtab)
    found = list(islice((Evidence("symbol", s, "runtime/cgo's C part is linked") for s in CGO_SYMBOLS
                         if exe.symbol(s) is not None), 3))
    if found:
        go.cgo, go.cgo_evidence = True, found
        return
    if exe.format == "elf":
        dyn = set(exe.dynamic_symbols())
        hits = [Evidence("import", s, "C library function imported") for s in CGO_DYNAMIC_SYMBOLS if s in dyn]
        if exe.os in ("linux", "android"):
            hits += [Evidence("dynamic", "DT_NEEDED", f"{n}: a C library") for n in exe.needed
                     if n.startswith(_LIBC_SONAMES)]
        if hits:
            go.cgo, go.cgo_evidence = True, hits[:3]
            return
        if go.cgo is None and exe.has_symbol_table and not exe.needed:
            go.cgo = False
            go.cgo_evidence = [Evidence("symbol", "x_cgo_init", "absent from .symtab; no DT_NEEDED")]


_LIBC_SONAMES = ("libc.so", "libc.musl", "libpthread.so", "libdl.so")


def go_from_pclntab(ctx: Context) -> Go | None:
    """Go facts from the pclntab when build info is gone: the table proves a gc-built Go binary; the version comes
    from ``runtime.buildVersion``, by symbol when there is a symbol table, else by a validated search."""
    tab = ctx.go.pclntab
    if tab is None:
        return None
    if not ctx.go.any_name_with_prefix("runtime."):
        return None  # a table without the Go runtime is not a Go program's
    exe = ctx.exe
    what = f"pclntab, {tab.layout_name} layout, {tab.nfunc} functions"
    how, _, name = tab.found_by.partition(" ")
    if how in ("section", "symbol"):
        evidence = [Evidence(how, name, what)]
    else:
        evidence = [Evidence("header", "pclntab", f"{what}; found by validated search at file offset {tab.offset:#x}")]
    version, source = _version_from_symbol(exe, tab.ptr_size, tab.order), "symbols"
    if version is not None:
        evidence.append(Evidence("symbol", "runtime.buildVersion", version))
    else:
        source = "pclntab"
        found = search_build_version(exe, tab.ptr_size, tab.order)
        if found is not None:
            version = found[0]
            evidence.append(Evidence("string", "runtime.buildVersion",
                                     f"string header at {found[1]:#x} points at {version!r}"))
    md = ctx.go.moduledata
    if md is not None:
        evidence.append(Evidence("header", "runtime.firstmoduledata", f"at {md.addr:#x}, text {md.text:#x}-{md.etext:#x}"))
    return Go(version=version, source=source, evidence=evidence)


def _version_from_symbol(exe: Executable, ptr_size: int, order: ByteOrder) -> str | None:
    sym = exe.symbol("runtime.buildVersion")
    if sym is None or not sym.value:
        return None
    hdr = exe.read_at(sym.value, 2 * ptr_size)
    if len(hdr) < 2 * ptr_size:
        return None
    addr = int.from_bytes(hdr[:ptr_size], order)
    n = int.from_bytes(hdr[ptr_size:], order)
    if not 0 < n <= 256:
        return None
    text = exe.read_at(addr, n)
    return text.decode("ascii") if len(text) == n and VERSION_RE.fullmatch(text) else None


def go_from_gccgo(ctx: Context) -> Go | None:
    """gccgo: no build info, no pclntab; libgo, the export data section and libgo's start-up symbols say Go."""
    from depfree.golang.gccgo import gccgo_signs

    signs = gccgo_signs(ctx.exe)
    if signs is None:
        return None
    go = Go(version=None, source="gccgo", compiler="gccgo", evidence=signs.evidence)
    if signs.libgo:
        go.evidence = [Evidence("dynamic", "NEEDED", f"{signs.libgo}: needs the gccgo runtime library libgo "
                                                    "installed on the target (package libgo<N> on Debian)"),
                       *[e for e in signs.evidence if e.kind != "dynamic"]]
    return go


# Finders tried in order when build info is absent; each returns Go facts or None.
_FALLBACKS: list[Callable[[Context], Go | None]] = [go_from_pclntab, go_from_gccgo]
