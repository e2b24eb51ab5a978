"""Every byte of an executable image attributed once, to a named region: what ``depfree size`` used to call "other".

The file is painted in layers, each later layer winning where it overlaps an earlier one:

1. loadable segments (only when there are no section headers), by permission;
2. format headers: the ELF header and its program/section header tables (``e_phoff``, ``e_shoff``), the DOS/PE
   headers (``SizeOfHeaders``), the COFF symbol and string tables (``PointerToSymbolTable``), an Authenticode
   signature (the security data directory), the Mach-O header and load commands (``sizeofcmds``);
3. sections (their file bytes), named by ``data/size_categories.toml``;
4. ranges Go's ``runtime.firstmoduledata`` proves: the pclntab (``pcHeader`` … end of ``pclntable``), the type data
   (``types`` … ``etypes``), and, without sections, the text and data ranges.

What is left is a gap between regions: its zero bytes are alignment padding, the rest after the last region is an
overlay (data appended to the image), and anything else stays ``other`` — the only unexplained category.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
from functools import cache, lru_cache
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.errors import FormatError
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.golang.moduledata import ModuleData
from depfree.golang.pclntab import Pclntab
from depfree.model import Evidence

TEXT, PCLNTAB, SYMTAB, DWARF, OTHER = "code", "pclntab", "symtab", "DWARF", "other"
PADDING, OVERLAY, SIGNATURE, HEADERS, GOTYPES, DATA, RODATA = (
    "padding", "overlay", "signature", "headers", "gotypes", "data", "rodata")
SYMTAB_SECTIONS = (".symtab", ".strtab", "__symbol_table", "__string_table")
PCLNTAB_SECTIONS = (".gopclntab", "__gopclntab")
GOTYPE_SECTIONS = (".go.type", "__go_type")
GAP = "\0gap"
CHUNK = 1 << 20
MAX_EVIDENCE = 12


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    why: str
    patterns: tuple[str, ...]
    source: str


@cache
def categories() -> dict[str, Category]:
    """The categories of ``data/size_categories.toml``, validated: every entry has a label, why and source."""
    out: dict[str, Category] = {}
    for key, entry in load("size_categories.toml").items():
        if not all(isinstance(entry.get(k), str) and entry[k] for k in ("label", "why", "source")):
            raise FormatError(f"size_categories.toml: [{key}] needs label, why and source strings, found {entry}")
        out[key] = Category(key, entry["label"], entry["why"], tuple(entry.get("sections", ())), entry["source"])
    return out


def label(key: str) -> str:
    cat = categories().get(key)
    return cat.label if cat else key


@cache
def _matchers() -> list[tuple[str, re.Pattern[str]]]:
    """One compiled regular expression per category with patterns, in file order."""
    return [(c.key, re.compile("|".join(fnmatch.translate(p) for p in c.patterns)))
            for c in categories().values() if c.patterns]


@lru_cache(maxsize=4096)
def category_of(section: str) -> str:
    """The category key of a section name: code, pclntab, symtab, DWARF, a table of size_categories.toml, or other."""
    if section in PCLNTAB_SECTIONS:
        return PCLNTAB
    if section in SYMTAB_SECTIONS:
        return SYMTAB
    if section.startswith((".debug_", ".zdebug_", "__debug_", "__zdebug_")) or section == "__DWARF":
        return DWARF
    for key, rx in _matchers():
        if rx.match(section):
            return TEXT if key == "code" else key
    return OTHER


@dataclass
class Region:
    start: int
    end: int
    key: str
    evidence: Evidence | None = None


@dataclass
class Attribution:
    """Bytes per category key, with the evidence (sections, headers, ranges) that make each up."""

    sizes: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[tuple[int, Evidence]]] = field(default_factory=dict)

    def add(self, key: str, size: int, ev: Evidence | None) -> None:
        if size <= 0:
            return
        self.sizes[key] = self.sizes.get(key, 0) + size
        if ev is not None:
            self.evidence.setdefault(key, []).append((size, ev))

    def evidence_for(self, key: str) -> list[Evidence]:
        """The largest contributions first (same-named ones merged), at most MAX_EVIDENCE and a count of the rest."""
        merged: dict[tuple[str, str], list[Any]] = {}
        for size, ev in self.evidence.get(key, []):
            m = merged.setdefault((ev.kind, ev.name), [0, ev.detail, 0])
            m[0] += size
            m[2] += 1
        rows = sorted(merged.items(), key=lambda kv: -kv[1][0])
        out = [Evidence(kind, name, f"{size:,} bytes" + (f"; {detail}" if detail and n == 1 else
                                                         f" in {n} pieces" if n > 1 else ""))
               for (kind, name), (size, detail, n) in rows[:MAX_EVIDENCE]]
        if len(rows) > MAX_EVIDENCE:
            rest = sum(v[0] for _, v in rows[MAX_EVIDENCE:])
            out.append(Evidence("section", f"… {len(rows) - MAX_EVIDENCE} more", f"{rest:,} bytes"))
        return out


class Painter:
    """Regions laid over [0, length), each later ``paint`` winning where it overlaps an earlier one; ``regions()``
    resolves them in one sweep over the sorted boundaries (O(n log n): files may hold tens of thousands of sections).
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self.layers: list[Region] = []

    def paint(self, start: int, end: int, key: str, ev: Evidence | None) -> None:
        start, end = max(0, start), min(self.length, end)
        if end > start:
            self.layers.append(Region(start, end, key, ev))

    def regions(self) -> list[Region]:
        """Non-overlapping regions covering [0, length): the latest painted layer at each byte, GAP where none."""
        points = sorted({0, self.length, *(r.start for r in self.layers), *(r.end for r in self.layers)})
        starts: dict[int, list[int]] = {}
        for i, r in enumerate(self.layers):
            starts.setdefault(r.start, []).append(i)
        active: list[int] = []  # a max-heap of layer indexes (negated): the latest painted wins
        out: list[Region] = []
        for a, b in zip(points, points[1:], strict=False):
            for i in starts.get(a, ()):
                heapq.heappush(active, -i)
            while active and self.layers[-active[0]].end <= a:
                heapq.heappop(active)
            top = self.layers[-active[0]] if active else None
            key, ev = (top.key, top.evidence) if top else (GAP, None)
            if out and out[-1].key == key and out[-1].evidence is ev and out[-1].end == a:
                out[-1].end = b
            else:
                out.append(Region(a, b, key, ev))
        return out


