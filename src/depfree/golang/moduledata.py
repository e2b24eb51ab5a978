"""``runtime.firstmoduledata``: the linker-written table that ties the pclntab to the text and data of the image.

Layout (GOROOT ``src/runtime/symtab.go`` ``type moduledata``, written by ``cmd/link/internal/ld/symtab.go``), stable
from Go 1.16 to 1.27 in its first 32 words: ``pcHeader`` (pointer to the pclntab header), six slices (``funcnametab,
cutab, filetab, pctab, pclntable, ftab``: pointer, length, capacity each), ``findfunctab, minpc, maxpc``, then
``text, etext, noptrdata, enoptrdata, data, edata, bss, ebss, noptrbss, enoptrbss``.

It is found without symbols by searching writable data for a word equal to the pclntab's address and checking that
the next slice points at the pclntab's name table with the right length.
"""

from __future__ import annotations

from depfree.dataclass import dataclass
from depfree.formats.base import Executable
from depfree.golang.pclntab import Pclntab

WORDS = 32
MAX_HITS = 256


@dataclass(frozen=True)
class ModuleData:
    """``runtime.firstmoduledata``: where the module's text, data and bss lie, its pc range, the pclntab's end."""

    addr: int
    text: int
    etext: int
    noptrdata: tuple[int, int]
    data: tuple[int, int]
    bss: tuple[int, int]
    noptrbss: tuple[int, int]
    minpc: int
    maxpc: int
    pclntab_end: int  # end of the pclntable slice: where the runtime's function data stops


def find_moduledata(exe: Executable, tab: Pclntab) -> ModuleData | None:
    """The moduledata pointing at ``tab`` (Go 1.16+ layouts), or None when it cannot be confirmed."""
    if tab.addr is None or tab.layout == "1.2":
        return None
    ptr, order = tab.ptr_size, tab.order
    needle = tab.addr.to_bytes(ptr, order)
    want_names = tab.addr + (tab.funcnametab - tab.offset)
    want_len = tab.cutab - tab.funcnametab
    segs = sorted((s for s in exe.segments() if s.kind == "load" and s.writable and s.filesz),
                  key=lambda s: s.offset)
    for seg in segs:
        pos = seg.offset
        for _ in range(MAX_HITS):
            i = exe.find(needle, pos, seg.offset + seg.filesz)
            if i < 0:
                break
            pos = i + 1
            if (i - seg.offset) % ptr:
                continue
            raw = exe.read_file(i, WORDS * ptr)
            if len(raw) < WORDS * ptr:
                continue
            w = [int.from_bytes(raw[k : k + ptr], order) for k in range(0, len(raw), ptr)]
            if w[1] != want_names or not want_len - 64 <= w[2] <= want_len or w[3] < w[2]:  # table padded to align
                continue
            text, etext = w[22], w[23]
            if not text <= etext:
                continue
            return ModuleData(addr=seg.vaddr + (i - seg.offset), text=text, etext=etext, noptrdata=(w[24], w[25]),
                              data=(w[26], w[27]), bss=(w[28], w[29]), noptrbss=(w[30], w[31]), minpc=w[20],
                              maxpc=w[21], pclntab_end=_pclntab_end(w))
    return None


def _pclntab_end(w: list[int]) -> int:
    """Where the pclntab area ends: after the pclntable slice, or after findfunctab (which the linker writes last
    into it: one 20-byte findfuncbucket per 4096 bytes of text, GOROOT src/runtime/symtab.go findfuncbucket)."""
    buckets = (w[21] - w[20]) // 4096 + 1 if w[21] >= w[20] else 0
    return max(w[13] + w[14], w[19] + 20 * buckets if w[19] > w[13] else 0)
