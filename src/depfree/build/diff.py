"""What differs between two binaries, and why, in Go terms.

The comparison is section by section (size and sha256 of each section's bytes), then the facts: NEEDED, minimum
glibc, Go version and build settings, module dependencies, build IDs, the absolute source directories of the Go file
table, and size by module. :func:`explain` turns the differences into causes a Go developer acts on: embedded absolute
paths (use ``-trimpath``), VCS stamping (``vcs.*`` settings; ``-buildvcs=false``), cgo's temporary work directory in
the C objects, ``-buildid`` and other flags, another toolchain — each naming the sections that carry it.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import Any

from depfree.analysis.size import diff as size_diff
from depfree.build.facts import Facts, facts_of, source_dirs
from depfree.dataclass import dataclass, field
from depfree.sources.file import FileSource

SCHEMA = "depfree.diff/1"
_CGO_WORK = re.compile(rb"/[\w./-]*?go-build\d+")
MAX_SCAN = 256 << 20  # bytes of one section searched for paths


@dataclass
class Cause:
    code: str  # identical | embedded-paths | vcs-stamping | cgo-work-dir | build-settings | build-id | toolchain | ...
    message: str
    sections: list[str] = field(default_factory=list)  # where the difference lives

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "sections": self.sections}


@dataclass
class BinaryDiff:
    a: Facts
    b: Facts
    sections: list[dict[str, Any]] = field(default_factory=list)  # only the sections that differ
    facts: dict[str, Any] = field(default_factory=dict)
    size: dict[str, Any] = field(default_factory=dict)
    causes: list[Cause] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.a.binary.sha256 == self.b.binary.sha256

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "a": self.a.path, "b": self.b.path, "identical": self.identical,
                "sha256": {"a": self.a.binary.sha256, "b": self.b.binary.sha256},
                "size": {"a": self.a.binary.size, "b": self.b.binary.size}, "sections": self.sections,
                "facts": self.facts, "size_by_module": self.size.get("modules", []),
                "causes": [c.to_json() for c in self.causes]}


def _section_diff(a: Facts, b: Facts) -> list[dict[str, Any]]:
    sa, sb = {s.name: s for s in a.sections}, {s.name: s for s in b.sections}
    out = []
    for name in list(dict.fromkeys([*sa, *sb])):
        x, y = sa.get(name), sb.get(name)
        if x and y and x.sha256 == y.sha256:
            continue
        status = "only in a" if y is None else "only in b" if x is None else "differs"
        out.append({"name": name, "status": status, "size_a": x.size if x else None, "size_b": y.size if y else None})
    return out


def _changed(old: Any, new: Any) -> dict[str, Any] | None:
    return None if old == new else {"a": old, "b": new}


def _fact_diff(a: Facts, b: Facts) -> dict[str, Any]:
    la, lb, ga, gb = a.binary.linkage, b.binary.linkage, a.binary.go, b.binary.go
    dba, dbb = a.binary.debug, b.binary.debug
    out: dict[str, Any] = {}
    for key, x, y in (("linkage", la.kind, lb.kind), ("interpreter", la.interpreter, lb.interpreter),
                      ("min_glibc", la.min_glibc, lb.min_glibc), ("libc", la.libc.flavour, lb.libc.flavour),
                      ("go_version", ga and ga.version, gb and gb.version), ("cgo", ga and ga.cgo, gb and gb.cgo),
                      ("go_build_id", dba and dba.go_build_id, dbb and dbb.go_build_id),
                      ("gnu_build_id", dba and dba.build_id, dbb and dbb.build_id),
                      ("stripped", dba and dba.stripped, dbb and dbb.stripped)):
        ch = _changed(x, y)
        if ch:
            out[key] = ch
    na, nb = set(la.needed), set(lb.needed)
    if na != nb:
        out["needed"] = {"only_a": sorted(na - nb), "only_b": sorted(nb - na)}
    sa, sb = (ga.settings if ga else {}), (gb.settings if gb else {})
    settings = {k: {"a": sa.get(k), "b": sb.get(k)} for k in dict.fromkeys([*sa, *sb]) if sa.get(k) != sb.get(k)}
    if settings:
        out["settings"] = settings
    da = {m.path: m.version for m in (ga.deps if ga else [])}
    db = {m.path: m.version for m in (gb.deps if gb else [])}
    deps = {k: {"a": da.get(k), "b": db.get(k)} for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)}
    if deps:
        out["deps"] = deps
    pa, pb = set(source_dirs(a.source_paths)), set(source_dirs(b.source_paths))
    if pa != pb:
        out["source_dirs"] = {"only_a": sorted(pa - pb), "only_b": sorted(pb - pa)}
    return out


def _section_bytes(path: str, names: list[str]) -> dict[str, bytes]:
    """The bytes of the named sections, SHF_COMPRESSED ones (zlib, as the Go linker writes DWARF) inflated, each
    capped at MAX_SCAN."""
    from depfree.formats.detect import open_executables

    wanted, out = set(names), {}
    with FileSource(path) as src:
        exe = next(iter(open_executables(src)))
        for s in exe.sections():
            if s.name not in wanted or not s.file_size or s.offset >= exe.length:
                continue
            data = exe.read_file(s.offset, min(s.file_size, MAX_SCAN))
            if s.compressed and exe.format == "elf":
                data = _inflate(data, exe.bits, exe.endian)
            out[s.name] = data
    return out


def _inflate(data: bytes, bits: int, endian: str) -> bytes:
    """An ELF compressed section: Elf32/64_Chdr then the stream; zlib inflated up to MAX_SCAN, anything else as is."""
    order = "<" if endian == "little" else ">"
    fmt, size = (f"{order}IIQQ", 24) if bits == 64 else (f"{order}III", 12)
    if data.startswith(b"ZLIB"):  # the older .zdebug_* form: "ZLIB", 8-byte big-endian size, the stream
        start = 12
    elif len(data) >= size and struct.unpack_from(fmt, data)[0] == 1:  # Elf_Chdr, ELFCOMPRESS_ZLIB
        start = size
    else:
        return data
    try:
        return zlib.decompressobj().decompress(data[start:], MAX_SCAN)
    except zlib.error:
        return data


def _sections_holding(data: dict[str, bytes], needles: list[bytes]) -> list[str]:
    """The sections whose bytes contain any of ``needles``."""
    return [name for name, b in data.items() if any(n and n in b for n in needles)]


def _cgo_work_dirs(data: dict[str, bytes]) -> dict[bytes, list[str]]:
    found: dict[bytes, list[str]] = {}
    for name, b in data.items():
        for m in set(_CGO_WORK.findall(b)):
            found.setdefault(m, []).append(name)
    return found


@dataclass
class _Seen:
    """What the cause finders read: the fact differences, the changed sections in file order, their bytes in each
    file, and the two build directories when known."""

    facts: dict[str, Any]
    changed: list[str]
    data_a: dict[str, bytes]
    data_b: dict[str, bytes]
    dirs: list[str]

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.facts.get("settings", {})
        return settings


def _toolchain(s: _Seen) -> list[Cause]:
    v = s.facts.get("go_version")
    return [Cause("toolchain", f"built by different Go toolchains: {v['a']} and {v['b']}")] if v else []


def _vcs(s: _Seen) -> list[Cause]:
    vcs = {k: v for k, v in s.settings.items() if k.startswith("vcs")}
    if not vcs:
        return []
    return [Cause("vcs-stamping", "VCS stamping: " + ", ".join(
        f"{k} {v['a'] or '(unset)'} vs {v['b'] or '(unset)'}" for k, v in vcs.items())
        + " — build from the same commit and a clean tree, or with -buildvcs=false", [".go.buildinfo"])]


def _settings(s: _Seen) -> list[Cause]:
    out = []
    for k, v in s.settings.items():
        if k.startswith("vcs"):
            continue
        hint = " (a -buildid flag sets the build ID by hand)" if k == "-ldflags" and "-buildid" in (
            f"{v['a']} {v['b']}") else ""
        out.append(Cause("build-settings", f"build setting {k}: {v['a'] or '(unset)'} vs {v['b'] or '(unset)'}"
                         + hint, [".go.buildinfo"]))
    return out


def _c_side(s: _Seen) -> list[Cause]:
    f = s.facts
    linkage = [k for k in ("linkage", "interpreter", "libc", "min_glibc", "needed") if k in f]
    if not linkage or "CGO_ENABLED" in s.settings:
        return []
    parts = []
    for k in linkage:
        v = f[k]
        if k == "needed":
            parts.append("NEEDED " + ", ".join([f"+{n}" for n in v["only_b"]] + [f"-{n}" for n in v["only_a"]]))
        else:
            parts.append(f"{k} {v['a'] or '-'} vs {v['b'] or '-'}")
    return [Cause("c-toolchain", "the C side differs: " + "; ".join(parts) + " — another C compiler or "
                  "C library (CC and the sysroot are not recorded in the Go build info)",
                  [x for x in (".interp", ".dynamic", ".dynstr", ".gnu.version_r") if x in s.changed])]


def _deps(s: _Seen) -> list[Cause]:
    deps = s.facts.get("deps")
    if not deps:
        return []
    return [Cause("dependencies", "module dependencies differ: " + ", ".join(
        f"{k} {v['a'] or '-'} vs {v['b'] or '-'}" for k, v in list(deps.items())[:5]))]


def _embedded_paths(s: _Seen) -> list[Cause]:
    known, src_dirs = s.dirs, s.facts.get("source_dirs")
    if not src_dirs and not known:
        return []
    only_a = (src_dirs or {}).get("only_a", [])
    only_b = (src_dirs or {}).get("only_b", [])
    na = [p.encode() for p in (only_a or known[:1])]
    nb = [p.encode() for p in (only_b or known[1:2])]
    where = sorted(set(_sections_holding(s.data_a, na)) | set(_sections_holding(s.data_b, nb)), key=s.changed.index)
    if not where:
        return []
    trimmed = s.settings.get("-trimpath", {})
    return [Cause("embedded-paths", "embedded absolute paths: "
                  + (", ".join(only_a or known[:1]) or "-") + " in a, "
                  + (", ".join(only_b or known[1:2]) or "-") + " in b (the Go file table and "
                  "DWARF record where each source file was compiled)"
                  + ("" if trimmed.get("a") == "true" or trimmed.get("b") == "true" else " — build with -trimpath"),
                  where)]


def _cgo_work(s: _Seen) -> list[Cause]:
    wa, wb = _cgo_work_dirs(s.data_a), _cgo_work_dirs(s.data_b)
    if set(wa) == set(wb):
        return []
    dirs_a = ", ".join(sorted(x.decode(errors="replace") for x in wa)) or "-"
    dirs_b = ", ".join(sorted(x.decode(errors="replace") for x in wb)) or "-"
    where = sorted({x for v in (*wa.values(), *wb.values()) for x in v}, key=s.changed.index)
    return [Cause("cgo-work-dir", f"cgo's temporary work directory is embedded in the C objects: "
                  f"{dirs_a[:200]} in a, {dirs_b[:200]} in b (the C compiler did not take go's "
                  "-fdebug-prefix-map=$WORK/...=/tmp/go-build; use a compiler that does, or strip DWARF "
                  "with -ldflags=-w)", where)]


def _build_id(s: _Seen) -> list[Cause]:
    ids = s.facts.get("go_build_id")
    if not ids:
        return []
    ida, idb = ids["a"] or "", ids["b"] or ""
    by_hand = [f"{w} ({i!r})" for w, i in (("a", ida), ("b", idb)) if i and "/" not in i]
    if by_hand:
        return [Cause("build-id", "Go build ID set by hand with -ldflags=-buildid=… in "
                      + " and ".join(by_hand) + " (go's own IDs are actionID/contentID hashes): the "
                      "flag alone makes the files differ", [".note.go.buildid", ".note.gnu.build-id"])]
    ia, ib = ida.split("/"), idb.split("/")
    parts = [i for i, (x, y) in enumerate(zip(ia, ib, strict=False)) if x != y]
    return [Cause("build-id", f"Go build ID: part{'s' if len(parts) > 1 else ''} "
                  f"{', '.join(str(i + 1) for i in parts)} of {len(ia)} differ (the build ID hashes the "
                  "build's inputs and output, so it changes with any cause above)", [".note.go.buildid"])]


# The cause finders, most telling first (one small function per kind of cause, like policy/rules.py's RULES).
CAUSES = (_toolchain, _vcs, _settings, _c_side, _deps, _embedded_paths, _cgo_work, _build_id)


def explain(d: BinaryDiff, dirs: tuple[str, str] | None = None) -> list[Cause]:
    """Why the two files differ, most telling cause first. ``dirs``: the two build directories, when known."""
    if d.identical:
        return [Cause("identical", "the two files are byte for byte identical")]
    changed = [s["name"] for s in d.sections]
    seen = _Seen(facts=d.facts, changed=changed, data_a=_section_bytes(d.a.path, changed),
                 data_b=_section_bytes(d.b.path, changed), dirs=[x for x in (dirs or ()) if x])
    causes = [c for find in CAUSES for c in find(seen)]
    explained = {s for c in causes for s in c.sections}
    rest = [s for s in changed if s not in explained and s != ".note.gnu.build-id"]
    if rest:
        causes.append(Cause("sections", "bytes also differ in " + ", ".join(rest[:12])
                            + (f" +{len(rest) - 12} more" if len(rest) > 12 else "")
                            + (" (the code and data follow from the causes above)" if causes else
                               " — no build setting or path explains it: different sources, flags or toolchain"),
                            rest))
    return causes


def diff_binaries(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str],
                  dirs: tuple[str, str] | None = None) -> BinaryDiff:
    a, b = facts_of(path_a), facts_of(path_b)
    d = BinaryDiff(a=a, b=b, sections=_section_diff(a, b), facts=_fact_diff(a, b), size=size_diff(a.size, b.size))
    d.causes = explain(d, dirs)
    return d
