"""The loader's view of an ELF file: PT_INTERP, the PT_DYNAMIC entries (names as pyelftools gives them for the machine
and OS ABI), their strings through DT_STRTAB, and the version-need table (``readelf -V``'s .gnu.version_r)."""

from __future__ import annotations

import struct
from functools import cache, cached_property
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.errors import FormatError
from depfree.formats.elf import enums
from depfree.formats.elf.header import ElfImage
from depfree.formats.strings import cstring_at

MAX_VERNEED = 10_000
# Bytes read at once from the start of the version-need table: a whole table in practice (ls: 208 bytes, libstdc++:
# 384; the largest of /usr/bin and /usr/lib/x86_64-linux-gnu: 1,728); entries past it are read one by one.
VERNEED_WINDOW = 4096
MAX_DYNAMIC = 100_000  # dynamic entries read at most
_DT_STRINGS = ("DT_NEEDED", "DT_RPATH", "DT_RUNPATH", "DT_SONAME")
VER_FLG_WEAK = 0x2


@cache
def _dt_names(machine: str, osabi: str) -> dict[int, str]:
    """d_tag value -> name, as pyelftools names them for this machine and OS ABI."""
    table = dict(enums.ENUM_D_TAG_COMMON)
    table.update(enums.ENUMMAP_EXTRA_D_TAG_MACHINE.get(machine, {}))
    if osabi == "ELFOSABI_SOLARIS":
        table.update(enums.ENUM_D_TAG_SOLARIS)
    return {v: k for k, v in table.items() if isinstance(v, int)}


@dataclass
class VersionNeed:
    """One Elf_Verneed entry: a library and the version names needed from it."""

    library: str
    versions: dict[int, str] = field(default_factory=dict)  # vna_other index -> name
    weak: set[str] = field(default_factory=set)


