"""What makes a binary big: bytes by section, by Go package and by module, and what changed between two builds.

- sections: the file bytes of each section (``.bss``-like sections take none); what no section covers (headers,
  padding) is reported as ``(headers and padding)``, so the parts sum to the file size exactly;
- packages: each Go function's extent in the pclntab function table (next entry minus this entry) added to its
  package (see :func:`depfree.analysis.gopackages.owner_packages`); works on stripped binaries;
- modules: code by module (``std``, the main module, each dependency, ``C`` for C and cgo code — in a cgo binary,
  also the text that no Go function covers), then runtime metadata by section (``pclntab``, ``symtab``, ``DWARF``) and ``other`` for the
  rest (read-only data, type data, data, headers), so modules also sum to the file size.
"""

from __future__ import annotations

from typing import Any

from depfree.analysis import size_regions
from depfree.analysis.context import Context, Options
from depfree.analysis.golang import analyze_go
from depfree.analysis.gotables import GoTables
from depfree.analysis.identity import identity
from depfree.analysis.size_regions import attribute
from depfree.dataclass import dataclass, field
from depfree.formats.base import Executable
from depfree.model import Evidence, to_json

SCHEMA = "depfree.size/1"
UNCOVERED = "(headers and padding)"
UNMAPPED = "(outside loadable segments: headers, symbols, debug info)"


@dataclass
class Part:
    name: str
    size: int
    kind: str = ""
    label: str = ""  # what a category is, in words (modules only)
    evidence: list[Evidence] = field(default_factory=list)
    module: str | None = None  # the Go module of a package

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.kind:
            out["kind"] = self.kind
        if self.module:
            out["module"] = self.module
        if self.label:
            out["label"] = self.label
        out["size"] = self.size
        if self.evidence:
            out["evidence"] = to_json(self.evidence)
        return out


@dataclass
class SizeReport:
    path: str
    size: int
    sections: list[Part] = field(default_factory=list)
    packages: list[Part] = field(default_factory=list)
    modules: list[Part] = field(default_factory=list)
    slice: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size}
        if self.slice:
            out["slice"] = self.slice
        out["sections"] = [p.to_json() for p in self.sections]
        out["packages"] = [p.to_json() for p in self.packages]
        out["modules"] = [p.to_json() for p in self.modules]
        return out


def section_parts(exe: Executable) -> list[Part]:
    """File bytes per section, overlaps removed (a byte counts once), plus what no section covers."""
    spans = sorted((s.offset, s.offset + s.file_size, s.name) for s in exe.sections()
                   if s.file_size > 0 and s.offset < exe.length)
    if not spans:  # no section headers: the loadable segments instead
        for i, seg in enumerate(exe.segments()):
            if seg.kind != "load" or seg.filesz <= 0:
                continue
            perm = ("r" if seg.readable else "-") + ("w" if seg.writable else "-") + ("x" if seg.executable else "-")
            spans.append((seg.offset, seg.offset + seg.filesz, f"segment {i} ({perm})"))
        spans.sort()
    sizes: dict[str, int] = {}
    covered = 0
    pos = 0
    for start, end, name in spans:
        end = min(end, exe.length)
        start = max(start, pos)
        if end <= start:
            continue
        sizes[name] = sizes.get(name, 0) + end - start
        covered += end - start
        pos = end
    parts = [Part(n, s) for n, s in sizes.items()]
    if exe.length - covered > 0:
        parts.append(Part(UNCOVERED if exe.sections() else UNMAPPED, exe.length - covered))
    parts.sort(key=lambda p: (-p.size, p.name))
    return parts


def size_of(exe: Executable, display_path: str | None = None, *, tables: GoTables | None = None) -> SizeReport:
    """The size breakdown of ``exe``; ``tables``: its Go tables when another analysis of it reads them too."""
    binary = identity(exe, display_path or exe.path, "")
    ctx = Context(exe=exe, binary=binary, options=Options(deep=True))
    if tables is not None:
        ctx.go = tables
    analyze_go(ctx)
    report = SizeReport(path=display_path or exe.path, size=exe.length, slice=exe.slice)
    report.sections = section_parts(exe)
    pkgs = [p for p in ctx.go.packages(binary.go) if p.size > 0] if binary.go is not None and binary.go.compiler == "gc" else []
    report.packages = [Part(p.path, p.size, p.kind, module=p.module) for p in pkgs]
    modules: dict[str, int] = {}
    code = 0
    for p in pkgs:
        key = "C" if p.kind == "cgo" else (p.module or p.path)
        modules[key] = modules.get(key, 0) + p.size
        code += p.size
    md = ctx.go.moduledata if pkgs else None
    att = attribute(exe, md, ctx.go.pclntab, binary.go.version if binary.go else None)
    parts = dict(att.sizes)
    text = parts.pop(size_regions.TEXT, 0)
    c_text = 0
    if pkgs and text > code and binary.go is not None and binary.go.cgo:
        modules["C"] = modules.get("C", 0) + text - code  # text no Go function covers: C code, linked in by cgo
        c_text = text - code
        code = text
    accounted = sum(modules.values())
    if accounted > exe.length:  # function extents past the text (hostile tables): never claim more than the file
        scale = exe.length / accounted
        modules = {k: int(v * scale) for k, v in modules.items()}
        accounted = sum(modules.values())
    if text > code:
        parts[size_regions.TEXT] = text - code
    # the categories fill what the code leaves; with hostile function tables the code may claim more than .text
    over = max(0, sum(parts.values()) + accounted - exe.length)
    counts: dict[str, list[int]] = {}
    for p in pkgs:
        c = counts.setdefault("C" if p.kind == "cgo" else (p.module or p.path), [0, 0])
        c[0] += 1
        c[1] += p.functions
    result = [Part(k, v, "module", evidence=[Evidence("function", f"{counts[k][1]:,} functions in {counts[k][0]:,} "
                                                      "packages", "extents in the pclntab function table")]
                   if k in counts else []) for k, v in modules.items()]
    for part in result:
        if part.name == "C" and c_text:
            part.evidence.append(Evidence("function", "code no Go function covers",
                                          f"{c_text:,} bytes of the text (cgo links C in)"))
    for key, n in parts.items():
        if over and key != size_regions.OTHER:
            take = min(over, n)
            n, over = n - take, over - take
        if n > 0:
            result.append(Part(key, n, "unexplained" if key == size_regions.OTHER else "category",
                               size_regions.label(key), att.evidence_for(key)))
    report.modules = sorted(result, key=lambda p: (-p.size, p.name))
    return report


def _delta(old: list[Part], new: list[Part]) -> list[dict[str, Any]]:
    a = {p.name: p for p in old}
    b = {p.name: p for p in new}
    rows: list[dict[str, Any]] = []
    for name in a.keys() | b.keys():
        o = a[name].size if name in a else 0
        n = b[name].size if name in b else 0
        if o != n:
            rows.append({"name": name, "old": o, "new": n, "delta": n - o})
    rows.sort(key=lambda r: (-abs(r["delta"]), r["name"]))
    return rows


def diff(old: SizeReport, new: SizeReport) -> dict[str, Any]:
    return {"old": old.path, "new": new.path, "size": {"old": old.size, "new": new.size, "delta": new.size - old.size},
            "sections": _delta(old.sections, new.sections), "packages": _delta(old.packages, new.packages),
            "modules": _delta(old.modules, new.modules)}

