"""The SBOM as typed data, independent of the output format: components, the dependency graph, the document's
identity. ``cyclonedx.py`` and ``spdx.py`` write it; ``diff.py`` compares two of them."""

from __future__ import annotations

from datetime import datetime

from depfree.dataclass import dataclass, field

# Component kinds (CycloneDX component types; SPDX primary package purposes follow from them).
APPLICATION, LIBRARY, FILE, CONTAINER, OPERATING_SYSTEM = "application", "library", "file", "container", \
    "operating-system"


@dataclass
class Component:
    """One thing in the SBOM. ``ref`` is unique in the document and stable for the same input; ``key`` identifies
    the same thing across releases (a module path, a library name, a binary's path in its package) for ``--diff``.
    ``properties`` are (name, value) pairs in the ``cdx:gomod`` and ``depfree`` namespaces."""

    ref: str
    kind: str
    name: str
    key: str
    version: str = ""
    purl: str | None = None
    sha256: str | None = None
    required: bool = False  # a runtime need of a binary (CycloneDX scope: required)
    description: str = ""
    properties: list[tuple[str, str]] = field(default_factory=list)

    def prop(self, name: str) -> list[str]:
        return [v for n, v in self.properties if n == name]


@dataclass
class Edge:
    """``source`` depends on ``target``; ``how`` is contains | links-static | links-dynamic | interpreter."""

    source: str
    target: str
    how: str


@dataclass
class Sbom:
    root: Component
    components: list[Component]
    edges: list[Edge]
    serial: str  # urn:uuid:…, derived from the content
    timestamp: datetime | None  # from SOURCE_DATE_EPOCH, else the time of the run
    tool_version: str
    errors: list[str] = field(default_factory=list)

    def by_ref(self) -> dict[str, Component]:
        return {c.ref: c for c in [self.root, *self.components]}
