"""The ``sbom --format html`` page's rows, from the same :class:`~depfree.sbom.model.Sbom` the CycloneDX and SPDX
writers are given: one row per component (the root first) with its role, name, version, purl, sha256 and path,
what links it, and a binary's needs (minimum glibc, runtime files, kernel, CPU) with their evidence."""

from __future__ import annotations

from depfree.dataclass import dataclass, field
from depfree.sbom.model import Component, Sbom

ROLES = ("root", "container", "image", "wheel", "deb", "os", "binary", "go main module", "go module",
         "go stdlib", "library", "interpreter")
NEED_PREFIX = "depfree:needs."


@dataclass
class Need:
    what: str
    text: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Row:
    i: int
    ref: str
    role: str
    name: str
    version: str
    purl: str
    sha256: str
    path: str
    owner: str  # the dpkg package that owns the file, when known
    used_by: list[str]
    needs: list[Need]
    properties: list[tuple[str, str]]


def role(c: Component, is_root: bool) -> str:
    ref, props = c.ref, dict(c.properties)
    if ref == "sbom-root":
        return "root"
    if ref.startswith("container:"):
        if c.kind == "container":
            return "image"
        if c.purl and c.purl.startswith("pkg:pypi/"):
            return "wheel"
        if c.purl and c.purl.startswith("pkg:deb/"):
            return "deb"
        return "container"
    if ref.startswith("os:"):
        return "os"
    if ref.startswith("file:"):
        return "binary"
    if ref.startswith("go:stdlib@"):
        return "go stdlib"
    if ref.startswith("go:"):
        return "go main module" if props.get("depfree:go.role") == "main" else "go module"
    if ref.startswith("needs:"):
        return "interpreter" if props.get("depfree:role") == "interpreter" else "library"
    return "root" if is_root else c.kind


def _needs(c: Component) -> list[Need]:
    out: list[Need] = []
    glibc = c.prop("depfree:min_glibc")
    if glibc:
        out.append(Need("min glibc", f"GLIBC_{glibc[0]}", c.prop("depfree:min_glibc.evidence")))
    for name, value in c.properties:
        if name.startswith(NEED_PREFIX):
            text, ev = value, []
            if value.endswith("]") and " [" in value:
                text, _, rest = value.rpartition(" [")
                ev = [e for e in rest[:-1].split("; ") if e]
            out.append(Need(name[len(NEED_PREFIX):], text, ev))
    return out


def sbom_view(sbom: Sbom) -> dict[str, object]:
    comps = [sbom.root, *sbom.components]
    names = {c.ref: c.name for c in comps}
    used: dict[str, list[str]] = {}
    for e in sbom.edges:
        if e.how != "contains":
            used.setdefault(e.target, []).append(f"{names.get(e.source, e.source)} ({e.how})")
    rows = []
    for i, c in enumerate(comps):
        props = c.prop("depfree:path")
        dpkg = c.prop("depfree:dpkg.package")
        rows.append(Row(i=i, ref=c.ref, role=role(c, i == 0), name=c.name, version=c.version, purl=c.purl or "",
                        sha256=c.sha256 or "", path=props[0] if props else "", owner=dpkg[0] if dpkg else "",
                        used_by=sorted(set(used.get(c.ref, []))), needs=_needs(c), properties=c.properties))
    present = {r.role for r in rows}
    counts = {r: sum(1 for x in rows if x.role == r) for r in ROLES if r in present}
    return {"rows": rows, "roles": counts, "root": rows[0]}
