"""The ELF header, the program headers (segments) and the section headers, read with struct; pyelftools gives the names
of the header, segment and section type values.

pyelftools' ELFFile builds its construct parsers anew for every file (~0.5 ms) and parses a program header table in
~1.5 ms and a section header table in ~4 ms: most of a /usr/bin scan. The small struct loops here read the same
tables; every offset and count is checked against the file size.
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import cache, cached_property
from typing import NamedTuple

from depfree.dataclass import dataclass
from depfree.errors import FormatError
from depfree.formats.base import Executable, Section, Segment
from depfree.formats.elf import enums
from depfree.formats.strings import cstring_at, names_by_offset
from depfree.sources.file import ByteSource

# e_machine -> Go-style GOARCH; entries needing class/endianness are resolved in _arch().
_MACHINES = {
    "EM_X86_64": "amd64", "EM_386": "386", "EM_AARCH64": "arm64", "EM_ARM": "arm", "EM_RISCV": "riscv",
    "EM_PPC64": "ppc64", "EM_PPC": "ppc", "EM_S390": "s390", "EM_MIPS": "mips", "EM_LOONGARCH": "loong64",
    "EM_SPARCV9": "sparc64", "EM_SPARC": "sparc", "EM_IA_64": "ia64", "EM_ALPHA": "alpha",
}
_PT_NAMES = {"PT_LOAD": "load"}
# A NamedTuple's own __new__ is a Python function: the tables' rows are made by tuple's, ~0.2 µs less each (about
# 50,000 segments, section headers and sections in a scan of /usr/bin; issue 23). It checks nothing: each row gets
# every field, in order (tests/test_executable.py holds them whole).
_row = tuple.__new__
_E_TYPE = {v: k for k, v in enums.ENUM_E_TYPE.items() if isinstance(v, int)}
_E_MACHINE = {v: k for k, v in enums.ENUM_E_MACHINE.items() if isinstance(v, int)}
_EI_OSABI = {v: k for k, v in enums.ENUM_EI_OSABI.items() if isinstance(v, int)}
SHT_NOTE, SHT_NOBITS = 7, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_COMPRESSED = 0x1, 0x2, 0x4, 0x800


@cache
def _pt_names(machine: str) -> dict[int, str]:
    """p_type value -> name, as pyelftools names them for this machine."""
    table = {"EM_ARM": enums.ENUM_P_TYPE_ARM, "EM_AARCH64": enums.ENUM_P_TYPE_AARCH64, "EM_MIPS": enums.ENUM_P_TYPE_MIPS,
             "EM_RISCV": enums.ENUM_P_TYPE_RISCV}.get(machine, enums.ENUM_P_TYPE_BASE)
    return {v: k for k, v in table.items() if isinstance(v, int)}


@dataclass(frozen=True)
class ElfHeader:
    """The ELF header (after e_ident) with pyelftools' names: e_type and e_machine as names when known, else numbers."""

    e_type: str | int
    e_machine: str | int
    e_version: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_flags: int
    e_ehsize: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int
    ei_osabi: str | int  # ELFOSABI_* name when known
    ei_abiversion: int

    @staticmethod
    def read(head: bytes, fmt: str, bits: int) -> ElfHeader:
        layout = "HHIQQQIHHHHHH" if bits == 64 else "HHIIIIIHHHHHH"
        (e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize,
         e_shnum, e_shstrndx) = struct.unpack_from(fmt + layout, head, 16)
        return ElfHeader(_E_TYPE.get(e_type, e_type), _E_MACHINE.get(e_machine, e_machine), e_version, e_entry,
                         e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx,
                         ei_osabi=_EI_OSABI.get(head[7], head[7]), ei_abiversion=head[8])

    def table_end(self) -> int:
        """Where the later of the program and section header tables ends."""
        return max(self.e_shoff + self.e_shnum * self.e_shentsize, self.e_phoff + self.e_phnum * self.e_phentsize)


