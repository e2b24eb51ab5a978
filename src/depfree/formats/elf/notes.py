"""ELF notes: SHT_NOTE sections, or PT_NOTE segments when the section headers are gone; NT_GNU_ABI_TAG."""

from __future__ import annotations

import struct
from functools import cached_property

from depfree.formats.base import Note
from depfree.formats.elf.header import SHT_NOTE, ElfImage
from depfree.formats.strings import fixed_name

MAX_NOTES = 1000
NT_GNU_ABI_TAG = 1


class ElfNotes(ElfImage):
    @cached_property
    def _notes(self) -> list[Note]:
        """Owner, numeric type and raw descriptor bytes of each note. A damaged note ends the walk of its section;
        notes are supporting evidence only."""
        areas: list[tuple[int, int, str | None]] = []
        if self._sections_ok:
            areas = [(h.offset, h.size, h.name) for h in self._section_headers if h.type == SHT_NOTE]
        else:
            areas = [(seg.offset, seg.filesz, None) for seg in self.segments() if seg.kind == "PT_NOTE"]
        out: list[Note] = []
        for off, size, name in areas:
            raw = self.read_file(off, min(size, 1 << 20))
            pos = 0
            while pos + 12 <= len(raw) and len(out) < MAX_NOTES:
                namesz, descsz, ntype = struct.unpack_from(self._fmt + "III", raw, pos)
                name_end = pos + 12 + ((namesz + 3) & ~3)
                desc_end = name_end + ((descsz + 3) & ~3)
                if name_end > len(raw) or name_end + descsz > len(raw):
                    break
                owner = fixed_name(raw[pos + 12 : pos + 12 + namesz])
                out.append(Note(owner, ntype, raw[name_end : name_end + descsz], name))
                pos = desc_end
        return out

    def notes(self) -> list[Note]:
        return self._notes

    @cached_property
    def abi_tag(self) -> tuple[int, int, int, int] | None:
        """NT_GNU_ABI_TAG: (os, major, minor, subminor) — the minimum kernel glibc's crt was built for."""
        for n in self._notes:
            if n.owner == "GNU" and n.type == NT_GNU_ABI_TAG and len(n.desc) >= 16:
                os_, major, minor, sub = struct.unpack_from(self._fmt + "IIII", n.desc)
                return os_, major, minor, sub
        return None
