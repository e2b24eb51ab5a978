"""Which C library a statically linked ELF executable carries, from code and data only that library links
(``data/static_libc.toml``): its own symbols when there is a symbol table, IRELATIVE relocations (glibc resolves
IFUNCs at start-up, musl has none), glibc's ABI note, and strings its code reads (glibc's tunables, musl's strerror
table). Never from text that only mentions a library (a licence, a URL). A Go program without C code has no libc.
"""

from __future__ import annotations

import struct
from functools import cache

from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.errors import DepfreeError
from depfree.formats.base import Symbol
from depfree.formats.elf import ElfExecutable
from depfree.model import Evidence, Libc

KINDS = ("symbol", "string", "irelative", "note")
MAX_RELOCS = 1 << 16  # entries read per relocation section
MAX_STRING_SCAN = 256 << 20  # bytes of read-only data searched for strings
_RELOC_SECTIONS = (".rela.plt", ".rela.iplt", ".rela.dyn", ".rel.plt", ".rel.iplt", ".rel.dyn")
_GO_SECTIONS = (".go.buildinfo", ".gopclntab", ".note.go.buildid")
GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"  # GOROOT src/debug/buildinfo/buildinfo.go buildInfoMagic


@dataclass(frozen=True)
class Sign:
    """One sign of a statically linked libc (an entry of data/static_libc.toml)."""

    libc: str
    kind: str
    value: str
    why: str
    source: str
    code: bool  # holds in a Go binary too


@cache
def signs() -> tuple[tuple[Sign, ...], dict[str, int]]:
    """The signs in order and the IRELATIVE type of each arch; validated when loaded."""
    data = load("static_libc.toml")
    out = []
    for i, s in enumerate(data.get("sign", [])):
        if s.get("libc") not in ("glibc", "musl") or s.get("kind") not in KINDS or not s.get("value") \
                or not s.get("source"):
            raise DepfreeError(f"data/static_libc.toml: expected sign {i} with libc, kind {KINDS}, value and "
                               f"source, found {s}")
        out.append(Sign(libc=s["libc"], kind=s["kind"], value=s["value"], why=s.get("why", ""), source=s["source"],
                        code=bool(s.get("code", False))))
    types = {k: v for k, v in data.get("irelative_types", {}).items() if isinstance(v, int)}
    if not out or not types:
        raise DepfreeError("data/static_libc.toml: expected [[sign]] entries and [irelative_types], found none")
    return tuple(out), types


def go_sign(exe: ElfExecutable) -> Evidence | None:
    """What shows a Go program: one of its sections, or the runtime.main symbol."""
    for name in _GO_SECTIONS:
        if exe.section(name) is not None:
            return Evidence("section", name, "")
    if exe.symbol("runtime.main") is not None:
        return Evidence("symbol", "runtime.main", "")
    if not exe.sections() and exe.find(GO_BUILDINFO_MAGIC) >= 0:  # section headers removed: the build info stays
        return Evidence("string", "Go build info", "build info magic in the file (section headers removed)")
    return None


def static_libc(exe: ElfExecutable) -> Libc:
    go = go_sign(exe)
    table, types = signs()
    asked = [s for s in table if go is None or s.code]
    # the symbol signs looked up together: one pass over a Go binary's megabytes of .strtab, not one each
    names = [s.value for s in asked if s.kind == "symbol"]
    exe.expect_symbols(names)  # (found with the names the other analyzers ask, in one pass)
    symbols = exe.symbols_named(names)
    for sign in asked:
        found = _look(exe, sign, types, symbols)
        if found is not None:
            return Libc(sign.libc, [found])
    if go is not None:
        return Libc("none", [Evidence(go.kind, go.name, "a Go program with no C library code linked (no glibc or "
                                                        "musl sign): the Go runtime makes system calls itself")])
    return Libc("unknown", [Evidence("segment", "PT_INTERP", "absent; no sign of a statically linked glibc or musl "
                                                             "(data/static_libc.toml)")])


def _look(exe: ElfExecutable, sign: Sign, types: dict[str, int], symbols: dict[str, Symbol]) -> Evidence | None:
    detail = f"{sign.why}: statically linked {sign.libc} ({sign.source})"
    if sign.kind == "symbol":
        return Evidence("symbol", sign.value, detail) if sign.value in symbols else None
    if sign.kind == "note":
        return Evidence("note", sign.value, detail) if exe.abi_tag is not None else None
    if sign.kind == "irelative":
        rtype = types.get(exe.arch)
        if rtype is None:
            return None
        for name, n in _irelative_counts(exe, rtype):
            if n:
                return Evidence("section", name, f"{n} IRELATIVE relocations; {detail}")
        return None
    needle = sign.value.encode("utf-8")
    for start, end in _rodata_ranges(exe):
        # searched from the end: the linker lays out read-only data in link order, the C library's archive after
        # the program's objects, so its strings sit in the last part (GLIBC_TUNABLES 97% into qemu's and busybox's
        # .rodata: the search reads 3% of it instead of 97%)
        if exe.rfind(needle, start, end) >= 0:
            shown = sign.value.split("\0", 1)[0]
            return Evidence("string", shown, detail)
    return None


def _irelative_counts(exe: ElfExecutable, rtype: int) -> list[tuple[str, int]]:
    """(section, number of relocations of type ``rtype``) for the relocation sections present."""
    out = []
    rela_size = 24 if exe.bits == 64 else 12
    rel_size = 16 if exe.bits == 64 else 8
    order = "<" if exe.endian == "little" else ">"
    for name in _RELOC_SECTIONS:
        sec = exe.section(name)
        if sec is None or not sec.file_size:
            continue
        ent = rela_size if name.startswith(".rela") else rel_size
        raw = exe.read_file(sec.offset, min(sec.file_size, MAX_RELOCS * ent))
        # r_offset, r_info (and r_addend): the type is the low 32 bits of r_info (ELF64), its low byte (ELF32)
        fmt = order + ("QQ" if exe.bits == 64 else "II") + "x" * (ent - (16 if exe.bits == 64 else 8))
        mask = 0xFFFFFFFF if exe.bits == 64 else 0xFF
        count = sum(1 for _off, info in struct.iter_unpack(fmt, raw[: len(raw) // ent * ent]) if info & mask == rtype)
        out.append((name, count))
    return out


def _rodata_ranges(exe: ElfExecutable) -> list[tuple[int, int]]:
    """File ranges of read-only data: .rodata, else (no section headers) the read-only, non-executable segments."""
    ro = exe.section(".rodata")
    if ro is not None and ro.file_size:
        return [(ro.offset, ro.offset + min(ro.file_size, MAX_STRING_SCAN))]
    if exe.sections():
        return []
    return [(s.offset, s.offset + min(s.filesz, MAX_STRING_SCAN)) for s in exe.segments()
            if s.kind == "load" and not s.executable and not s.writable and s.filesz]
