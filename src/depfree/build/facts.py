"""The static facts of one built binary that the matrix shows and ``depfree diff`` compares.

Everything comes from the public analysis API (:func:`depfree.api.binary_facts` with the requested targets, so each
target's verdict is the judge's) and the size analysis, both reading one parse of the file and one set of its Go
tables (:class:`~depfree.analysis.gotables.GoTables`); on top of that, the per-section digests and the absolute
source paths the Go file table embeds, which explain why two builds differ.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from depfree.analysis.context import Options
from depfree.analysis.gotables import GoTables
from depfree.analysis.pipeline import sha256_of
from depfree.analysis.size import SizeReport, size_of
from depfree.api import binary_facts
from depfree.dataclass import dataclass, field
from depfree.errors import FormatError
from depfree.formats.base import Executable
from depfree.formats.detect import open_executables
from depfree.model import Binary
from depfree.model import to_json as model_json
from depfree.sources.file import FileSource

MAX_PATHS = 200


@dataclass
class Section:
    name: str
    size: int  # bytes in the file (0 for .bss-like sections)
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass
class Facts:
    path: str
    binary: Binary
    size: SizeReport
    sections: list[Section] = field(default_factory=list)
    source_paths: list[str] = field(default_factory=list)  # absolute .go paths in the file table
    source_files: int = 0  # entries in the Go file table

    def to_json(self) -> dict[str, Any]:
        b, link, go = self.binary, self.binary.linkage, self.binary.go
        top = [s for s in link.glibc_symbols if link.min_glibc and s.version == f"GLIBC_{link.min_glibc}"]
        h = model_json(b.hardening) or {}
        return {
            "path": self.path, "size": b.size, "sha256": b.sha256, "type": b.type,
            "size_by_module": [p.to_json() for p in self.size.modules],
            "linkage": {"kind": link.kind, "interpreter": link.interpreter, "needed": list(link.needed),
                        "libc": link.libc.flavour, "min_glibc": link.min_glibc,
                        "min_glibc_symbols": [s.symbol for s in top]},
            "go": None if go is None else {
                "version": go.version, "cgo": go.cgo, "cgo_enabled": getattr(go, "cgo_enabled", None),
                "cgo_evidence": [model_json(e) for e in go.cgo_evidence],
                "settings": dict(go.settings)},
            "hardening": {k: h.get(k) for k in ("pie", "nx", "relro", "canary", "fortify", "bind_now") if k in h},
            "debug": b.debug.stripped if b.debug else None,
            "source_paths": len(self.source_paths), "source_files": self.source_files,
        }


def _sections(exe: Executable) -> list[Section]:
    out = []
    for s in exe.sections():
        if not s.name:
            continue
        size = s.file_size if 0 <= s.offset < exe.length else 0
        size = min(size, max(0, exe.length - s.offset))
        data = exe.read_file(s.offset, size) if size else b""
        out.append(Section(s.name, size, hashlib.sha256(data).hexdigest()))
    return out


def _go_files(tables: GoTables) -> list[str]:
    tab = tables.pclntab
    if tab is None:
        return []
    try:
        return tab.file_names()
    except (FormatError, ValueError, IndexError):
        return []


def facts_of(path: str | os.PathLike[str], targets: list[str] | None = None,
             targets_file: str | None = None, *, digests: bool = True) -> Facts:
    """Facts for the (single-image) binary at ``path``; a universal Mach-O contributes its first slice. The file is
    opened and parsed once, and its Go tables read once, for the API's facts and the size breakdown alike.
    ``digests=False`` leaves out the per-section digests, which only a diff reads (the matrix shows none)."""
    path = os.fspath(path)
    options = Options(targets=targets, targets_file=targets_file)
    with FileSource(path) as src:
        exe = next(iter(open_executables(src)))
        tables = GoTables(exe)
        binary = binary_facts(exe, options, path, sha256_of(src) if options.hash else None, tables=tables)
        files = _go_files(tables)
        return Facts(path=path, binary=binary, size=size_of(exe, path, tables=tables),
                     sections=_sections(exe) if digests else [],
                     source_paths=sorted({f for f in files if f.startswith("/")})[:MAX_PATHS],
                     source_files=len(files))


def source_dirs(paths: list[str], goroot: str | None = None) -> list[str]:
    """The directories of absolute source paths, GOROOT's own files folded into ``$GOROOT``."""
    dirs: set[str] = set()
    for p in paths:
        if goroot and p.startswith(goroot.rstrip("/") + "/"):
            dirs.add("$GOROOT")
        else:
            dirs.add(os.path.dirname(p))
    return sorted(dirs)
