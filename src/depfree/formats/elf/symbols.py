"""ELF symbol tables: .dynsym (located through the section or, without section headers, DT_SYMTAB sized by DT_HASH /
DT_GNU_HASH) with the version index of each symbol, and .symtab. One decoder for an Elf32_Sym / Elf64_Sym entry;
columns read with array() where a Python loop per symbol would cost (~300k dynamic symbols in a /usr/bin scan, 100k+
static symbols in a Go binary)."""

from __future__ import annotations

import operator
import re
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property, lru_cache
from itertools import compress
from typing import cast

from depfree.formats.base import DynamicSymbolEntry, Symbol, max_symbols
from depfree.formats.elf.dynamic import ElfDynamic
from depfree.formats.strings import Window, cstring_at, names_by_offset

MAX_SYMBOLS = max_symbols(5_000_000)
_NO_TABLE = Window(b"", 0, 0)
_STT_KINDS = {1: "object", 2: "func", 6: "tls"}  # STT_OBJECT, STT_FUNC, STT_TLS
_NO_HIDDEN_BIT = bytes(b & 0x7F for b in range(256))  # a versym's high byte without VERSYM_HIDDEN


@lru_cache(maxsize=16)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[bytes]:
    """Any of ``names``, then a NUL."""
    return re.compile(b"(" + b"|".join(re.escape(n.encode()) for n in names) + b")\0")


