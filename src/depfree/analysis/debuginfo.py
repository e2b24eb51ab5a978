"""Debug information: what `-s`, `-w`, `strip` or section-header removal left in the binary, in the Go flags' words."""

from __future__ import annotations

from typing import Any

from depfree.analysis.context import Context
from depfree.formats.strings import cstring_at
from depfree.model import Evidence, to_json

GO_BUILD_ID_MARK = b'\xff Go build ID: "'


def analyze_debug(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
    names = [s.name for s in exe.sections()]
    ev: dict[str, Any] = {}
    symtab = exe.has_symbol_table
    if exe.format == "macho":
        # LC_SYMTAB also holds the imported (undefined) symbols dyld binds, which `go build -ldflags=-s` and `strip`
        # keep: the table is stripped when no symbol is defined in the file itself (mach-o/nlist.h N_UNDF).
        if symtab:
            kinds = [s.kind for s in exe.iter_symbols()]
            defined = sum(1 for k in kinds if k != "undefined")
            symtab = defined > 0
            ev["symtab"] = [to_json(Evidence("load-command", "LC_SYMTAB",
                                             f"{defined} defined, {len(kinds) - defined} undefined symbols"))]
    dwarf_sections = [n for n in names if n.startswith((".debug_", ".zdebug_", "__debug_", "__zdebug_"))]
    dwarf = bool(dwarf_sections)
    compressed = any(n.startswith((".zdebug", "__zdebug")) for n in dwarf_sections) or any(
        s.compressed for s in exe.sections() if s.name.startswith(".debug_"))
    out: dict[str, Any] = {"symtab": symtab, "dwarf": dwarf, "dwarf_compressed": compressed if dwarf else False,
                           "dwarf_sections": dwarf_sections[:20], "build_id": None, "go_build_id": None,
                           "debuglink": None, "section_headers": bool(names)}
    if exe.format == "elf":
        for note in exe.notes():
            if note.owner == "GNU" and note.type == 3:  # NT_GNU_BUILD_ID
                out["build_id"] = note.desc.hex()
                ev["build_id"] = [to_json(Evidence("note", "NT_GNU_BUILD_ID", note.section or "PT_NOTE"))]
            elif note.owner == "Go" and note.type == 4:  # Go's ELF_NOTE_GOBUILDID_TAG (cmd/link)
                out["go_build_id"] = note.desc.decode("utf-8", "replace")
                ev["go_build_id"] = [to_json(Evidence("note", ".note.go.buildid", note.section or "PT_NOTE"))]
        link = exe.section_data(".gnu_debuglink", limit=4096)
        if link:
            out["debuglink"] = cstring_at(link)
            ev["debuglink"] = [to_json(Evidence("section", ".gnu_debuglink", out["debuglink"]))]
    if out["go_build_id"] is None and b.go is not None:
        text = next((s for s in exe.sections() if s.executable and s.file_size), None)
        start = text.offset if text else 0
        raw = exe.read_file(start, 4096)
        i = raw.find(GO_BUILD_ID_MARK)
        if i >= 0:
            end = raw.find(b'"', i + len(GO_BUILD_ID_MARK))
            if end > 0:
                out["go_build_id"] = raw[i + len(GO_BUILD_ID_MARK) : end].decode("utf-8", "replace")
                ev["go_build_id"] = [to_json(Evidence("string", "Go build ID", "start of the text section"))]
    out["stripped"] = _stripped_words(out, b.go is not None)
    out["evidence"] = ev
    ctx.binary.debug = out


def _stripped_words(d: dict[str, Any], is_go: bool) -> str:
    if not d["section_headers"]:
        return "section headers removed (sstrip-like): only the program headers remain"
    if d["symtab"] and d["dwarf"]:
        return "not stripped: symbol table and DWARF present"
    if d["symtab"] and not d["dwarf"]:
        return ("DWARF removed, symbol table kept (go build -ldflags=-w)" if is_go
                else "DWARF removed, symbol table kept (strip --strip-debug / -g0)")
    if not d["symtab"] and d["dwarf"]:
        return "symbol table removed, DWARF kept"
    how = "go build -ldflags='-s -w', or strip" if is_go else "strip (or -s at link time)"
    extra = f"; debug info split off to {d['debuglink']}" if d.get("debuglink") else ""
    return f"fully stripped: no symbol table, no DWARF ({how}){extra}"
