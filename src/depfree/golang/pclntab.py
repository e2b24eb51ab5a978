"""The Go pclntab ("program counter line table"): the runtime's own table of every function, which the linker writes
into every gc-compiled Go binary and which survives stripping (``-ldflags=-s -w``) because the runtime needs it for
stack traces and garbage collection.

Layouts (GOROOT ``src/debug/gosym/pclntab.go`` parsePclnTab, ``src/runtime/symtab.go`` pcHeader,
``src/cmd/link/internal/ld/pcln.go``), all starting with an 8-byte header: 4-byte magic, two zero bytes, the pc
quantum (1, 2 or 4) and the pointer size (4 or 8):

- Go 1.2-1.15, magic 0xfffffffb: ``nfunc`` (uintptr), then ``nfunc`` pairs (entry pc, funcoff) of uintptrs, the end
  pc, a uint32 offset of the file table. ``_func`` starts with an entry uintptr, then ``nameoff`` (int32); both
  ``funcoff`` and ``nameoff`` are relative to the table's start.
- Go 1.16-1.17, magic 0xfffffffa: header words ``nfunc, nfiles, funcnameOffset, cuOffset, filetabOffset,
  pctabOffset, pclnOffset``; the function table (uintptr pairs) is at ``pclnOffset``; ``funcoff`` is relative to
  it, ``nameoff`` to ``funcnametab``.
- Go 1.18-1.19 (0xfffffff0) and 1.20+ (0xfffffff1): a ``textStart`` word after ``nfiles`` (unused, zero, since Go
  1.26), and the function table holds uint32 pairs (entry offset from the start of text, funcoff).

Everything is read in place from the mapped file with ``struct.unpack_from``; only the function table and the name
table are copied (both are a small fraction of the file).
"""

from __future__ import annotations

import operator
import struct
import sys
from array import array
from typing import NamedTuple

from depfree.dataclass import dataclass, field
from depfree.errors import FormatError
from depfree.formats.base import ByteOrder, Executable
from depfree.formats.strings import cstring_at, nonempty_list, nonempty_names

MAGICS = {0xFFFFFFFB: "1.2", 0xFFFFFFFA: "1.16", 0xFFFFFFF0: "1.18", 0xFFFFFFF1: "1.20"}
LAYOUT_RANGE = {"1.2": "Go 1.2-1.15", "1.16": "Go 1.16-1.17", "1.18": "Go 1.18-1.19", "1.20": "Go 1.20+"}
MAX_FUNCS = 5_000_000
MAX_FILES = 5_000_000
SECTION_NAMES = (".gopclntab", "__gopclntab")
SYMBOL_NAMES = ("runtime.pclntab", "runtime.pcheader", "pclntab")


class PclntabError(FormatError):
    """A pclntab header was found but its tables do not hold together (the message says which part)."""


