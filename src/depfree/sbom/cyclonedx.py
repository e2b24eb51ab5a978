"""The SBOM as CycloneDX 1.6 JSON or XML, written and validated by cyclonedx-python-lib (never by hand).

The library keeps every collection of its model (components, properties, dependencies) in a sorted set whose order
comes from Python-level comparison tuples rebuilt on each comparison; a bulk assignment hashes the items into a set
and sorts them again. So the model is filled item by item in the library's own order (:func:`_order`), which costs
each insertion one comparison, and every component has one shared leaf ``Dependency`` however many edges point to
it. The document is the same as with a naive construction; only the number of comparisons, hashes and
intermediate objects falls (bench/RESULTS.md, the sbom section)."""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from xml.dom.minidom import parseString  # nosec B408 - our own document, as the library parses it

from cyclonedx.contrib.bom.utils import BomRefDiscriminator
from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentScope, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.output.xml import XmlV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema.schema import SCHEMA_VERSIONS
from packageurl import PackageURL

from depfree.sbom.model import Component, Sbom

TYPES = {"application": ComponentType.APPLICATION, "library": ComponentType.LIBRARY, "file": ComponentType.FILE,
         "container": ComponentType.CONTAINER, "operating-system": ComponentType.OPERATING_SYSTEM}
T = TypeVar("T")


def _order(c: Component) -> tuple[str, str, tuple[int, str], str]:
    """Where cyclonedx-python-lib's ``Component.__lt__`` puts ``c`` among the components of one document: by type,
    group (none here), name, version (a missing one last), then bom-ref, which is unique and decides. A wrong key
    would only cost comparisons: the sorted set orders by the library's own comparison whatever the order of
    insertion."""
    return TYPES[c.kind].value, c.name, (0, c.version) if c.version else (1, ""), c.ref


def _component(c: Component) -> CdxComponent:
    comp = CdxComponent(
        name=c.name, type=TYPES[c.kind], bom_ref=c.ref, version=c.version or None,
        description=c.description or None, purl=PackageURL.from_string(c.purl) if c.purl else None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=c.sha256)] if c.sha256 else None,
        scope=ComponentScope.REQUIRED if c.required else None)
    _add_sorted(comp.properties.add, (Property(name=n, value=v) for n, v in sorted(c.properties)))
    return comp


def _add_sorted(add: Callable[[T], None], items: Iterator[T]) -> None:
    """Items already in the sorted set's order, one at a time (see the module's docstring)."""
    for item in items:
        add(item)


def _register_once(bom: Bom, registered: set[str]) -> None:
    """The writers validate a Bom first, and validation registers every component again with
    ``Bom.register_dependency``, which finds each entry by a linear scan: quadratic, a minute for an image of ten
    thousand binaries. A component already registered with no new dependencies needs nothing (what that lookup ends
    in), so this Bom answers that case from the set of references :func:`to_bom` registered in one pass."""
    # The Bom is held weakly and the library's method taken from the class: a bound method in the Bom's own
    # attribute would be a reference cycle that keeps the whole model (~280,000 objects for the bench image) alive
    # after writing, until a garbage collection walks it all.
    original = type(bom).register_dependency
    this = weakref.ref(bom)

    def register_dependency(target: Any, depends_on: Any = None) -> None:
        if not depends_on and target.bom_ref.value in registered:
            return
        owner = this()
        assert owner is not None  # (called by the Bom's own validation)
        original(owner, target, depends_on)

    bom.register_dependency = register_dependency  # type: ignore[method-assign]