class ElfSymbols(ElfDynamic):
    @property
    def _sym_size(self) -> int:
        return 24 if self.bits == 64 else 16

    def _decode_symbol(self, raw: bytes, at: int, strtab: Window, secnames: list[str]) -> tuple[int, Symbol]:
        """(st_name, the symbol) of the Elf32_Sym / Elf64_Sym entry at ``at`` of ``raw``."""
        if self.bits == 64:
            name_off, info, _other, shndx, value, size = struct.unpack_from(self._fmt + "IBBHQQ", raw, at)
        else:
            name_off, value, size, info, _other, shndx = struct.unpack_from(self._fmt + "IIIBBH", raw, at)
        return name_off, Symbol(name=cstring_at(strtab, name_off), value=value, size=size,
                                section=secnames[shndx] if 0 < shndx < len(secnames) else None,
                                kind=_STT_KINDS.get(info & 0xF, ""))

    # --- .dynsym ---------------------------------------------------------------------------------------------
    @cached_property
    def _dynsym_table(self) -> tuple[int, int] | None:
        """(file offset, count) of the dynamic symbol table."""
        sec = None
        if self._sections_ok:
            for s in self.sections():
                if s.name == ".dynsym" and s.file_size:
                    sec = s
        if sec is not None:
            return sec.offset, sec.file_size // self._sym_size
        symtab = self._dyn_values("DT_SYMTAB")
        off = self.vaddr_to_offset(symtab[0]) if symtab else None
        if off is None:
            return None
        count = self._count_from_hash()
        return None if count is None else (off, count)

    def _count_from_hash(self) -> int | None:
        h = self._dyn_values("DT_HASH")
        if h:
            o = self.vaddr_to_offset(h[0])
            raw = self.read_file(o, 8) if o is not None else b""
            if len(raw) == 8:
                return min(int(struct.unpack(self._fmt + "II", raw)[1]), MAX_SYMBOLS)
        g = self._dyn_values("DT_GNU_HASH")
        o = self.vaddr_to_offset(g[0]) if g else None
        return self._count_from_gnu_hash(o) if o is not None else None

    def _count_from_gnu_hash(self, o: int) -> int | None:
        """The symbol count of a DT_GNU_HASH table: one past the last symbol of the highest bucket's chain."""
        raw = self.read_file(o, 16)
        if len(raw) < 16:
            return None
        nbuckets: int
        symoffset: int
        nbuckets, symoffset, bloom_size, _shift = struct.unpack(self._fmt + "IIII", raw)
        boff = o + 16 + bloom_size * (8 if self.bits == 64 else 4)
        buckets = self.read_file(boff, nbuckets * 4)
        if len(buckets) < nbuckets * 4:
            return None
        last: int = max(struct.unpack(self._fmt + f"{nbuckets}I", buckets), default=0)
        if last < symoffset:
            return int(symoffset)
        coff = boff + nbuckets * 4 + (last - symoffset) * 4
        for _ in range(MAX_SYMBOLS):
            c = self.read_file(coff, 4)
            if len(c) < 4:
                return None
            last += 1
            if struct.unpack(self._fmt + "I", c)[0] & 1:
                return int(last)
            coff += 4
        return None

    @cached_property
    def _dynsym_columns(self) -> tuple[array[int], array[int], array[int]]:
        """(st_name, st_shndx, version index) of every dynamic symbol after the null one, as columns read without a
        Python loop: st_name is the first word of both Elf32_Sym and Elf64_Sym; st_shndx is half-word 3 of 12
        (Elf64: name, info, other, shndx, value, size) or 7 of 8 (Elf32: name, value, size, info, other, shndx);
        the version index is DT_VERSYM's half-word without the hidden bit (0 without a version table)."""
        empty: tuple[array[int], array[int], array[int]] = (array("I"), array("H"), array("H"))
        table = self._dynsym_table
        if table is None:
            return empty
        off, count = table
        ent = self._sym_size
        raw = self.read_file(off, min(count, MAX_SYMBOLS) * ent)
        count = len(raw) // ent
        if count < 2:
            return empty
        raw = raw[: count * ent]
        name_offs = self._words("I", raw)[0 :: ent // 4]
        shndx = self._words("H", raw)[3::12] if self.bits == 64 else self._words("H", raw)[7::8]
        vers = array("H", bytes(2 * count))
        versym = self._dyn_values("DT_VERSYM")
        voff = self.vaddr_to_offset(versym[0]) if versym else None
        if voff is not None:
            raw_vers = bytearray(self.read_file(voff, count * 2))
            top = 1 if self._fmt == "<" else 0  # the byte of each half-word that holds VERSYM_HIDDEN (0x8000)
            raw_vers[top::2] = raw_vers[top::2].translate(_NO_HIDDEN_BIT)  # (in C: a map over 300k symbols cost)
            got = self._words("H", raw_vers)
            vers[: len(got)] = got
        return name_offs[1:], shndx[1:], vers[1:]

    def _dynsym_names_at(self, offsets: Sequence[int]) -> list[str]:
        """The names at these .dynstr offsets: looked up in the split table (ld merges a name into the tail of a
        longer one, and those few are read one by one)."""
        names = list(map(self._dynstr_names.get, offsets))
        i = 0
        while True:  # a suffix of another name, or out of range: the few gaps found in C, filled one by one
            try:
                i = names.index(None, i)
            except ValueError:
                break
            names[i] = self._dynstr(offsets[i])
        return cast(list[str], names)  # every None was replaced

    @cached_property
    def dynamic_symbol_entries(self) -> list[DynamicSymbolEntry]:
        name_offs, shndx, vers = self._dynsym_columns
        return list(zip(self._dynsym_names_at(name_offs), map(bool, shndx), vers, strict=True))

    def undefined_bound_to(self, indexes: set[int]) -> list[tuple[str, int]]:
        """(name, version index) of the undefined dynamic symbols whose version index is one of ``indexes``, in
        table order: the column searched in C, only the hits looked at and named."""
        name_offs, shndx, vers = self._dynsym_columns
        hits = [i for i in compress(range(len(vers)), map(indexes.__contains__, vers)) if not shndx[i]]
        offs = [name_offs[i] for i in hits]
        # a handful: each read where it starts, unless the whole .dynstr was split already
        names = self._dynsym_names_at(offs) if "_dynstr_names" in self.__dict__ else list(map(self._dynstr, offs))
        return list(zip(names, [vers[i] for i in hits], strict=True))

    @cached_property
    def _dynstr_names(self) -> dict[int, str]:
        table = self._dynsym_table
        count = table[1] if table else 0
        return names_by_offset(self._dynstr_table, count)

    def dynamic_symbols(self) -> list[str]:
        return self._undefined_dynamic

    @cached_property
    def _undefined_dynamic(self) -> list[str]:
        """The names of the undefined dynamic symbols. A library exporting thousands of symbols imports a few
        hundred: when they are fewer than half the symbols, each is read where it starts instead of splitting the
        whole .dynstr (~0.64 µs a name read alone, ~0.37 µs a name of the table split: 1,151 ELF files of /usr/bin
        and /usr/lib/x86_64-linux-gnu take 82 ms this way, 91 ms with the split from an eighth on)."""
        name_offs, shndx, _vers = self._dynsym_columns
        wanted = list(compress(name_offs, map(operator.not_, shndx)))
        if "_dynstr_names" not in self.__dict__ and len(wanted) * 2 < len(name_offs):
            return list(map(self._dynstr, wanted))
        return self._dynsym_names_at(wanted)

    # --- .symtab ---------------------------------------------------------------------------------------------
    @property
    def has_symbol_table(self) -> bool:
        return self.section(".symtab") is not None

    # A string table at least this large is read where the file is mapped (a Go binary's is megabytes); a smaller
    # one is read (most files of a scan are never mapped).
    IN_PLACE = 1 << 20

    def _symtab_strtab(self) -> Window | None:
        """The string table linked from .symtab (sh_link), or None when it is missing or out of range."""
        heads = self._section_headers
        for h in heads:
            if h.name == ".symtab":
                if not 0 < h.link < len(heads):
                    return None
                off, size = heads[h.link].offset, min(heads[h.link].size, 256 * 1024 * 1024)
                if size >= self.IN_PLACE:
                    return self.window(off, size)
                raw = self.read_file(off, size)
                return Window(raw, 0, len(raw))
        return None

    @cached_property
    def _symtab_raw(self) -> tuple[bytes, Window, list[str]]:
        """(symbol table bytes, string table, section names); empty when there is no .symtab."""
        symtab = self.section(".symtab")
        if symtab is None or not symtab.file_size:
            return b"", _NO_TABLE, []
        strtab = self._symtab_strtab()
        if strtab is None:
            return b"", _NO_TABLE, []
        ent = self._sym_size
        raw = self.read_file(symtab.offset, min(symtab.file_size, MAX_SYMBOLS * ent))
        return raw[: len(raw) // ent * ent], strtab, [s.name for s in self.sections()]

    # The first string-table hits are looked up by a search of the st_name column in C; after SCAN_LOOKUPS of them
    # the whole column is indexed. A search costs about 1/40 of the index (node's 230k symbols: ~16 ms to index); an
    # inspect of the docker CLI makes ~27 (hardening's "main" alone has 19 hits of "main\0" in the string table).
    SCAN_LOOKUPS = 40
    _lookups = 0

    @cached_property
    def _name_column(self) -> bytes:
        """The st_name column of .symtab, as native 32-bit words (a strided view of the table when no byte swap
        is needed: one copy of the column, not of the table)."""
        raw, _, _ = self._symtab_raw
        if self._swap or len(raw) % 4:
            return self._words("I", raw)[0 :: self._sym_size // 4].tobytes()
        with memoryview(raw) as whole, whole.cast("I") as words, words[0 :: self._sym_size // 4] as column:
            return column.tobytes()

    @cached_property
    def _name_offsets(self) -> dict[int, int]:
        """st_name -> the first symbol index with it, so a lookup by name is a string-table search plus a dict hit.
        Built from the st_name column in C (reversed, so the first index wins): ~4 ms for a Go binary's 50k
        symbols, where a Python loop took ~13."""
        column = array("I")
        column.frombytes(self._name_column)
        return dict(zip(reversed(column), range(len(column) - 1, -1, -1), strict=True))

    def _symbol_at_name(self, name_off: int) -> int | None:
        """The first symbol whose st_name is ``name_off``."""
        if self._lookups >= self.SCAN_LOOKUPS or "_name_offsets" in self.__dict__:
            return self._name_offsets.get(name_off)
        self._lookups += 1
        column = self._name_column
        needle = struct.pack("=I", name_off)
        pos = column.find(needle)
        while pos > 0 and pos & 3:  # (a match across two words)
            pos = column.find(needle, pos + 1)
        return pos >> 2 if pos >= 0 else None

    # After this many string-table hits of one name without a symbol, the rest are looked up together.
    SINGLE_HITS = 3
    # The names expect_symbols() announced, looked up together on a string table of at least this size (a Go
    # binary's .strtab is megabytes: ~1 ms a search, and an inspect of the docker CLI asks 14 names). More
    # occurrences of them than TOGETHER_HITS: each looked up alone (a hostile table of "main\0main\0…").
    TOGETHER_MIN = 512 * 1024
    TOGETHER_HITS = 512
    _expected: tuple[str, ...] = ()
    _asked_alone = False

    def _ask_together(self) -> bool:
        """Whether an announced name is looked up with the others: from the second one asked (the pass costs a few
        searches: node's .strtab of 7.5 MB, asked only for __stack_chk_fail, is searched once, as before)."""
        if self._asked_alone or "_expected_found" in self.__dict__:
            return True
        self._asked_alone = True
        return False

    def expect_symbols(self, names: Iterable[str]) -> None:
        names = tuple(names)  # (called for every file of a scan: kept cheap, the names checked when used)
        self._expected = names if not self._expected else tuple(dict.fromkeys((*self._expected, *names)))

    @cached_property
    def _expected_found(self) -> dict[str, int | None]:
        """:meth:`symbol`'s answer (a symbol index, or None) for every name of :meth:`expect_symbols`, from one pass
        over a reversed copy of the string table and one over the st_name column for all of them, where asking
        each walks the table (~1 ms each on the docker CLI's 3.4 MB) and searches the column once per occurrence.

        Reversed, every occurrence of ``name\\0`` is a NUL and the reversed name, so the pattern's NUL start lets
        the engine jump from string end to string end, and tails count as in :meth:`symbol` (ld merges "main"
        into the end of "__libc_start_main"): at one NUL the longest name is matched, and the names it ends with
        are occurrences there too. Empty when the names occur too often (each is then asked alone)."""
        _, strtab, _ = self._symtab_raw
        ordered = sorted(dict.fromkeys(n for n in self._expected if n and "\0" not in n), key=len, reverse=True)
        suffixes = {n: [n, *(m for m in ordered if m != n and n.endswith(m))] for n in ordered}
        pattern = re.compile(b"\0(" + b"|".join(re.escape(n.encode()[::-1]) for n in ordered) + b")")
        hits: dict[str, list[int]] = {n: [] for n in ordered}
        last, count = len(strtab) - 1, 0
        for m in pattern.finditer(strtab.reversed()):
            nul = last - m.start()  # the NUL's offset in the table
            for name in suffixes[m.group(1)[::-1].decode()]:
                hits[name].append(nul - len(name.encode()))
                count += 1
            if count > self.TOGETHER_HITS:
                return {}
        first = self._first_at_all({h for offs in hits.values() for h in offs})
        # (found from the end: each name's occurrences in descending order)
        return {n: next((first[h] for h in reversed(offs) if h in first), None) for n, offs in hits.items()}

    def _first_at_all(self, offsets: Iterable[int]) -> dict[int, int]:
        """The first symbol index of each of ``offsets`` that is a symbol's st_name (:meth:`_symbol_at_name` of
        each), from one pass over the st_name column. A match not on a word boundary is skipped by one byte, so
        that it hides no aligned match it overlaps."""
        words = {struct.pack("=I", h): h for h in offsets if 0 <= h < 1 << 32}
        if not words:
            return {}
        if self._lookups >= self.SCAN_LOOKUPS or "_name_offsets" in self.__dict__:
            index = self._name_offsets
            return {h: index[h] for h in words.values() if h in index}
        if len(words) <= self.SINGLE_HITS:  # a search each is cheaper than the pattern's pass (~0.1 ms and ~1)
            return {h: i for h in words.values() if (i := self._symbol_at_name(h)) is not None}
        self._lookups += 1
        column = self._name_column
        pattern = re.compile(b"|".join(map(re.escape, words)))
        first: dict[int, int] = {}  # st_name -> the first index with it
        m = pattern.search(column)
        while m is not None:
            at = m.start()
            if at & 3:
                m = pattern.search(column, at + 1)
                continue
            first.setdefault(words[m.group()], at >> 2)
            m = pattern.search(column, at + 4)
        return first

    def _first_at_names(self, hits: list[int]) -> int | None:
        """:meth:`_symbol_at_name` of the first of ``hits`` (ascending offsets) that has a symbol, from one pass
        over the st_name column for all of them (hardening's "main" has 19 hits in a Go binary's .strtab, each
        a search of the whole column: ~2.3 ms, where one pass is ~0.9)."""
        first = self._first_at_all(hits)
        return next((first[h] for h in hits if h in first), None)

    def symbol(self, name: str) -> Symbol | None:
        """One symbol by name, without building a full index (Go binaries carry 100k+ symbols)."""
        raw, strtab, secnames = self._symtab_raw
        if not strtab:
            return None
        if name in self._expected and len(strtab) >= self.TOGETHER_MIN and self._ask_together():
            found = self._expected_found
            if name in found:
                i = found[name]
                return None if i is None else self._decode_symbol(raw, i * self._sym_size, strtab, secnames)[1]
        needle = name.encode() + b"\0"
        pos = 0
        # Every occurrence counts: ld merges a name into the tail of a longer one ("main" is the end of
        # "__libc_start_main"), and a symbol whose st_name points there is named exactly ``name``.
        for n in range(1 << 16):
            hit = strtab.find(needle, pos)
            if hit < 0:
                return None
            if n == self.SINGLE_HITS:  # many hits: the rest (as many as this loop would look at) in one pass
                rest = [hit]
                while len(rest) < (1 << 16) - n and (hit := strtab.find(needle, hit + 1)) >= 0:
                    rest.append(hit)
                i = self._first_at_names(rest)
            else:
                i = self._symbol_at_name(hit)
            if i is not None:
                return self._decode_symbol(raw, i * self._sym_size, strtab, secnames)[1]
            if n == self.SINGLE_HITS:
                return None
            pos = hit + 1
        return None

    def symbols_named(self, names: Sequence[str]) -> dict[str, Symbol]:
        """The symbols of ``names`` that .symtab holds, each the one :meth:`symbol` gives. Names that all start with
        ``_`` (a C library's own, reserved to the implementation) are found in one pass over the string table (a
        Go binary's is megabytes, ~1 ms a pass, and few of its names start so) instead of one pass each."""
        if len(names) < 2 or not all(n.startswith("_") for n in names):
            found = {n: self.symbol(n) for n in names}
            return {n: s for n, s in found.items() if s is not None}
        raw, strtab, secnames = self._symtab_raw
        if not strtab:
            return {}
        if len(strtab) >= self.TOGETHER_MIN and all(n in self._expected for n in names):
            together = self._expected_found  # (announced: found with the others)
            if all(n in together for n in names):
                return {n: self._decode_symbol(raw, i * self._sym_size, strtab, secnames)[1]
                        for n in names if (i := together[n]) is not None}
        ordered = tuple(sorted(set(names), key=len, reverse=True))
        out: dict[str, Symbol] = {}
        seen = dict.fromkeys(ordered, 0)
        for m in strtab.finditer(_names_pattern(ordered)):
            hit, end = m.group(1).decode(), m.end(1) - strtab.start
            # this name, then those ld merged into its tail ("main" is the end of "__libc_start_main"), in order
            for name in (n for n in ordered if hit.endswith(n) and n not in out):
                seen[name] += 1
                i = self._symbol_at_name(end - len(name)) if seen[name] <= 1 << 16 else None  # as symbol() looks
                if i is not None:
                    out[name] = self._decode_symbol(raw, i * self._sym_size, strtab, secnames)[1]
            if len(out) == len(ordered):
                break
        return {n: out[n] for n in names if n in out}

    def symbol_names(self) -> list[str]:
        """The names in .symtab, without building a Symbol for each (libgo has 190,000)."""
        raw, strtab, _ = self._symtab_raw
        if not raw:
            return []
        offs = self._words("I", raw)[0 :: self._sym_size // 4]
        names = list(map(names_by_offset(strtab.tobytes(), len(offs)).get, offs))
        size = len(strtab)
        for i in [i for i, n in enumerate(names) if n is None and 0 < offs[i] < size]:  # ld's tail-merged names
            names[i] = cstring_at(strtab, offs[i])
        return [n for n in names if n]

    def iter_symbols(self) -> Iterator[Symbol]:
        raw, strtab, secnames = self._symtab_raw
        for at in range(0, len(raw), self._sym_size):
            name_off, sym = self._decode_symbol(raw, at, strtab, secnames)
            if name_off and name_off < len(strtab):
                yield sym
