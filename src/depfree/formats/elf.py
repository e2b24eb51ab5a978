"""ELF reader: pyelftools for the ELF header and the names of segment and dynamic-tag types; small struct loops for
the program headers, dynamic entries, section headers, notes, the version-need table and the symbol tables (pyelftools'
construct parsing of those cost most of a /usr/bin scan, and they must also work when section headers are gone).

Everything is read lazily from the mapped file; every offset and count is checked against the file size.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import accumulate
from typing import Any

from elftools.elf import enums

from depfree.errors import FormatError
from depfree.formats.base import Executable, Section, Segment, Symbol, max_symbols
from depfree.sources.file import ByteSource

MAX_SYMBOLS = max_symbols(5_000_000)
MAX_VERNEED = 10_000
MAX_DYNAMIC = 100_000  # dynamic entries read at most

# e_machine -> Go-style GOARCH; entries needing class/endianness are resolved in _arch().
_MACHINES = {
    "EM_X86_64": "amd64", "EM_386": "386", "EM_AARCH64": "arm64", "EM_ARM": "arm", "EM_RISCV": "riscv",
    "EM_PPC64": "ppc64", "EM_PPC": "ppc", "EM_S390": "s390", "EM_MIPS": "mips", "EM_LOONGARCH": "loong64",
    "EM_SPARCV9": "sparc64", "EM_SPARC": "sparc", "EM_IA_64": "ia64", "EM_ALPHA": "alpha",
}
_OSABI = {
    "ELFOSABI_FREEBSD": "freebsd", "ELFOSABI_NETBSD": "netbsd", "ELFOSABI_OPENBSD": "openbsd",
    "ELFOSABI_SOLARIS": "solaris", "ELFOSABI_AIX": "aix", "ELFOSABI_LINUX": "linux", "ELFOSABI_GNU": "linux",
}
# NT_GNU_ABI_TAG os field (glibc's csu/abi-note): 0 Linux, 1 Hurd, 2 Solaris, 3 FreeBSD
_ABI_TAG_OS = {0: "linux", 1: "hurd", 2: "solaris", 3: "freebsd"}

_PT_NAMES = {"PT_LOAD": "load"}
_E_TYPE = {v: k for k, v in enums.ENUM_E_TYPE.items() if isinstance(v, int)}
_E_MACHINE = {v: k for k, v in enums.ENUM_E_MACHINE.items() if isinstance(v, int)}
_EI_OSABI = {v: k for k, v in enums.ENUM_EI_OSABI.items() if isinstance(v, int)}
_DT_STRINGS = ("DT_NEEDED", "DT_RPATH", "DT_RUNPATH", "DT_SONAME")


@cache
def _pt_names(machine: str) -> dict[int, str]:
    """p_type value -> name, as pyelftools names them for this machine."""
    table = {"EM_ARM": enums.ENUM_P_TYPE_ARM, "EM_AARCH64": enums.ENUM_P_TYPE_AARCH64, "EM_MIPS": enums.ENUM_P_TYPE_MIPS,
             "EM_RISCV": enums.ENUM_P_TYPE_RISCV}.get(machine, enums.ENUM_P_TYPE_BASE)
    return {v: k for k, v in table.items() if isinstance(v, int)}


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


@dataclass
class Note:
    owner: str
    type: int  # NT_* number (meaning depends on the owner: GNU 1 ABI tag, 3 build ID; Go 4 build ID)
    desc: bytes
    section: str | None


_HEADER_FIELDS = ("e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags", "e_ehsize",
                  "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx")


def _header(head: bytes, fmt: str, bits: int) -> dict[str, Any]:
    """The ELF header (after e_ident) as pyelftools names it: e_type, e_machine and EI_OSABI as names, the rest as
    numbers. Read with struct: pyelftools' ELFFile builds its construct parsers anew for every file (~0.5 ms)."""
    layout = "HHIQQQIHHHHHH" if bits == 64 else "HHIIIIIHHHHHH"
    hdr: dict[str, Any] = dict(zip(_HEADER_FIELDS, struct.unpack_from(fmt + layout, head, 16), strict=True))
    hdr["e_type"] = _E_TYPE.get(hdr["e_type"], hdr["e_type"])
    hdr["e_machine"] = _E_MACHINE.get(hdr["e_machine"], hdr["e_machine"])
    hdr["e_ident"] = {"EI_OSABI": _EI_OSABI.get(head[7], head[7]), "EI_ABIVERSION": head[8]}
    return hdr


