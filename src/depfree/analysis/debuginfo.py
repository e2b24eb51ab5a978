"""Debug information: what `-s`, `-w`, `strip` or section-header removal left in the binary, in the Go flags' words."""

from __future__ import annotations

import re

from depfree.analysis.context import Context
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.formats.strings import cstring_at
from depfree.model import Evidence
from depfree.model_hardening import Debug, EvidenceMap

GO_BUILD_ID_MARK = b'\xff Go build ID: "'
# a DWARF section's name in Executable.section_names: .debug_*, .zdebug_* (ELF), __debug_*, __zdebug_* (Mach-O)
_DWARF_NAME = re.compile("\0((?:\\.|__)z?debug_[^\0]*)")


def analyze_debug(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
    ev: EvidenceMap = {}
    symtab = exe.has_symbol_table
    if exe.format == "macho":
        # LC_SYMTAB also holds the imported (undefined) symbols dyld binds, which `go build -ldflags=-s` and `strip`
        # keep: the table is stripped when no symbol is defined in the file itself (mach-o/nlist.h N_UNDF).
        if symtab:
            kinds = [s.kind for s in exe.iter_symbols()]
            defined = sum(1 for k in kinds if k != "undefined")
            symtab = defined > 0
            ev["symtab"] = [Evidence("load-command", "LC_SYMTAB",
                                     f"{defined} defined, {len(kinds) - defined} undefined symbols")]
    dwarf_sections = _DWARF_NAME.findall(exe.section_names)  # (in table order)
    dwarf = bool(dwarf_sections)
    compressed = dwarf and (any(n.startswith((".zdebug", "__zdebug")) for n in dwarf_sections) or any(
        s.compressed for s in exe.sections() if s.name.startswith(".debug_")))
    out = Debug(symtab=symtab, dwarf=dwarf, dwarf_compressed=compressed, dwarf_sections=dwarf_sections[:20],
                section_headers=bool(exe.sections()), evidence=ev)
    if isinstance(exe, ElfExecutable):
        _elf_ids(exe, out)
    if out.go_build_id is None and b.go is not None:
        _go_build_id_from_text(exe, out)
    out.stripped = _stripped_words(out, b.go is not None)
    ctx.binary.debug = out


def _elf_ids(exe: ElfExecutable, out: Debug) -> None:
    """The GNU and Go build IDs from the notes, and the separate debug file .gnu_debuglink names."""
    for note in exe.notes():
        if note.owner == "GNU" and note.type == 3:  # NT_GNU_BUILD_ID
            out.build_id = note.desc.hex()
            out.evidence["build_id"] = [Evidence("note", "NT_GNU_BUILD_ID", note.section or "PT_NOTE")]
        elif note.owner == "Go" and note.type == 4:  # Go's ELF_NOTE_GOBUILDID_TAG (cmd/link)
            out.go_build_id = note.desc.decode("utf-8", "replace")
            out.evidence["go_build_id"] = [Evidence("note", ".note.go.buildid", note.section or "PT_NOTE")]
    link = exe.section_data(".gnu_debuglink", limit=4096)
    if link:
        out.debuglink = cstring_at(link)
        out.evidence["debuglink"] = [Evidence("section", ".gnu_debuglink", out.debuglink)]


def _go_build_id_from_text(exe: Executable, out: Debug) -> None:
    """The Go build ID the linker writes at the start of the text section (PE, Mach-O, ELF without the note)."""
    text = next((s for s in exe.sections() if s.executable and s.file_size), None)
    raw = exe.read_file(text.offset if text else 0, 4096)
    i = raw.find(GO_BUILD_ID_MARK)
    if i >= 0:
        end = raw.find(b'"', i + len(GO_BUILD_ID_MARK))
        if end > 0:
            out.go_build_id = raw[i + len(GO_BUILD_ID_MARK) : end].decode("utf-8", "replace")
            out.evidence["go_build_id"] = [Evidence("string", "Go build ID", "start of the text section")]


def _stripped_words(d: Debug, is_go: bool) -> str:
    if not d.section_headers:
        return "section headers removed (sstrip-like): only the program headers remain"
    if d.symtab and d.dwarf:
        return "not stripped: symbol table and DWARF present"
    if d.symtab and not d.dwarf:
        return ("DWARF removed, symbol table kept (go build -ldflags=-w)" if is_go
                else "DWARF removed, symbol table kept (strip --strip-debug / -g0)")
    if not d.symtab and d.dwarf:
        return "symbol table removed, DWARF kept"
    how = "go build -ldflags='-s -w', or strip" if is_go else "strip (or -s at link time)"
    extra = f"; debug info split off to {d.debuglink}" if d.debuglink else ""
    return f"fully stripped: no symbol table, no DWARF ({how}){extra}"