def _hex(n: int) -> str:
    return f"{n:#x}"


def _elf_headers(exe: Executable, p: Painter) -> None:
    assert isinstance(exe, ElfExecutable)
    h = exe.header
    p.paint(0, h.e_ehsize, HEADERS, Evidence("header", "ELF header", "e_ehsize at 0x0"))
    n, size, off = h.e_phnum, h.e_phentsize, h.e_phoff
    if off and n:
        p.paint(off, off + n * size, HEADERS, Evidence("header", "program header table",
                                                       f"e_phoff {_hex(off)}, {n} × {size} bytes"))
    n, size, off = h.e_shnum, h.e_shentsize, h.e_shoff
    if off and n:
        p.paint(off, off + n * size, HEADERS, Evidence("header", "section header table",
                                                       f"e_shoff {_hex(off)}, {n} × {size} bytes"))


def _pe_headers(exe: Executable, p: Painter) -> None:
    from depfree.formats.pe import PeExecutable

    assert isinstance(exe, PeExecutable)
    h = exe.headers
    p.paint(0, h.size_of_headers, HEADERS, Evidence("header", "DOS and PE headers", f"SizeOfHeaders {h.size_of_headers:,}"))
    off, count = h.symbol_table, h.symbol_count
    if off and count and off < exe.length:
        end = off + 18 * count
        raw = exe.read_file(end, 4)
        strsize = int.from_bytes(raw, "little") if len(raw) == 4 else 0
        if end + strsize > exe.length:
            strsize = 0
        p.paint(off, end + strsize, SYMTAB, Evidence("header", "COFF symbol table",
                                                     f"PointerToSymbolTable {_hex(off)}, {count:,} symbols, "
                                                     f"{strsize:,}-byte string table"))
    sec = exe.security_directory
    if sec is not None:  # IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset
        off, size = sec
        p.paint(off, off + size, SIGNATURE, Evidence("header", "IMAGE_DIRECTORY_ENTRY_SECURITY",
                                                     f"certificate table at {_hex(off)}"))