class SectionHeader(NamedTuple):
    name: str
    type: int  # SHT_*
    flags: int  # SHF_*
    addr: int
    offset: int
    size: int
    link: int


class ElfImage(Executable):
    """The ELF header, segments and sections; :class:`depfree.formats.elf.ElfExecutable` adds the rest."""

    format = "elf"
    osabi: str  # always set for ELF

    def __init__(self, source: ByteSource) -> None:
        super().__init__(source)
        head = source.read_at(0, 64)
        if len(head) < 16:
            raise FormatError(f"{self.path}: truncated ELF (file is {source.size} bytes, the identification needs 16)")
        if head[4] not in (1, 2) or head[5] not in (1, 2):
            raise FormatError(f"{self.path}: corrupt ELF (class {head[4]} / data encoding {head[5]}; expected 1 or 2)")
        self.bits = 64 if head[4] == 2 else 32
        self.endian = "little" if head[5] == 1 else "big"
        self._fmt = "<" if self.endian == "little" else ">"
        self._swap = self.endian != sys.byteorder  # array() reads words in this machine's order
        ehsize = 64 if self.bits == 64 else 52
        if source.size < ehsize:
            raise FormatError(f"{self.path}: truncated ELF (file is {source.size} bytes, the ELF header needs {ehsize})")
        self.header = hdr = ElfHeader.read(head, self._fmt, self.bits)
        self.machine: str = hdr.e_machine if isinstance(hdr.e_machine, str) else f"EM_{hdr.e_machine}"
        # A number pyelftools has no name for is named like an unknown machine (the schema's osabi is a string).
        self.osabi = hdr.ei_osabi if isinstance(hdr.ei_osabi, str) else f"ELFOSABI_{hdr.ei_osabi}"
        self._check_tables(hdr)
        self.arch = self._arch()

    def _check_tables(self, hdr: ElfHeader) -> None:
        size = self.source.size
        phnum, phentsize, phoff = hdr.e_phnum, hdr.e_phentsize, hdr.e_phoff
        if phnum and (phoff + phnum * phentsize > size or phentsize < (56 if self.bits == 64 else 32)):
            raise FormatError(f"{self.path}: corrupt ELF (program header table: {phnum} entries of {phentsize} bytes "
                              f"at offset {phoff} do not fit in the {size}-byte file)")
        # Section headers past the end happen with truncated or hostile files; readers fall back to segments.
        shnum, shentsize, shoff = hdr.e_shnum, hdr.e_shentsize, hdr.e_shoff
        self._sections_ok = not (shoff and shnum and shoff + shnum * shentsize > size) and shnum > 0 and shoff > 0

    def _arch(self) -> str:
        base = _MACHINES.get(self.machine, self.machine.removeprefix("EM_").lower())
        le = self.endian == "little"
        if base == "riscv":
            return "riscv64" if self.bits == 64 else "riscv"
        if base == "ppc64":
            return "ppc64le" if le else "ppc64"
        if base == "s390":
            return "s390x" if self.bits == 64 else "s390"
        if base == "mips":
            return ("mips64" if self.bits == 64 else "mips") + ("le" if le else "")
        return base

    @property
    def entry(self) -> int:
        return self.header.e_entry

    def _words(self, code: str, raw: bytes | bytearray) -> array[int]:
        """``raw`` as an array of unsigned 16- (``H``) or 32-bit (``I``) words in the file's byte order."""
        a = array(code)
        a.frombytes(raw[: len(raw) // a.itemsize * a.itemsize])
        if self._swap:
            a.byteswap()
        return a

    # --- segments --------------------------------------------------------------------------------------------
    @cached_property
    def _segments(self) -> list[Segment]:
        """The program header table; type names are pyelftools' for the machine."""
        hdr = self.header
        phoff, phnum, phentsize = hdr.e_phoff, hdr.e_phnum, hdr.e_phentsize
        if not phnum:
            return []
        raw = self.read_file(phoff, phnum * phentsize)  # _check_tables made sure the table is in the file
        names = _pt_names(self.machine)
        wide = self.bits == 64
        unpack = struct.Struct(self._fmt + ("IIQQQQQQ" if wide else "IIIIIIII")).unpack_from
        out = []
        for at in range(0, len(raw) // phentsize * phentsize, phentsize):
            if wide:
                p_type, flags, offset, vaddr, _paddr, filesz, memsz, _align = unpack(raw, at)
            else:
                p_type, offset, vaddr, _paddr, filesz, memsz, flags, _align = unpack(raw, at)
            kind = names.get(p_type) or f"PT_{p_type:#x}"
            # (Segment's fields: kind, vaddr, memsz, offset, filesz, readable, writable, executable)
            out.append(_row(Segment, (_PT_NAMES.get(kind, kind), vaddr, memsz, offset, filesz, bool(flags & 4),
                                      bool(flags & 2), bool(flags & 1))))
        return out

    def segments(self) -> list[Segment]:
        return self._segments

    # --- sections --------------------------------------------------------------------------------------------
    @cached_property
    def _section_headers(self) -> list[SectionHeader]:
        if not self._sections_ok:
            return []
        hdr = self.header
        shoff, shnum, shentsize, shstrndx = hdr.e_shoff, hdr.e_shnum, hdr.e_shentsize, hdr.e_shstrndx
        fmt = self._fmt + ("IIQQQQIIQQ" if self.bits == 64 else "IIIIIIIIII")
        if shentsize < struct.calcsize(fmt):
            return []
        raw = self.read_file(shoff, shnum * shentsize)
        unpack = struct.Struct(fmt).unpack_from
        rows = [unpack(raw, at) for at in range(0, len(raw) // shentsize * shentsize, shentsize)]
        names = b""
        if 0 < shstrndx < len(rows):
            r = rows[shstrndx]
            names = self.read_file(r[4], min(r[5], 16 * 1024 * 1024))
        # the names split once (a name ld merged into another's tail, ".text" of ".rela.text", is read where it is)
        starts = names_by_offset(names, len(rows))
        return [_row(SectionHeader, (starts.get(name_off) or cstring_at(names, name_off), typ, flags, addr, offset,
                                     size, link))
                for name_off, typ, flags, addr, offset, size, link, _info, _align, _entsize in rows]

    @cached_property
    def _sections(self) -> list[Section]:
        out = []
        total = self.source.size
        for name, typ, flags, addr, offset, size, _link in self._section_headers:
            file_size = 0 if typ == SHT_NOBITS else size
            if file_size and offset + file_size > total:
                file_size = max(0, total - offset)
            # (Section's fields: name, addr, offset, size, file_size, executable, writable, alloc, compressed)
            out.append(_row(Section, (name, addr, offset, size, file_size, bool(flags & SHF_EXECINSTR),
                                      bool(flags & SHF_WRITE), bool(flags & SHF_ALLOC),
                                      bool(flags & SHF_COMPRESSED) or name.startswith(".zdebug"))))
        return out

    def sections(self) -> list[Section]:
        return self._sections

    @cached_property
    def debug_companion(self) -> str | None:
        """Why this is a separate debug-info file (``objcopy --only-keep-debug``, ``/usr/lib/debug/.build-id/``):
        its code sections are SHT_NOBITS, the code stays in the binary it was split from. None otherwise."""
        code = [(h.name, h.type) for h in self._section_headers if h.flags & (SHF_ALLOC | SHF_EXECINSTR) == 0x6]
        if not code or any(typ != SHT_NOBITS for _, typ in code):
            return None
        names = [n for n, _ in code]
        shown = ".text" if ".text" in names else names[0]
        return f"{shown} and every other code section are SHT_NOBITS"

    def data_start(self) -> int | None:
        # As Go's debug/buildinfo: the .go.buildinfo section, else the first writable, non-executable PT_LOAD.
        s = self.section(".go.buildinfo")
        if s is not None:
            return s.addr
        for seg in self.segments():
            if seg.kind == "load" and seg.writable and not seg.executable:
                return seg.vaddr
        return None
