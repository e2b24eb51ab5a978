"""The format-neutral view of an executable that the Go layer and the analyzers use.

Modelled on the small ``exe`` interface of Go's ``debug/buildinfo``: read bytes at a virtual address, list sections and
segments, find where data starts, know format/arch/os. Format-specific details live on the concrete readers.
Readers are lazy and bounded: they read only what is asked, and never trust a count or offset without checking it
against the file size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from depfree.sources.file import ByteSource

ByteOrder = Literal["little", "big"]  # what int.from_bytes takes

# Bounds that keep hostile headers from making us allocate or loop without end.
MAX_READ = 256 * 1024 * 1024


def max_symbols(default: int) -> int:
    """How many symbols a reader reads at most: ``DEPFREE_MAX_SYMBOLS`` in the environment, else ``default``
    (docs/limits.md)."""
    import os

    raw = os.environ.get("DEPFREE_MAX_SYMBOLS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int  # file offset, relative to the start of the file (not the slice)
    size: int  # size in memory
    file_size: int  # bytes present in the file (0 for .bss-like sections)
    executable: bool = False
    writable: bool = False
    alloc: bool = True
    compressed: bool = False


@dataclass(frozen=True)
class Segment:
    kind: str  # "load" for loadable segments; format-specific otherwise (e.g. ELF PT_* names)
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    readable: bool = True
    writable: bool = False
    executable: bool = False


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    section: str | None = None
    kind: str = ""  # func | object | ...


class Executable(ABC):
    """One executable image (one slice of a universal Mach-O)."""

    format: str  # elf | pe | macho
    arch: str  # Go-style: amd64, 386, arm64, arm, riscv64, ppc64le, s390x, mips, mipsle, mips64, loong64...
    os: str  # linux, windows, darwin, freebsd, ... or "unknown"
    bits: int
    endian: ByteOrder
    type: str
    slice: str | None = None

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

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        """File offset (relative to this image) of ``needle`` between ``start`` and ``end``, or -1. Searches the
        mapped file in place, without copying it."""
        end = self.length if end is None else min(end, self.length)
        start = max(0, start)
        if start >= end:  # also keeps offsets from hostile headers (>= 2**63) out of bytes.find
            return -1
        i = self.source.view().find(needle, self.base + start, self.base + end)
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

    def read_at(self, vaddr: int, length: int) -> bytes:
        """Bytes at a virtual address, from the loadable segment that maps it (else a section); b"" if unmapped."""
        length = min(length, MAX_READ)
        for seg in self.segments():
            if seg.kind == "load" and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                n = min(length, seg.vaddr + seg.filesz - vaddr)
                return self.read_file(seg.offset + (vaddr - seg.vaddr), n)
        for s in self.sections():
            if s.file_size and s.addr and s.addr <= vaddr < s.addr + s.file_size:
                n = min(length, s.addr + s.file_size - vaddr)
                return self.read_file(s.offset + (vaddr - s.addr), n)
        return b""

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

    def dynamic_symbols(self) -> list[str]:
        """Names of imported/dynamic symbols (ELF .dynsym undefined, PE imports, Mach-O undefined)."""
        return []
