"""ELF reader: pyelftools for the names of header, segment and dynamic-tag values; small struct loops for the tables
(pyelftools' construct parsing of those cost most of a /usr/bin scan, and they must also work when section headers
are gone). One concern per module: ``header`` (ELF header, segments, sections), ``dynamic`` (PT_INTERP, PT_DYNAMIC,
version needs), ``symbols`` (.dynsym, .symtab), ``notes``; ``executable`` puts them together."""

from depfree.formats.base import Note
from depfree.formats.elf.dynamic import VersionNeed
from depfree.formats.elf.executable import ElfExecutable
from depfree.formats.elf.header import ElfHeader, SectionHeader

__all__ = ["ElfExecutable", "ElfHeader", "Note", "SectionHeader", "VersionNeed"]