class ElfDynamic(ElfImage):
    # --- program interpreter ---------------------------------------------------------------------------------
    @cached_property
    def interpreter(self) -> str | None:
        for seg in self._segments:
            if seg.kind == "PT_INTERP":
                raw = self.read_file(seg.offset, min(seg.filesz, 4096))
                if not raw:
                    raise FormatError(f"{self.path}: corrupt ELF (PT_INTERP at offset {seg.offset} is outside the file)")
                return cstring_at(raw)
        return None

    # --- dynamic section -------------------------------------------------------------------------------------
    @cached_property
    def has_dynamic(self) -> bool:
        return any(seg.kind == "PT_DYNAMIC" for seg in self._segments)

    @cached_property
    def _raw_dynamic(self) -> list[tuple[str, int]]:
        """(tag name, d_val) of PT_DYNAMIC up to DT_NULL."""
        for seg in self._segments:
            if seg.kind != "PT_DYNAMIC":
                continue
            if seg.offset + seg.filesz > self.source.size:
                raise FormatError(f"{self.path}: corrupt ELF (PT_DYNAMIC at offset {seg.offset} runs past the end)")
            entry = 16 if self.bits == 64 else 8
            raw = self.read_file(seg.offset, min(seg.filesz, MAX_DYNAMIC * entry))
            names = _dt_names(self.machine, self.osabi)
            fmt = self._fmt + ("qQ" if self.bits == 64 else "iI")
            tags: list[tuple[str, int]] = []
            for d_tag, d_val in struct.iter_unpack(fmt, raw[: len(raw) - len(raw) % entry]):
                if d_tag == 0:  # DT_NULL
                    break
                tags.append((names.get(d_tag) or f"DT_{d_tag:#x}", d_val))
            return tags
        return []

    @cached_property
    def dynamic(self) -> list[tuple[str, Any]]:
        """(tag, value) pairs of PT_DYNAMIC; string tags (NEEDED, RPATH...) resolved through DT_STRTAB."""
        return [(name, self._dynstr(val) if name in _DT_STRINGS else val) for name, val in self._raw_dynamic]

    @cached_property
    def _dyn_index(self) -> dict[str, list[Any]]:
        """The values of each tag, in order (a binary's tags are asked for a dozen times)."""
        out: dict[str, list[Any]] = {}
        for t, v in self.dynamic:
            out.setdefault(t, []).append(v)
        return out

    def _dyn_values(self, tag: str) -> list[Any]:
        return list(self._dyn_index.get(tag, ()))

    @property
    def needed(self) -> list[str]:
        return self._dyn_values("DT_NEEDED")

    @property
    def rpath(self) -> list[str]:
        return [p for v in self._dyn_values("DT_RPATH") for p in str(v).split(":") if p]

    @property
    def runpath(self) -> list[str]:
        return [p for v in self._dyn_values("DT_RUNPATH") for p in str(v).split(":") if p]

    @property
    def soname(self) -> str | None:
        v = self._dyn_values("DT_SONAME")
        return v[0] if v else None

    @property
    def flags(self) -> int:
        return sum(v for v in self._dyn_values("DT_FLAGS") if isinstance(v, int))

    @property
    def flags_1(self) -> int:
        return sum(v for v in self._dyn_values("DT_FLAGS_1") if isinstance(v, int))

    def dyn_has(self, tag: str) -> bool:
        return tag in self._dyn_index

    # --- strings ---------------------------------------------------------------------------------------------
    @cached_property
    def _dynstr_table(self) -> bytes:
        strtab = [v for t, v in self._raw_dynamic if t == "DT_STRTAB"]
        strsz = [v for t, v in self._raw_dynamic if t == "DT_STRSZ"]
        base = self.vaddr_to_offset(strtab[0]) if strtab else None
        if base is None:
            return b""
        return self.read_file(base, min(strsz[0] if strsz else 1 << 20, 64 * 1024 * 1024))

    def _dynstr(self, off: int) -> str:
        table = self._dynstr_table
        if off >= len(table):
            return f"<bad string offset {off:#x}>"
        return cstring_at(table, off)

    # --- symbol versions -------------------------------------------------------------------------------------
    @cached_property
    def version_needs(self) -> list[VersionNeed]:
        """The version-need table, located through DT_VERNEED."""
        vn = self._dyn_values("DT_VERNEED")
        num = self._dyn_values("DT_VERNEEDNUM")
        if not vn or not num:
            return []
        off = self.vaddr_to_offset(vn[0])
        if off is None:
            raise FormatError(f"{self.path}: corrupt ELF (DT_VERNEED {vn[0]:#x} is not in a loaded segment)")
        out: list[VersionNeed] = []
        window = (off, self.read_file(off, VERNEED_WINDOW))  # (the whole table, in a program's case: one read)
        for _ in range(min(num[0], MAX_VERNEED)):
            raw = self._entry16(window, off)
            if len(raw) < 16:
                raise FormatError(f"{self.path}: truncated ELF (version-need entry at offset {off} is cut off)")
            _ver, cnt, file_, aux, nxt = struct.unpack(self._fmt + "HHIII", raw)
            out.append(self._version_need(self._dynstr(file_), off + aux, cnt, window))
            if not nxt:
                break
            off += nxt
        return out

    def _entry16(self, window: tuple[int, bytes], at: int) -> bytes:
        """The 16 bytes at file offset ``at``: cut from ``window`` (its offset, its bytes) when they are in it."""
        rel = at - window[0]
        if 0 <= rel and rel + 16 <= len(window[1]):
            return window[1][rel : rel + 16]
        return self.read_file(at, 16)

    def _version_need(self, library: str, aoff: int, count: int, window: tuple[int, bytes]) -> VersionNeed:
        """One Elf_Verneed's chain of Elf_Vernaux entries, from file offset ``aoff``."""
        need = VersionNeed(library=library)
        for _ in range(min(count, MAX_VERNEED)):
            a = self._entry16(window, aoff)
            if len(a) < 16:
                raise FormatError(f"{self.path}: truncated ELF (version-need aux entry at offset {aoff} is cut off)")
            _hash, vflags, other, name, anext = struct.unpack(self._fmt + "IHHII", a)
            vname = self._dynstr(name)
            need.versions[other & 0x7FFF] = vname
            if vflags & VER_FLG_WEAK:
                need.weak.add(vname)
            if not anext:
                break
            aoff += anext
        return need