def _macho_headers(exe: Executable, p: Painter) -> None:
    from depfree.formats.macho import MachoExecutable

    assert isinstance(exe, MachoExecutable)
    hsize, cmds = exe.header_size, exe.sizeofcmds
    p.paint(0, hsize + cmds, HEADERS, Evidence("header", "Mach-O header and load commands",
                                               f"{exe.ncmds} commands, sizeofcmds {cmds:,}"))
    if exe.symtab:  # LC_SYMTAB: symoff, nsyms, stroff, strsize; nlist_64 is 16 bytes, nlist 12
        symoff, nsyms, stroff, strsize = exe.symtab
        p.paint(symoff, symoff + nsyms * (16 if exe.bits == 64 else 12), SYMTAB,
                Evidence("load-command", "LC_SYMTAB", f"symoff {_hex(symoff)}, {nsyms:,} symbols"))
        p.paint(stroff, stroff + strsize, SYMTAB, Evidence("load-command", "LC_SYMTAB string table",
                                                           f"stroff {_hex(stroff)}"))
    sig = exe.code_signature
    if sig:  # LC_CODE_SIGNATURE: dataoff, datasize
        p.paint(sig[0], sig[0] + sig[1], SIGNATURE, Evidence("load-command", "LC_CODE_SIGNATURE",
                                                             f"dataoff {_hex(sig[0])}"))


HEADER_PAINTERS = {"elf": _elf_headers, "pe": _pe_headers, "macho": _macho_headers}


def _go_minor(version: str | None) -> int | None:
    if not version or not version.startswith("go1."):
        return None
    digits = ""
    for ch in version[4:]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def go_types_range(exe: Executable, md: ModuleData, tab: Pclntab, go_version: str | None) -> tuple[int, int] | None:
    """``moduledata.types`` … ``etypes`` as virtual addresses (GOROOT src/runtime/symtab.go): after the 32 words
    :mod:`depfree.golang.moduledata` reads come ``end, gcdata, gcbss, types, etypes`` (1.16-1.19), with
    ``covctrs, ecovctrs`` first from 1.20, and ``typedesclen`` between ``types`` and ``etypes`` from 1.27."""
    ptr, order = tab.ptr_size, tab.order
    raw = exe.read_at(md.addr, 40 * ptr)
    if len(raw) < 40 * ptr:
        return None
    w = [int.from_bytes(raw[k : k + ptr], order) for k in range(0, len(raw), ptr)]
    minor = _go_minor(go_version)
    if tab.layout == "1.20":
        types, etypes = w[37], (w[39] if minor is not None and minor >= 27 else w[38])
    elif tab.layout in ("1.16", "1.18"):
        types, etypes = w[35], w[36]
    else:
        return None
    if not types < etypes or etypes - types > exe.length:
        return None
    start, end = exe.vaddr_to_offset(types), exe.vaddr_to_offset(etypes - 1)
    if start is None or end is None or end - start != etypes - 1 - types:
        return None
    return types, etypes