class ElfExecutable(Executable):
    format = "elf"

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
        self.header = _header(head, self._fmt, self.bits)
        hdr = self.header
        self._e_type = hdr["e_type"]
        self.machine = hdr["e_machine"] if isinstance(hdr["e_machine"], str) else f"EM_{hdr['e_machine']}"
        self.osabi = hdr["e_ident"]["EI_OSABI"]
        self._entry = hdr["e_entry"]
        self._check_tables(hdr)
        self.arch = self._arch()

    # --- validation ------------------------------------------------------------------------------------------
    def _check_tables(self, hdr: Any) -> None:
        size = self.source.size
        phnum, phentsize, phoff = hdr["e_phnum"], hdr["e_phentsize"], hdr["e_phoff"]
        if phnum and (phoff + phnum * phentsize > size or phentsize < (56 if self.bits == 64 else 32)):
            raise FormatError(f"{self.path}: corrupt ELF (program header table: {phnum} entries of {phentsize} bytes "
                              f"at offset {phoff} do not fit in the {size}-byte file)")
        shnum, shentsize, shoff = hdr["e_shnum"], hdr["e_shentsize"], hdr["e_shoff"]
        if shoff and shnum and shoff + shnum * shentsize > size:
            # Section headers past the end happen with truncated or hostile files; readers fall back to segments.
            self._sections_ok = False
        else:
            self._sections_ok = shnum > 0 and shoff > 0

    # --- identity --------------------------------------------------------------------------------------------
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
        return self._entry

    @cached_property
    def os(self) -> str:  # type: ignore[override]
        if self.osabi in _OSABI and self.osabi not in ("ELFOSABI_LINUX", "ELFOSABI_GNU"):
            return _OSABI[self.osabi]
        interp = self.interpreter or ""
        if interp.startswith("/system/bin/linker"):
            return "android"
        if "ld-elf.so" in interp:
            return "freebsd"
        for note in self.notes():
            if note.owner == "OpenBSD":
                return "openbsd"
            if note.owner == "NetBSD":
                return "netbsd"
            if note.owner == "FreeBSD":
                return "freebsd"
            if note.owner == "Android":
                return "android"
        tag = self.abi_tag
        if tag is not None:
            return _ABI_TAG_OS.get(tag[0], "unknown")
        return "linux" if self.osabi in ("ELFOSABI_SYSV", "ELFOSABI_LINUX", "ELFOSABI_GNU") else "unknown"

    @cached_property
    def type(self) -> str:  # type: ignore[override]
        t = self._e_type
        if t == "ET_EXEC":
            return "exec"
        if t == "ET_REL":
            return "relocatable"
        if t == "ET_CORE":
            return "core"
        if t == "ET_DYN":
            if self.interpreter is not None or self.flags_1 & 0x08000000:  # DF_1_PIE
                return "pie"
            if self.soname is None and self.entry and not self.needed and self.has_dynamic:
                return "pie"  # static-pie: relocates itself, no loader, no libraries
            return "shared"
        return str(t).removeprefix("ET_").lower()

    # --- structure -------------------------------------------------------------------------------------------
    @cached_property
    def _segments(self) -> list[Segment]:
        """The program header table, read with struct (pyelftools' construct parsing cost ~1.5 ms per file, the
        largest share of a /usr/bin scan); type names are pyelftools' for the machine."""
        hdr = self.header
        phoff, phnum, phentsize = hdr["e_phoff"], hdr["e_phnum"], hdr["e_phentsize"]
        if not phnum:
            return []
        raw = self.read_file(phoff, phnum * phentsize)  # _check_tables made sure the table is in the file
        names = _pt_names(self.machine)
        out = []
        for i in range(len(raw) // phentsize):
            if self.bits == 64:
                p_type, flags, offset, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from(
                    self._fmt + "IIQQQQQQ", raw, i * phentsize)
            else:
                p_type, offset, vaddr, _paddr, filesz, memsz, flags, _align = struct.unpack_from(
                    self._fmt + "IIIIIIII", raw, i * phentsize)
            kind = names.get(p_type) or f"PT_{p_type:#x}"
            out.append(Segment(kind=_PT_NAMES.get(kind, kind), vaddr=vaddr, memsz=memsz, offset=offset,
                               filesz=filesz, readable=bool(flags & 4), writable=bool(flags & 2),
                               executable=bool(flags & 1)))
        return out

    def segments(self) -> list[Segment]:
        return self._segments

    @cached_property
    def _section_headers(self) -> list[tuple[str, int, int, int, int, int, int]]:
        """(name, type, flags, addr, offset, size, link) per section header, read with struct (pyelftools'
        construct parsing costs ~4 ms per file, most of an /usr/bin scan)."""
        if not self._sections_ok:
            return []
        hdr = self.header
        shoff, shnum, shentsize, shstrndx = hdr["e_shoff"], hdr["e_shnum"], hdr["e_shentsize"], hdr["e_shstrndx"]
        fmt = self._fmt + ("IIQQQQIIQQ" if self.bits == 64 else "IIIIIIIIII")
        if shentsize < struct.calcsize(fmt):
            return []
        raw = self.read_file(shoff, shnum * shentsize)
        rows = [struct.unpack_from(fmt, raw, i * shentsize) for i in range(len(raw) // shentsize)]
        names = b""
        if 0 < shstrndx < len(rows):
            r = rows[shstrndx]
            names = self.read_file(r[4], min(r[5], 16 * 1024 * 1024))
        out = []
        for name_off, typ, flags, addr, offset, size, link, _info, _align, _entsize in rows:
            end = names.find(b"\0", name_off)
            name = names[name_off : end if end >= 0 else len(names)].decode("utf-8", "replace") if name_off < len(
                names) else ""
            out.append((name, typ, flags, addr, offset, size, link))
        return out

    @cached_property
    def _sections(self) -> list[Section]:
        out = []
        for name, typ, flags, addr, offset, size, _link in self._section_headers:
            nobits = typ == 8  # SHT_NOBITS
            file_size = 0 if nobits else size
            if file_size and offset + file_size > self.source.size:
                file_size = max(0, self.source.size - offset)
            out.append(Section(name=name, addr=addr, offset=offset, size=size, file_size=file_size,
                               executable=bool(flags & 0x4), writable=bool(flags & 0x1), alloc=bool(flags & 0x2),
                               compressed=bool(flags & 0x800) or name.startswith(".zdebug")))
        return out

    def sections(self) -> list[Section]:
        return self._sections

    @cached_property
    def debug_companion(self) -> str | None:
        """Why this is a separate debug-info file (``objcopy --only-keep-debug``, ``/usr/lib/debug/.build-id/``):
        its code sections are SHT_NOBITS, the code stays in the binary it was split from. None otherwise."""
        code = [(n, typ) for n, typ, flags, *_ in self._section_headers if flags & 0x6 == 0x6]  # ALLOC|EXECINSTR
        if not code or any(typ != 8 for _, typ in code):  # SHT_NOBITS
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

    # --- program interpreter and dynamic section -------------------------------------------------------------
    @cached_property
    def interpreter(self) -> str | None:
        for seg in self._segments:
            if seg.kind == "PT_INTERP":
                raw = self.read_file(seg.offset, min(seg.filesz, 4096))
                if not raw:
                    raise FormatError(f"{self.path}: corrupt ELF (PT_INTERP at offset {seg.offset} is outside the file)")
                return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return None

    @cached_property
    def has_dynamic(self) -> bool:
        return any(seg.kind == "PT_DYNAMIC" for seg in self._segments)

    @cached_property
    def _raw_dynamic(self) -> list[tuple[str, int]]:
        """(tag name, d_val) of PT_DYNAMIC up to DT_NULL, read with struct; names are pyelftools' for the machine."""
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

    def _dyn_values(self, tag: str) -> list[Any]:
        return [v for t, v in self.dynamic if t == tag]

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
        return any(t == tag for t, _ in self.dynamic)

    # --- address translation ---------------------------------------------------------------------------------
    def vaddr_to_offset(self, vaddr: int) -> int | None:
        for seg in self.segments():
            if seg.kind == "load" and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return seg.offset + (vaddr - seg.vaddr)
        return None

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
        """The version-need table (``readelf -V``'s .gnu.version_r), located through DT_VERNEED."""
        vn = self._dyn_values("DT_VERNEED")
        num = self._dyn_values("DT_VERNEEDNUM")
        if not vn or not num:
            return []
        off = self.vaddr_to_offset(vn[0])
        if off is None:
            raise FormatError(f"{self.path}: corrupt ELF (DT_VERNEED {vn[0]:#x} is not in a loaded segment)")
        out: list[VersionNeed] = []
        count = min(num[0], MAX_VERNEED)
        for _ in range(count):
            raw = self.read_file(off, 16)
            if len(raw) < 16:
                raise FormatError(f"{self.path}: truncated ELF (version-need entry at offset {off} is cut off)")
            _ver, cnt, file_, aux, nxt = struct.unpack(self._fmt + "HHIII", raw)
            need = VersionNeed(library=self._dynstr(file_))
            aoff = off + aux
            for _ in range(min(cnt, MAX_VERNEED)):
                a = self.read_file(aoff, 16)
                if len(a) < 16:
                    raise FormatError(f"{self.path}: truncated ELF (version-need aux entry at offset {aoff} is cut off)")
                _hash, vflags, other, name, anext = struct.unpack(self._fmt + "IHHII", a)
                vname = self._dynstr(name)
                need.versions[other & 0x7FFF] = vname
                if vflags & 0x2:  # VER_FLG_WEAK
                    need.weak.add(vname)
                if not anext:
                    break
                aoff += anext
            out.append(need)
            if not nxt:
                break
            off += nxt
        return out

    @cached_property
    def _dynsym_table(self) -> tuple[int, int] | None:
        """(file offset, count) of the dynamic symbol table."""
        sec = None
        if self._sections_ok:
            for s in self.sections():
                if s.name == ".dynsym" and s.file_size:
                    sec = s
        ent = 24 if self.bits == 64 else 16
        if sec is not None:
            return sec.offset, sec.file_size // ent
        symtab = self._dyn_values("DT_SYMTAB")
        if not symtab:
            return None
        off = self.vaddr_to_offset(symtab[0])
        if off is None:
            return None
        count = self._count_from_hash()
        if count is None:
            return None
        return off, count

    def _count_from_hash(self) -> int | None:
        h = self._dyn_values("DT_HASH")
        if h:
            o = self.vaddr_to_offset(h[0])
            raw = self.read_file(o, 8) if o is not None else b""
            if len(raw) == 8:
                return min(struct.unpack(self._fmt + "II", raw)[1], MAX_SYMBOLS)
        g = self._dyn_values("DT_GNU_HASH")
        if g:
            o = self.vaddr_to_offset(g[0])
            raw = self.read_file(o, 16) if o is not None else b""
            if len(raw) < 16:
                return None
            nbuckets, symoffset, bloom_size, _shift = struct.unpack(self._fmt + "IIII", raw)
            word = 8 if self.bits == 64 else 4
            boff = o + 16 + bloom_size * word
            buckets = self.read_file(boff, nbuckets * 4)
            if len(buckets) < nbuckets * 4:
                return None
            last = max(struct.unpack(self._fmt + f"{nbuckets}I", buckets), default=0)
            if last < symoffset:
                return symoffset
            coff = boff + nbuckets * 4 + (last - symoffset) * 4
            for _ in range(MAX_SYMBOLS):
                c = self.read_file(coff, 4)
                if len(c) < 4:
                    return None
                last += 1
                if struct.unpack(self._fmt + "I", c)[0] & 1:
                    return last
                coff += 4
        return None

    @cached_property
    def dynamic_symbol_entries(self) -> list[tuple[str, bool, int]]:
        """(name, defined, version index) for each dynamic symbol; version index 0/1 = unversioned."""
        table = self._dynsym_table
        if table is None:
            return []
        off, count = table
        ent = 24 if self.bits == 64 else 16
        raw = self.read_file(off, min(count, MAX_SYMBOLS) * ent)
        count = len(raw) // ent
        if count < 2:
            return []
        raw = raw[: count * ent]
        # Columns without a Python loop (~300k symbols in a /usr/bin scan): st_name is the first word of both
        # Elf32_Sym and Elf64_Sym; st_shndx is half-word 3 of 12 (Elf64: name, info, other, shndx, value, size)
        # or 7 of 8 (Elf32: name, value, size, info, other, shndx).
        name_offs = self._words("I", raw)[0 :: ent // 4]
        shndx = self._words("H", raw)[3::12] if self.bits == 64 else self._words("H", raw)[7::8]
        vers = array("H", bytes(2 * count))
        versym = self._dyn_values("DT_VERSYM")
        voff = self.vaddr_to_offset(versym[0]) if versym else None
        if voff is not None:
            got = self._words("H", self.read_file(voff, count * 2))
            vers[: len(got)] = got
        names = list(map(self._dynstr_names.get, name_offs))
        for i in [i for i, n in enumerate(names) if n is None]:  # a suffix of another name, or out of range
            names[i] = self._dynstr(name_offs[i])
        return list(zip(names[1:], map(bool, shndx[1:]), map(0x7FFF.__and__, vers[1:]), strict=True))

    def _words(self, code: str, raw: bytes) -> array[int]:
        """``raw`` as an array of unsigned 16- (``H``) or 32-bit (``I``) words in the file's byte order."""
        a = array(code)
        a.frombytes(raw[: len(raw) // a.itemsize * a.itemsize])
        if self._swap:
            a.byteswap()
        return a

    @cached_property
    def _dynstr_names(self) -> dict[int, str]:
        table = self._dynsym_table
        count = table[1] if table else 0
        return names_by_offset(self._dynstr_table, count)

    def dynamic_symbols(self) -> list[str]:
        return self._undefined_dynamic

    @cached_property
    def _undefined_dynamic(self) -> list[str]:
        return [n for n, defined, _ in self.dynamic_symbol_entries if not defined]

    # --- notes -----------------------------------------------------------------------------------------------
    @cached_property
    def _notes(self) -> list[Note]:
        """Notes from SHT_NOTE sections (or PT_NOTE segments when section headers are gone): owner, numeric type,
        raw descriptor bytes. A damaged note ends the walk of its section; notes are supporting evidence only."""
        areas: list[tuple[int, int, str | None]] = []
        if self._sections_ok:
            areas = [(off, size, name) for name, typ, _f, _a, off, size, _l in self._section_headers if typ == 7]
        else:
            areas = [(seg.offset, seg.filesz, None) for seg in self.segments() if seg.kind == "PT_NOTE"]
        out: list[Note] = []
        for off, size, name in areas:
            raw = self.read_file(off, min(size, 1 << 20))
            pos = 0
            while pos + 12 <= len(raw) and len(out) < 1000:
                namesz, descsz, ntype = struct.unpack_from(self._fmt + "III", raw, pos)
                name_end = pos + 12 + ((namesz + 3) & ~3)
                desc_end = name_end + ((descsz + 3) & ~3)
                if name_end > len(raw) or name_end + descsz > len(raw):
                    break
                owner = raw[pos + 12 : pos + 12 + namesz].rstrip(b"\0").decode("utf-8", "replace")
                out.append(Note(owner, ntype, raw[name_end : name_end + descsz], name))
                pos = desc_end
        return out

    def notes(self) -> list[Note]:
        return self._notes

    @cached_property
    def abi_tag(self) -> tuple[int, int, int, int] | None:
        """NT_GNU_ABI_TAG: (os, major, minor, subminor) — the minimum kernel glibc's crt was built for."""
        for n in self._notes:
            if n.owner == "GNU" and n.type == 1 and len(n.desc) >= 16:  # NT_GNU_ABI_TAG
                return struct.unpack_from(self._fmt + "IIII", n.desc)
        return None

    # --- symbols ---------------------------------------------------------------------------------------------
    def _symtab_strtab(self) -> bytes | None:
        """The string table linked from .symtab (sh_link), or None when it is missing or out of range."""
        heads = self._section_headers
        for name, _typ, _f, _a, _off, _size, link in heads:
            if name == ".symtab":
                if not 0 < link < len(heads):
                    return None
                return self.read_file(heads[link][4], min(heads[link][5], 256 * 1024 * 1024))
        return None

    @cached_property
    def _symtab_raw(self) -> tuple[bytes, bytes, list[str]]:
        """(symbol table bytes, string table bytes, section names); empty when there is no .symtab."""
        symtab = self.section(".symtab")
        if symtab is None or not symtab.file_size:
            return b"", b"", []
        strtab = self._symtab_strtab()
        if strtab is None:
            return b"", b"", []
        ent = 24 if self.bits == 64 else 16
        raw = self.read_file(symtab.offset, min(symtab.file_size, MAX_SYMBOLS * ent))
        return raw[: len(raw) // ent * ent], strtab, [s.name for s in self.sections()]

    @cached_property
    def _name_offsets(self) -> dict[int, int]:
        """st_name -> symbol index, so a lookup by name is a string-table search plus a dict hit."""
        raw, _, _ = self._symtab_raw
        ent = 24 if self.bits == 64 else 16
        name_fmt = self._fmt + "I" + ("20x" if self.bits == 64 else "12x")
        out: dict[int, int] = {}
        for i, (name_off,) in enumerate(struct.iter_unpack(name_fmt, raw[: len(raw) // ent * ent])):
            out.setdefault(name_off, i)
        return out

    def _symbol_at(self, index: int) -> Symbol:
        raw, strtab, secnames = self._symtab_raw
        ent = 24 if self.bits == 64 else 16
        fields = struct.unpack_from(self._fmt + ("IBBHQQ" if self.bits == 64 else "IIIBBH"), raw, index * ent)
        if self.bits == 64:
            name_off, info, _other, shndx, value, size = fields
        else:
            name_off, value, size, info, _other, shndx = fields
        end = strtab.find(b"\0", name_off)
        name = strtab[name_off : end if end >= 0 else len(strtab)].decode("utf-8", "replace")
        return Symbol(name=name, value=value, size=size,
                      section=secnames[shndx] if 0 < shndx < len(secnames) else None,
                      kind={1: "object", 2: "func", 6: "tls"}.get(info & 0xF, ""))

    def symbol(self, name: str) -> Symbol | None:
        """One symbol by name, without building a full index (Go binaries carry 100k+ symbols)."""
        _, strtab, _ = self._symtab_raw
        if not strtab:
            return None
        needle = name.encode() + b"\0"
        index = self._name_offsets
        pos = 0
        # Every occurrence counts: ld merges a name into the tail of a longer one ("main" is the end of
        # "__libc_start_main"), and a symbol whose st_name points there is named exactly ``name``.
        for _ in range(1 << 16):
            hit = strtab.find(needle, pos)
            if hit < 0:
                return None
            i = index.get(hit)
            if i is not None:
                return self._symbol_at(i)
            pos = hit + 1
        return None

    def symbol_names(self) -> list[str]:
        """The names in .symtab, without building a Symbol for each (libgo has 190,000)."""
        raw, strtab, _ = self._symtab_raw
        if not raw:
            return []
        offs = self._words("I", raw)[0 :: (24 if self.bits == 64 else 16) // 4]
        names = list(map(names_by_offset(strtab, len(offs)).get, offs))
        size = len(strtab)
        for i in [i for i, n in enumerate(names) if n is None and 0 < offs[i] < size]:  # ld's tail-merged names
            names[i] = cstring_at(strtab, offs[i])
        return [n for n in names if n]

    def iter_symbols(self) -> Iterator[Symbol]:
        """The .symtab, read with struct (pyelftools is too slow for the 100k-symbol tables of Go binaries)."""
        symtab = self.section(".symtab")
        if symtab is None or not symtab.file_size:
            return
        strtab = self._symtab_strtab()
        if strtab is None:
            return
        secnames = [s.name for s in self.sections()]
        ent = 24 if self.bits == 64 else 16
        raw = self.read_file(symtab.offset, min(symtab.file_size, MAX_SYMBOLS * ent))
        raw = raw[: len(raw) // ent * ent]
        fmt = self._fmt + ("IBBHQQ" if self.bits == 64 else "IIIBBH")
        for fields in struct.iter_unpack(fmt, raw):
            if self.bits == 64:
                name_off, info, _other, shndx, value, size = fields
            else:
                name_off, value, size, info, _other, shndx = fields
            if not name_off or name_off >= len(strtab):
                continue
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off : end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            typ = info & 0xF
            yield Symbol(name=name, value=value, size=size,
                         section=secnames[shndx] if 0 < shndx < len(secnames) else None,
                         kind={1: "object", 2: "func", 6: "tls"}.get(typ, ""))


def names_by_offset(table: bytes, names: int | None = None) -> dict[int, str]:
    """Every NUL-terminated name of a string table by the offset it starts at, split in one pass (a name that ld
    merged into the tail of a longer one starts elsewhere: callers look those up one by one).

    ``names``: how many names the caller will look up. A table holding far more strings than that (a hostile
    DT_STRSZ or sh_size stretching it over the rest of the file, whose zeros are millions of empty strings) gives
    an empty dict, and the callers' one-by-one lookups keep memory bounded by the symbol count."""
    if names is not None and table.count(0) > 4 * names + 4096:
        return {}
    if table.isascii():
        parts = table.decode("ascii").split("\0")
        starts = accumulate(map((1).__add__, map(len, parts)), initial=0)
    else:
        raw_parts = table.split(b"\0")
        starts = accumulate(map((1).__add__, map(len, raw_parts)), initial=0)
        parts = [p.decode("utf-8", "replace") for p in raw_parts]
    return dict(zip(starts, parts, strict=False))  # (starts has one more: the end of the table)


def cstring_at(table: bytes, off: int) -> str:
    """The NUL-terminated name at ``off`` of a string table (to its end when unterminated)."""
    end = table.find(b"\0", off)
    return table[off : end if end >= 0 else len(table)].decode("utf-8", "replace")
