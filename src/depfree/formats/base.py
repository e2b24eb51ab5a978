"""The format-neutral view of an executable that the Go layer and the analyzers use.

Modelled on the small ``exe`` interface of Go's ``debug/buildinfo``: read bytes at a virtual address, list sections and
segments, find where data starts, know format/arch/os. Beside that it declares every fact analyzers read from any
format (the loader and libraries, notes, dynamic symbols, whether a symbol table is there, the typed format details),
with the answer "none" for a format that has no such thing; analyzers of one format only (ELF hardening, the PE
load configuration) narrow to the concrete reader with ``isinstance`` and use its typed members, never the
pefile or pyelftools objects underneath. Readers are lazy and bounded: they read only what is asked, and never trust
a count or offset without checking it against the file size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Literal, NamedTuple

from depfree.dataclass import dataclass
from depfree.errors import InputError
from depfree.formats.strings import Window
from depfree.sources.file import ByteSource

if TYPE_CHECKING:  # the PE and Mach-O readers import them; reading an ELF file makes none (issue 23)
    from depfree.details import MachoDetails, PeDetails

ByteOrder = Literal["little", "big"]  # what int.from_bytes takes

# Bounds that keep hostile headers from making us allocate or loop without end.
MAX_READ = 256 * 1024 * 1024


def max_symbols(default: int) -> int:
    """How many symbols a reader reads at most: ``DEPFREE_MAX_SYMBOLS`` in the environment, else ``default``
    (docs/limits.md)."""
    import os

    raw = os.environ.get("DEPFREE_MAX_SYMBOLS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


class Section(NamedTuple):
    name: str
    addr: int
    offset: int  # file offset, relative to the start of the file (not the slice)
    size: int  # size in memory
    file_size: int  # bytes present in the file (0 for .bss-like sections)
    executable: bool = False
    writable: bool = False
    alloc: bool = True
    compressed: bool = False


class Segment(NamedTuple):
    kind: str  # "load" for loadable segments; format-specific otherwise (e.g. ELF PT_* names)
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    readable: bool = True
    writable: bool = False
    executable: bool = False


class Symbol(NamedTuple):
    name: str
    value: int
    size: int
    section: str | None = None
    kind: str = ""  # func | object | ...


@dataclass(frozen=True)
class Note:
    """One ELF note: owner, NT_* number (its meaning depends on the owner: GNU 1 ABI tag, 3 build ID; Go 4 build ID),
    descriptor bytes, and the section it came from (None when read from a PT_NOTE segment)."""

    owner: str
    type: int
    desc: bytes
    section: str | None


# One dynamic symbol: (name, defined here, version index); version index 0/1 = unversioned. Tuples, not objects: a
# /usr/bin scan reads ~300,000 of them.
DynamicSymbolEntry = tuple[str, bool, int]


class Executable(ABC):
    """One executable image (one slice of a universal Mach-O)."""

    format: str  # elf | pe | macho
    arch: str  # Go-style: amd64, 386, arm64, arm, riscv64, ppc64le, s390x, mips, mipsle, mips64, loong64...
    os: str  # linux, windows, darwin, freebsd, ... or "unknown"
    bits: int
    endian: ByteOrder
    type: str
    slice: str | None = None
    osabi: str | None = None  # ELF EI_OSABI as pyelftools names it (ELFOSABI_SYSV ...); None for other formats
    machine: str | None = None  # the header's machine name: EM_X86_64, IMAGE_FILE_MACHINE_0x8664, CPU_TYPE_0x1000007

    def __init__(self, source: ByteSource, base: int = 0, length: int | None = None) -> None:
        self.source = source
        self.path = source.name
        self.base = base  # where this image starts in the file (universal Mach-O slices)
        self.length = source.size - base if length is None else length

    # --- raw bytes -------------------------------------------------------------------------------------------
    def read_file(self, offset: int, length: int) -> bytes:
        """Bytes at a file offset relative to this image; short or empty past the end, never an exception."""
        if offset < 0 or length <= 0 or offset >= self.length:
            return b""
        length = min(length, self.length - offset, MAX_READ)
        return self.source.read_at(self.base + offset, length)

    def window(self, offset: int, length: int) -> Window:
        """The bytes :meth:`read_file` gives for the same arguments, where they lie in the mapped file (no copy);
        read into memory when the file cannot be mapped (some FUSE file systems refuse mmap)."""
        if offset < 0 or length <= 0 or offset >= self.length:
            return Window(b"", 0, 0)
        length = min(length, self.length - offset, MAX_READ)
        try:
            view = self.source.view()
        except InputError:
            raw = self.source.read_at(self.base + offset, length)
            return Window(raw, 0, len(raw))
        return Window(view, self.base + offset, self.base + offset + length)

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        """File offset (relative to this image) of ``needle`` between ``start`` and ``end``, or -1. Searches the
        mapped file in place, without copying it."""
        return self._search(needle, start, end, last=False)

    def rfind(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        """:meth:`find` from the end: the offset of the last ``needle`` between ``start`` and ``end``, or -1."""
        return self._search(needle, start, end, last=True)

    def _search(self, needle: bytes, start: int, end: int | None, last: bool) -> int:
        end = self.length if end is None else min(end, self.length)
        start = max(0, start)
        if start >= end:  # also keeps offsets from hostile headers (>= 2**63) out of mmap.find
            return -1
        view = self.source.view()
        i = (view.rfind if last else view.find)(needle, self.base + start, self.base + end)
        return i - self.base if i >= 0 else -1

    # --- structure -------------------------------------------------------------------------------------------
    @abstractmethod
    def sections(self) -> list[Section]: ...

    @abstractmethod
    def segments(self) -> list[Segment]: ...

    @property
    @abstractmethod
    def entry(self) -> int: ...

    def section(self, name: str) -> Section | None:
        return self._sections_by_name.get(name)

    @cached_property
    def section_names(self) -> str:
        """Every section's name after a NUL (``"\\0.interp\\0.text…"``; a name is a C string, it holds none): the
        names searched by one pattern instead of a Python loop over the sections (issue 23)."""
        return "".join(["\0" + s.name for s in self.sections()])

    @cached_property
    def _sections_by_name(self) -> dict[str, Section]:
        out: dict[str, Section] = {}
        for s in self.sections():
            out.setdefault(s.name, s)
        return out

    def section_data(self, name: str, limit: int = MAX_READ) -> bytes | None:
        """The file bytes of a section (None if absent). Compressed sections are returned as stored."""
        s = self.section(name)
        if s is None:
            return None
        return self.read_file(s.offset, min(s.file_size, limit))

    def _mapping(self, vaddr: int) -> tuple[int, int] | None:
        """(file offset, bytes from there to the end of the mapping) of a virtual address: the loadable segment that
        maps it, else a section (object files have no segments); None if unmapped."""
        for seg in self.segments():
            if seg.kind == "load" and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return seg.offset + (vaddr - seg.vaddr), seg.vaddr + seg.filesz - vaddr
        for s in self.sections():
            if s.file_size and s.addr and s.addr <= vaddr < s.addr + s.file_size:
                return s.offset + (vaddr - s.addr), s.addr + s.file_size - vaddr
        return None

    def vaddr_to_offset(self, vaddr: int) -> int | None:
        """The file offset (relative to this image) a virtual address is read from; None if unmapped."""
        hit = self._mapping(vaddr)
        return hit[0] if hit is not None else None

    def offset_to_vaddr(self, offset: int) -> int | None:
        """The virtual address a file offset is mapped at (the inverse of :meth:`vaddr_to_offset`); None if unmapped."""
        for seg in self.segments():
            if seg.kind == "load" and seg.offset <= offset < seg.offset + seg.filesz:
                return seg.vaddr + (offset - seg.offset)
        for s in self.sections():
            if s.file_size and s.addr and s.offset <= offset < s.offset + s.file_size:
                return s.addr + (offset - s.offset)
        return None

    def read_at(self, vaddr: int, length: int) -> bytes:
        """Bytes at a virtual address, from the loadable segment that maps it (else a section); b"" if unmapped."""
        hit = self._mapping(vaddr)
        if hit is None:
            return b""
        offset, available = hit
        return self.read_file(offset, min(length, MAX_READ, available))

    def data_start(self) -> int | None:
        """Where to start looking for Go's build info blob (the writable data); None if there is no such place."""
        return None

    # --- symbols ---------------------------------------------------------------------------------------------
    def iter_symbols(self) -> Iterator[Symbol]:
        """The static symbol table (empty when stripped). Readers override this."""
        return iter(())

    def symbol_names(self) -> list[str]:
        """The names of the static symbol table (readers may override this with a faster way)."""
        return [s.name for s in self.iter_symbols() if s.name]

    @cached_property
    def _symbol_index(self) -> dict[str, Symbol]:
        return {s.name: s for s in self.iter_symbols()}

    def symbol(self, name: str) -> Symbol | None:
        return self._symbol_index.get(name)

    def expect_symbols(self, names: Iterable[str]) -> None:
        """A hint, not a question: :meth:`symbol` may be asked ``names`` (the analyzers' names, given by the
        pipeline before they run). A reader that can look many names up in the time of one does so on the first
        of them; the answers are the same either way."""
        return None

    def dynamic_symbols(self) -> list[str]:
        """Names of imported/dynamic symbols (ELF .dynsym undefined, PE imports, Mach-O undefined)."""
        return []

    @property
    def has_symbol_table(self) -> bool:
        """Whether a static symbol table with entries is present (ELF .symtab, PE COFF symbols, Mach-O LC_SYMTAB)."""
        return False

    @property
    def dynamic_symbol_entries(self) -> list[DynamicSymbolEntry]:
        """Every dynamic symbol with whether it is defined here and its version index (ELF .dynsym); [] elsewhere."""
        return []

    # --- loading ---------------------------------------------------------------------------------------------
    @property
    def interpreter(self) -> str | None:
        """The program interpreter the file names (ELF PT_INTERP); None when it names none."""
        return None

    @property
    def needed(self) -> list[str]:
        """The libraries the loader loads for it, in file order: ELF DT_NEEDED, PE DLLs, Mach-O dylibs."""
        return []

    @property
    def rpath(self) -> list[str]:
        """Library search paths it carries: ELF DT_RPATH, Mach-O LC_RPATH."""
        return []

    @property
    def runpath(self) -> list[str]:
        """ELF DT_RUNPATH (searched after LD_LIBRARY_PATH, unlike DT_RPATH)."""
        return []

    def notes(self) -> list[Note]:
        """ELF notes (SHT_NOTE sections or PT_NOTE segments); [] for formats without notes."""
        return []

    # --- format details ----------------------------------------------------------------------------------------
    def details(self) -> PeDetails | MachoDetails | None:
        """The report's ``pe`` or ``macho`` part, read from the headers; None for ELF."""
        return None