def _go_ranges(exe: Executable, p: Painter, md: ModuleData | None, tab: Pclntab | None, go_version: str | None,
               has_sections: bool) -> None:
    if md is None or tab is None:
        return
    if not has_sections:
        for (lo, hi), key, what in (((md.text, md.etext), TEXT, "text … etext"),
                                    (md.noptrdata, DATA, "noptrdata … enoptrdata"), (md.data, DATA, "data … edata")):
            off = exe.vaddr_to_offset(lo) if hi > lo else None
            if off is not None:
                p.paint(off, off + (hi - lo), key, Evidence("symbol", "runtime.firstmoduledata",
                                                            f"{what} {_hex(lo)}-{_hex(hi)}"))
    if tab.addr and md.pclntab_end > tab.addr and not any(exe.section(n) for n in PCLNTAB_SECTIONS):
        seg = next((g for g in exe.segments() if g.kind == "load" and g.offset <= tab.offset < g.offset + g.filesz),
                   None)
        if seg is not None:
            n = min(md.pclntab_end - tab.addr, seg.offset + seg.filesz - tab.offset)
            p.paint(tab.offset, tab.offset + n, PCLNTAB, Evidence("symbol", "runtime.firstmoduledata",
                                                                  f"pcHeader {_hex(tab.addr)} … end of pclntable "
                                                                  f"{_hex(md.pclntab_end)}"))
    rng = None if any(exe.section(n) for n in GOTYPE_SECTIONS) else go_types_range(exe, md, tab, go_version)
    if rng is not None:  # types inside .rodata (before Go 1.26) or .rdata (PE)
        off = exe.vaddr_to_offset(rng[0])
        assert off is not None
        end = off + rng[1] - rng[0]
        home = next((s for s in exe.sections() if s.file_size and s.offset <= off < s.offset + s.file_size), None)
        if home is not None and off - home.offset <= 64 and abs(home.offset + home.file_size - end) <= 64:
            # before Go 1.26 the linker's types … etypes spans all of .rodata (types, strings and constants
            # together): that proves no split, so the section stays read-only data
            return
        p.paint(off, off + rng[1] - rng[0], GOTYPES, Evidence("symbol", "runtime.firstmoduledata",
                                                              f"types … etypes {_hex(rng[0])}-{_hex(rng[1])}"))


def _gaps(exe: Executable, regions: list[Region], out: Attribution) -> None:
    last_end = max((r.end for r in regions if r.key != GAP), default=0)
    before: Region | None = None
    for r in regions:
        if r.key != GAP:
            before = r
            continue
        zeros = 0
        for pos in range(r.start, r.end, CHUNK):
            zeros += exe.read_file(pos, min(CHUNK, r.end - pos)).count(0)
        where = f"at {_hex(r.start)}" + (f" after {before.evidence.name}" if before and before.evidence else "")
        if r.start >= last_end and exe.format == "pe":
            out.add(OVERLAY, r.end - r.start, Evidence("file", "data after the last section", where))
            continue
        out.add(PADDING, zeros, Evidence("file", "zero bytes between regions", where))
        out.add(OTHER, r.end - r.start - zeros, Evidence("file", "non-zero bytes no section or header covers",
                                                         where))


def attribute(exe: Executable, md: ModuleData | None = None, tab: Pclntab | None = None,
              go_version: str | None = None) -> Attribution:
    """Every byte of ``exe`` once, by category key (see :func:`category_of`), with evidence."""
    p = Painter(exe.length)
    sections = [s for s in exe.sections() if s.file_size > 0 and s.offset < exe.length]
    if not sections:
        for i, seg in enumerate(exe.segments()):
            if seg.kind != "load" or seg.filesz <= 0:
                continue
            perm = ("r" if seg.readable else "-") + ("w" if seg.writable else "-") + ("x" if seg.executable else "-")
            key = TEXT if seg.executable else DATA if seg.writable else RODATA
            p.paint(seg.offset, seg.offset + seg.filesz, key, Evidence("segment", f"segment {i} ({perm})",
                                                                       "outside the ranges moduledata names"))
    painter = HEADER_PAINTERS.get(exe.format)
    if painter is not None:
        painter(exe, p)
    for s in sorted(sections, key=lambda s: s.offset):
        key, how = category_of(s.name), ""
        if key == OTHER and s.alloc:  # a section the table does not name (.PyRuntime, .probes): by its flags
            key = TEXT if s.executable else DATA if s.writable else RODATA
            how = ", by its flags: " + ("executable" if s.executable else "writable" if s.writable else "read-only")
        p.paint(s.offset, s.offset + s.file_size, key, Evidence("section", s.name, f"at {_hex(s.offset)}{how}"))
    _go_ranges(exe, p, md, tab, go_version, bool(sections))
    out = Attribution()
    regions = p.regions()
    for r in regions:
        if r.key != GAP:
            out.add(r.key, r.end - r.start, r.evidence)
    _gaps(exe, regions, out)
    return out