def to_bom(sbom: Sbom) -> Bom:
    root = _component(sbom.root)
    meta = BomMetaData(component=root, timestamp=sbom.timestamp)
    meta.tools.components.add(CdxComponent(name="depfree", type=ComponentType.APPLICATION,
                                           version=sbom.tool_version, bom_ref="tool:depfree"))
    bom = Bom(serial_number=uuid.UUID(sbom.serial.removeprefix("urn:uuid:")), metadata=meta)
    comps = {sbom.root.ref: root}
    for c in sorted(sbom.components, key=_order):
        comps[c.ref] = _component(c)
        bom.components.add(comps[c.ref])
    targets: dict[str, set[str]] = {ref: set() for ref in comps}
    for e in sbom.edges:
        targets[e.source].add(e.target)
    # The graph as Bom.register_dependency would record it (every component an entry, its direct dependencies
    # under it), built in one pass: register_dependency looks each target up linearly, quadratic in an image.
    # Entries and their dependencies are ordered by bom-ref, the library's order for them (refs are unique).
    leaf = {ref: Dependency(ref=comp.bom_ref) for ref, comp in comps.items()}
    for source in sorted(targets):
        entry = Dependency(ref=comps[source].bom_ref)
        _add_sorted(entry.dependencies.add, (leaf[r] for r in sorted(targets[source])))
        bom.dependencies.add(entry)
    _register_once(bom, set(targets))
    return bom


class _FlatGraphJson(JsonV1Dot6):
    """The library's JSON 1.6 outputter for a Bom whose dependency graph is flat already (:func:`to_bom` gives every
    component one entry listing its direct dependencies). ``JsonV1Dot6.generate`` flattens and merges the graph
    first (``BomDependencyGraphFlatMerger``: a new ``Dependency`` and sorted set for every entry and edge), a no-op
    on a flat graph that costs a third of the writing; this ``generate`` is the library's without that step: the
    Bom's own validation, the bom-ref discriminator, its py-serializable JSON, the same header. tests/test_sbom.py
    checks the text is byte-identical to ``JsonV1Dot6``'s."""

    def generate(self, force_regeneration: bool = False) -> None:
        if self.generated and not force_regeneration:
            return
        bom = self.get_bom()
        bom.validate()
        with BomRefDiscriminator.from_bom(bom):
            data = json.loads(bom.as_json(view_=SCHEMA_VERSIONS[self.schema_version_enum]))  # type: ignore[attr-defined]
        data.update({"$schema": self._get_schema_uri(), "bomFormat": "CycloneDX",
                     "specVersion": self.schema_version.to_version()})
        self._bom_json = data
        self.generated = True


class _UnlinkedXml(XmlV1Dot6):
    """The library's XML 1.6 outputter, whose pretty-printed text is its ``minidom`` re-parse written out, that
    DOM unlinked afterwards: a minidom tree is a web of parent/child reference cycles that only a garbage
    collection frees (~330,000 objects for the bench image, 0.2 s of collecting), while unlinked it goes by
    reference counting. The same calls as ``XmlV1Dot6.output_as_string`` otherwise; tests/test_sbom.py checks the
    text is byte-identical to it."""

    def output_as_string(self, *, indent: int | str | None = None, **kwargs: Any) -> str:
        if indent is None:
            return super().output_as_string(**kwargs)
        self.generate()
        dom = parseString(self._bom_xml)
        try:
            return dom.toprettyxml(indent=" " * indent if isinstance(indent, int) else indent)
        finally:
            dom.unlink()


def to_json(sbom: Sbom) -> str:
    return _FlatGraphJson(to_bom(sbom)).output_as_string(indent=2) + "\n"


def to_xml(sbom: Sbom) -> str:
    return _UnlinkedXml(to_bom(sbom)).output_as_string(indent=2) + "\n"


def validate(text: str, xml: bool = False) -> list[str]:
    """Schema errors of a CycloneDX 1.6 document (empty: valid), by the library's own validators."""
    if xml:
        from cyclonedx.validation.xml import XmlValidator

        xml_error = XmlValidator(SchemaVersion.V1_6).validate_str(text)
        return [] if xml_error is None else [str(xml_error)]
    from cyclonedx.validation.json import JsonStrictValidator

    json_error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return [] if json_error is None else [str(json_error)]
