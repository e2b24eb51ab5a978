"""The ELF reader as one :class:`~depfree.formats.base.Executable`: header and segments (``header.py``), the dynamic
section (``dynamic.py``), symbol tables (``symbols.py``) and notes (``notes.py``), plus the identity facts that need
several of them (the OS, the file type)."""

from __future__ import annotations

from functools import cached_property

from depfree.formats.elf.notes import ElfNotes
from depfree.formats.elf.symbols import ElfSymbols

_OSABI = {
    "ELFOSABI_FREEBSD": "freebsd", "ELFOSABI_NETBSD": "netbsd", "ELFOSABI_OPENBSD": "openbsd",
    "ELFOSABI_SOLARIS": "solaris", "ELFOSABI_AIX": "aix", "ELFOSABI_LINUX": "linux", "ELFOSABI_GNU": "linux",
}
_NOTE_OWNER_OS = {"OpenBSD": "openbsd", "NetBSD": "netbsd", "FreeBSD": "freebsd", "Android": "android"}
# NT_GNU_ABI_TAG os field (glibc's csu/abi-note): 0 Linux, 1 Hurd, 2 Solaris, 3 FreeBSD
_ABI_TAG_OS = {0: "linux", 1: "hurd", 2: "solaris", 3: "freebsd"}
_E_TYPES = {"ET_EXEC": "exec", "ET_REL": "relocatable", "ET_CORE": "core"}
DF_1_PIE = 0x08000000


class ElfExecutable(ElfSymbols, ElfNotes):
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
            if note.owner in _NOTE_OWNER_OS:
                return _NOTE_OWNER_OS[note.owner]
        tag = self.abi_tag
        if tag is not None:
            return _ABI_TAG_OS.get(tag[0], "unknown")
        return "linux" if self.osabi in ("ELFOSABI_SYSV", "ELFOSABI_LINUX", "ELFOSABI_GNU") else "unknown"

    @cached_property
    def type(self) -> str:  # type: ignore[override]
        t = self.header.e_type
        if t in _E_TYPES:
            return _E_TYPES[str(t)]
        if t == "ET_DYN":
            if self.interpreter is not None or self.flags_1 & DF_1_PIE:
                return "pie"
            if self.soname is None and self.entry and not self.needed and self.has_dynamic:
                return "pie"  # static-pie: relocates itself, no loader, no libraries
            return "shared"
        return str(t).removeprefix("ET_").lower()
