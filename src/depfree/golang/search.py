"""Validated signature searches for Go structures when section names and symbols are gone.

A signature alone proves nothing (any file can contain ``f1 ff ff ff 00 00``); every hit must pass the structural
checks of the thing it claims to be before it is believed:

- the pclntab: magic + pad + quantum + pointer size, then a header whose sub-table offsets increase inside the file,
  a function table whose entries increase and whose function data offsets stay inside, and printable names
  (:func:`depfree.golang.pclntab.validate`);
- ``runtime.buildVersion``: a ``go1.N…`` string in read-only data that a Go string header (pointer, length) in
  writable data points at with exactly its length — the way the linker writes that variable
  (``cmd/link/internal/ld/main.go`` ``addstrdata1(ctxt, "runtime.buildVersion="+buildVersion)``).
"""

from __future__ import annotations

import re

from depfree.formats.base import ByteOrder, Executable
from depfree.golang.pclntab import MAGICS, Pclntab, PclntabError, header_at, validate

MAX_HITS = 4096  # signature hits examined before giving up (hostile files full of magics)
VERSION_RE = re.compile(rb"(?:devel )?go1\.\d{1,3}(?:\.\d{1,3})?(?:(?:rc|beta)\d{1,3})?(?:[ -][\x20-\x7e]{0,200})?")
MAX_VERSION_LEN = 256
PREFILTER = b"runtime.goexit\0"
# Section names only the gc linker writes (cmd/link/internal/ld/data.go, elf.go).
GC_SECTION_PREFIXES = (".go.", ".note.go.", ".noptrdata", ".noptrbss", ".typelink", ".itablink", "go:")
# a name starting with one of them, or holding gopclntab / gosymtab, in Executable.section_names
_GC_SECTION_NAME = re.compile("\0(?:" + "|".join(map(re.escape, GC_SECTION_PREFIXES)) + ")|gopclntab|gosymtab")


def pclntab_signatures() -> list[bytes]:
    """Magic + the two zero pad bytes, newest layout first, little-endian first (the common case)."""
    out = []
    for magic in reversed(list(MAGICS)):
        orders: tuple[ByteOrder, ...] = ("little", "big")
        for order in orders:
            out.append(magic.to_bytes(4, order) + b"\0\0")
    return out


def search_pclntab(exe: Executable) -> Pclntab | None:
    """A pclntab somewhere in the image that passes every check, or None. Read-only data is searched first.

    A file without the name of the runtime function every gc Go program has (``runtime.goexit``, the return
    address of every goroutine) is not searched further: one scan instead of eight on large non-Go files. An ELF
    whose section headers are intact and show nothing of Go is not scanned at all (see :func:`could_be_go`)."""
    if not could_be_go(exe) or exe.find(PREFILTER) < 0:
        return None
    ro = [(o, o + n) for o, n, _ in _ranges(exe, writable=False)]
    areas = ro + [(0, exe.length)]
    seen = 0
    for sig in pclntab_signatures():
        for start, end in areas:
            pos = start
            while seen < MAX_HITS:
                i = exe.find(sig, pos, end)
                if i < 0:
                    break
                seen += 1
                pos = i + 1
                try:
                    tab = header_at(exe, i)
                    validate(tab)
                except PclntabError:
                    continue
                tab.found_by = "search"
                tab.addr = exe.offset_to_vaddr(i)
                return tab
    return None


def could_be_go(exe: Executable) -> bool:
    """False only for an ELF with section headers and no trace of the gc linker in them: none of its section names
    (``.go.*``, ``.note.go.*``, ``.noptrdata``, ``.typelink``…), no ``*gopclntab``/``*gosymtab``, no "Go" note. The gc linker writes ``.note.go.buildid`` and
    ``.go.*`` sections into every ELF it links (cmd/link/internal/ld/elf.go), and removing them means editing the
    section table by hand; without section headers, or for PE and Mach-O, the search decides."""
    if exe.format != "elf" or not exe.sections():
        return True
    if _GC_SECTION_NAME.search(exe.section_names):
        return True
    return any(note.owner == "Go" for note in exe.notes())


def _ranges(exe: Executable, writable: bool) -> list[tuple[int, int, int]]:
    """(file offset, file size, vaddr) of loadable segments that are (not) writable, non-executable ones first;
    sections when there are no segments."""
    segs = [(s.executable, s.offset, s.filesz, s.vaddr) for s in exe.segments()
            if s.kind == "load" and s.filesz and s.writable == writable]
    if not segs:
        segs = [(s.executable, s.offset, s.file_size, s.addr) for s in exe.sections()
                if s.alloc and s.file_size and s.addr and s.writable == writable]
    segs.sort()
    return [(o, n, v) for _x, o, n, v in segs]


def search_build_version(exe: Executable, ptr_size: int, order: ByteOrder) -> tuple[str, int] | None:
    """(version, address of the string header) of ``runtime.buildVersion``, found by a validated search."""
    data = _ranges(exe, writable=True)
    if not data:
        return None
    seen = 0
    for off, size, vaddr in _ranges(exe, writable=False):
        for needle in (b"go1.", b"devel go1."):
            pos = off
            while seen < MAX_HITS:
                i = exe.find(needle, pos, off + size)
                if i < 0:
                    break
                seen += 1
                pos = i + 1
                if needle == b"go1." and exe.read_file(i - 6, 6) == b"devel ":
                    continue  # found again through its "devel " prefix
                hit = _pointed_at(exe, vaddr + (i - off), i, data, ptr_size, order)
                if hit is not None:
                    return hit
    return None


def _pointed_at(exe: Executable, addr: int, file_off: int, data: list[tuple[int, int, int]], ptr_size: int,
                order: ByteOrder) -> tuple[str, int] | None:
    needle = addr.to_bytes(ptr_size, order)
    for doff, dsize, dvaddr in data:
        pos = doff
        for _ in range(64):
            j = exe.find(needle, pos, doff + dsize)
            if j < 0:
                break
            pos = j + 1
            if (j - doff) % ptr_size:
                continue
            length = int.from_bytes(exe.read_file(j + ptr_size, ptr_size), order)
            if not 4 <= length <= MAX_VERSION_LEN:
                continue
            text = exe.read_file(file_off, length)
            if len(text) == length and VERSION_RE.fullmatch(text):
                return text.decode("ascii"), dvaddr + (j - doff)
    return None