@dataclass
class Pclntab:
    """A parsed pclntab header plus where its tables lie, as file offsets relative to the executable image."""

    exe: Executable
    offset: int  # file offset of the header
    layout: str  # "1.2" | "1.16" | "1.18" | "1.20"
    order: ByteOrder
    ptr_size: int
    quantum: int
    nfunc: int
    nfiles: int
    text_start: int  # the header's textStart word (0 when unset or before Go 1.18)
    funcnametab: int  # file offsets of the sub-tables
    cutab: int
    filetab: int
    pctab: int
    functab: int  # start of the (entry, funcoff) pairs
    funcdata: int  # what funcoff is relative to
    end: int  # file offset bounding the table (section end, or end of the image)
    found_by: str = ""  # "section .gopclntab", "symbol runtime.pclntab", "search"
    addr: int | None = None  # virtual address of the header, when mapped
    _names: dict[int, str] | None = field(default=None, repr=False)

    # --- low-level access ------------------------------------------------------------------------------------
    @property
    def _fmt(self) -> str:
        return "<" if self.order == "little" else ">"

    @property
    def field_size(self) -> int:
        """Size of one function-table field: uint32 from Go 1.18, a uintptr before."""
        return 4 if self.layout in ("1.18", "1.20") else self.ptr_size

    @property
    def functab_size(self) -> int:
        return (2 * self.nfunc + 1) * self.field_size

    def _view(self) -> memoryview:
        return memoryview(self.exe.source.view())

    def functab_raw(self) -> bytes:
        return self.exe.read_file(self.functab, self.functab_size)

    def entries(self) -> list[tuple[int, int]]:
        """(entry, funcoff) for each function plus (end, 0) at the end; entries are offsets from text from Go 1.18,
        absolute pcs before."""
        flat = self.entry_words()
        pairs = list(zip(flat[0:-1:2], flat[1::2], strict=True))
        pairs.append((flat[-1], 0))
        return pairs

    def entry_words(self, raw: bytes | None = None) -> tuple[int, ...]:
        """The function table as its words: entry, funcoff, entry, funcoff, …, end (what :meth:`entries` pairs)."""
        raw = self.functab_raw() if raw is None else raw
        if len(raw) < self.functab_size:
            raise PclntabError(f"function table at offset {self.functab:#x} is cut off "
                               f"({len(raw)} of {self.functab_size} bytes)")
        code = "I" if self.field_size == 4 else "Q"
        return struct.unpack(f"{self._fmt}{2 * self.nfunc + 1}{code}", raw)

    def entry_array(self) -> array[int]:
        """The words of :meth:`entry_words` as an array (one copy in C, no tuple of Python integers): what
        :func:`validate` reads in slices."""
        raw = self.functab_raw()
        if len(raw) < self.functab_size:
            self.entry_words(raw)  # (raises: the table is cut off)
        words = array("I" if self.field_size == 4 else "Q")
        if words.itemsize != self.field_size:  # (a platform whose C int is not 32 bits)
            words.fromlist(list(self.entry_words(raw)))
            return words
        words.frombytes(raw[: self.functab_size])
        if self.order != sys.byteorder:
            words.byteswap()
        return words

    def name_offsets(self, entries: list[tuple[int, int]] | None = None) -> list[int]:
        """``nameoff`` of each function's ``_func``, relative to the name table."""
        base = self.exe.base + self.funcdata
        limit = self.exe.base + self.end
        skip = 4 if self.layout in ("1.18", "1.20") else self.ptr_size
        if entries is None:
            fast = self._name_offsets_fast(base, limit, skip)
            if fast is not None:
                return fast
            entries = self.entries()
        view = self._view()
        unpack = struct.Struct(self._fmt + "i").unpack_from
        starts = [base + funcoff + skip for _entry, funcoff in entries[:-1]]
        if starts and max(starts) + 4 > limit:  # checked once, then read without a test per function
            funcoff = next(f for _e, f in entries[:-1] if base + f + skip + 4 > limit)
            raise PclntabError(f"_func at offset {funcoff:#x} lies past the end of the table")
        return [unpack(view, pos)[0] for pos in starts]

    def _name_offsets_fast(self, base: int, limit: int, skip: int) -> list[int] | None:
        """:meth:`name_offsets` of the whole table without a Python loop, where the layout allows it (Go 1.18+,
        little-endian, every ``_func`` 4-byte aligned, as the linker writes them): the function table and the
        function data read as arrays of 32-bit words, the name offsets picked out with one ``itemgetter``. The word
        indexes (``funcoff // 4``) come from one shift of the ``funcoff`` column read as a single integer: with the
        low two bits of every word zero, shifting the whole by two shifts each word by two. None when it does not
        apply, or when a ``_func`` lies past the end (the caller's loop then says which)."""
        if self.field_size != 4 or self.order != "little" or sys.byteorder != "little" or self.nfunc < 2:
            return None
        raw = self.functab_raw()
        if len(raw) < self.functab_size:
            return None  # cut off: entries() says so
        column = raw[4 : 8 * self.nfunc : 8]  # the low byte of every funcoff
        if column.translate(None, _ALIGNED):
            return None  # a funcoff not a multiple of 4
        words = array("I")
        words.frombytes(raw)
        funcoffs = words[1 : 2 * self.nfunc : 2].tobytes()
        indexes = array("I")
        indexes.frombytes((int.from_bytes(funcoffs, "little") >> 2).to_bytes(len(funcoffs), "little"))
        start = base + skip
        view = self._view()
        with view[start : start + (limit - start) // 4 * 4] as region, region.cast("i") as data:
            try:
                return list(operator.itemgetter(*indexes)(data))
            except IndexError:  # a _func past the end
                return None

    @property
    def names_region(self) -> tuple[int, int]:
        """(file offset, length) of the function name table (the whole pclntab for the 1.2 layout)."""
        if self.layout == "1.2":
            return self.offset, self.end - self.offset
        return self.funcnametab, max(0, self.cutab - self.funcnametab)

    def name_table(self) -> dict[int, str]:
        """Every NUL-terminated name in the name table, by offset (Go 1.16+: the names of all functions, including
        the inlined ones the inline trees refer to)."""
        if self._names is None:
            off, n = self.names_region
            raw = self.exe.read_file(off, n) if self.layout != "1.2" else b""
            self._names = nonempty_names(raw)
        return self._names

    def name_at(self, nameoff: int) -> str:
        """The name at ``nameoff``: from the name table when it was read already, else read where it starts (so
        that :func:`validate`'s sample of names does not split the whole table)."""
        if self._names is not None:
            hit = self._names.get(nameoff)
            if hit is not None:
                return hit
        off, n = self.names_region
        if not 0 <= nameoff < n:
            raise PclntabError(f"function name offset {nameoff:#x} is outside the name table ({n} bytes)")
        return cstring_at(self.exe.read_file(off + nameoff, min(1024, n - nameoff)))

    def functions(self) -> list[Function]:
        """Every function in the table with its name, entry and size (next entry minus this one)."""
        entries = self.entries()
        offs = self.name_offsets(entries)
        base = self.text_base()
        rel = self.layout in ("1.18", "1.20")
        if not rel:
            base = 0
        table = self.name_table()
        out = []
        for i, nameoff in enumerate(offs):
            entry, nxt = entries[i][0], entries[i + 1][0]
            name = table.get(nameoff)
            if name is None:
                name = self.name_at(nameoff)
            out.append(Function(name, entry + base, nxt - entry if nxt > entry else 0))
        return out

    def file_names(self) -> list[str]:
        """Source file paths of the file table (every file a compiled or inlined function comes from)."""
        if self.layout == "1.2":
            raw = self.exe.read_file(self.filetab + 4, 4 * max(0, min(self.nfiles, MAX_FILES) - 1))
            offs = struct.unpack(f"{self._fmt}{len(raw) // 4}I", raw[: len(raw) // 4 * 4])
            out = []
            for off in offs:
                if 0 < off < self.end - self.offset:
                    out.append(cstring_at(self.exe.read_file(self.offset + off, 1024)))
            return out
        raw = self.exe.read_file(self.filetab, max(0, self.pctab - self.filetab))
        return nonempty_list(raw)

    def text_base(self) -> int:
        """Where Go 1.18+ entry offsets count from: the header's textStart, else the text section."""
        if self.layout not in ("1.18", "1.20"):
            return 0
        if self.text_start:
            return self.text_start
        for name in (".text", "__text"):
            s = self.exe.section(name)
            if s is not None:
                return s.addr
        for seg in self.exe.segments():
            if seg.kind == "load" and seg.executable:
                return seg.vaddr
        return 0

    @property
    def layout_name(self) -> str:
        return LAYOUT_RANGE[self.layout]


_ALIGNED = bytes(range(0, 256, 4))  # the byte values with the low two bits clear


class Function(NamedTuple):
    name: str
    entry: int
    size: int


def header_at(exe: Executable, offset: int, end: int | None = None) -> Pclntab:
    """Parse and check the header at a file offset; raises PclntabError when it is not a usable pclntab."""
    end = exe.length if end is None else min(end, exe.length)
    head = exe.read_file(offset, 8)
    if len(head) < 8:
        raise PclntabError(f"header at offset {offset:#x} is cut off")
    le, be = int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")
    order: ByteOrder
    if le in MAGICS:
        layout, order = MAGICS[le], "little"
    elif be in MAGICS:
        layout, order = MAGICS[be], "big"
    else:
        raise PclntabError(f"no pclntab magic at offset {offset:#x} (found {head[:4].hex()})")
    if head[4] or head[5] or head[6] not in (1, 2, 4) or head[7] not in (4, 8):
        raise PclntabError(f"pclntab header at offset {offset:#x} has pad {head[4]},{head[5]}, quantum {head[6]}, "
                           f"pointer size {head[7]}; expected 0,0, 1/2/4, 4/8")
    ptr, quantum = head[7], head[6]
    nwords = {"1.2": 1, "1.16": 7, "1.18": 8, "1.20": 8}[layout]
    raw = exe.read_file(offset + 8, nwords * ptr)
    if len(raw) < nwords * ptr:
        raise PclntabError(f"pclntab header at offset {offset:#x} is cut off")
    words = struct.unpack(("<" if order == "little" else ">") + ("Q" if ptr == 8 else "I") * nwords, raw)
    size = end - offset
    nfunc = words[0]
    if not 0 < nfunc <= MAX_FUNCS:
        raise PclntabError(f"pclntab at offset {offset:#x} claims {nfunc} functions")
    if layout == "1.2":
        functab = offset + 8 + ptr
        fsize = (2 * nfunc + 1) * ptr
        tail = exe.read_file(functab + fsize, 4)
        if functab + fsize + 4 > end or len(tail) < 4:
            raise PclntabError(f"pclntab at offset {offset:#x}: function table runs past the end")
        fileoff = int.from_bytes(tail, order)
        if fileoff >= size:
            raise PclntabError(f"pclntab at offset {offset:#x}: file table offset {fileoff:#x} is outside it")
        nfiles = int.from_bytes(exe.read_file(offset + fileoff, 4), order)
        tab = Pclntab(exe, offset, layout, order, ptr, quantum, nfunc, nfiles, 0, offset, offset, offset + fileoff,
                      offset, functab, offset, end)
    else:
        nfiles = words[1]
        text_start = words[2] if layout in ("1.18", "1.20") else 0
        offs = words[3:] if layout in ("1.18", "1.20") else words[2:]
        if nfiles > MAX_FILES or any(not 0 < o < size for o in offs) or list(offs) != sorted(offs):
            raise PclntabError(f"pclntab at offset {offset:#x}: sub-table offsets {[hex(o) for o in offs]} are not "
                               f"increasing within its {size} bytes")
        fnames, cu, files, pc, pcln = (offset + o for o in offs)
        tab = Pclntab(exe, offset, layout, order, ptr, quantum, nfunc, nfiles, text_start, fnames, cu, files, pc,
                      pcln, pcln, end)
        if pcln + tab.functab_size > end:
            raise PclntabError(f"pclntab at offset {offset:#x}: function table runs past the end")
    return tab


def validate(tab: Pclntab) -> None:
    """Check that the function table is sane: every entry increases and points inside the table (one pass over the
    table), and a sample of names is printable text."""
    # The words in an array, sliced in C; a list is in order exactly when sorting leaves it as it is, and the
    # sorted copy's ends are its minimum and maximum (sorting a sorted list is one pass of fast comparisons, ~5
    # times cheaper than min() and max(); ~3 ms of validate on a 40 MB binary's 35k functions became ~1 ms).
    flat = tab.entry_array()
    pcs = flat[0::2].tolist()
    if pcs != sorted(pcs):
        raise PclntabError(f"pclntab at offset {tab.offset:#x}: function entries are not in increasing order")
    span = tab.end - tab.funcdata
    offs = flat[1::2].tolist()
    ordered = sorted(offs)
    if offs and not (0 < ordered[0] and ordered[-1] < span):
        off = next(off for off in offs if not 0 < off < span)
        raise PclntabError(f"pclntab at offset {tab.offset:#x}: function data offset {off:#x} is outside it")
    n = len(offs)
    sample = [(flat[2 * i], flat[2 * i + 1]) for i in [*range(min(n, 16)), n - 1]]
    nameoffs = tab.name_offsets([*sample, (flat[-1], 0)])
    for nameoff in nameoffs:
        name = tab.name_at(nameoff)
        if not name or not name.isprintable():
            raise PclntabError(f"pclntab at offset {tab.offset:#x}: function name at {nameoff:#x} is not text")


def from_section(exe: Executable) -> Pclntab | None:
    for name in SECTION_NAMES:
        s = exe.section(name)
        if s is not None and s.file_size:
            tab = header_at(exe, s.offset, s.offset + s.file_size)
            tab.found_by, tab.addr = f"section {name}", s.addr or None
            return tab
    return None


def from_symbol(exe: Executable) -> Pclntab | None:
    """The table a symbol marks: PE binaries have no pclntab section, the COFF symbol ``runtime.pclntab`` (or
    ``runtime.pcheader``) marks it; an externally linked ELF keeps the table inside ``.data.rel.ro`` with
    ``runtime.pclntab`` in ``.symtab`` (cmd/link/internal/ld/symtab.go defines it for every format), which is one
    string-table search instead of a search of the whole file. Mach-O has the section (or nothing left to name
    it), and an ELF without ``.symtab`` has no symbol to look up."""
    if exe.format == "macho" or (exe.format == "elf" and not exe.has_symbol_table):
        return None
    for name in SYMBOL_NAMES:
        sym = exe.symbol(name)
        if sym is None or not sym.value:
            continue
        off = exe.vaddr_to_offset(sym.value)
        if off is None:
            continue
        try:
            tab = header_at(exe, off)
        except PclntabError:
            continue
        tab.found_by, tab.addr = f"symbol {name}", sym.value
        return tab
    return None
