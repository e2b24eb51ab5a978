"""The SBOM as CycloneDX 1.6 JSON or XML, written and validated by cyclonedx-python-lib (never by hand)."""

from __future__ import annotations

import uuid
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentScope, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.output.xml import XmlV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from depfree.sbom.model import Component, Sbom

TYPES = {"application": ComponentType.APPLICATION, "library": ComponentType.LIBRARY, "file": ComponentType.FILE,
         "container": ComponentType.CONTAINER, "operating-system": ComponentType.OPERATING_SYSTEM}


def _component(c: Component) -> CdxComponent:
    return CdxComponent(
        name=c.name, type=TYPES[c.kind], bom_ref=c.ref, version=c.version or None,
        description=c.description or None, purl=PackageURL.from_string(c.purl) if c.purl else None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=c.sha256)] if c.sha256 else None,
        scope=ComponentScope.REQUIRED if c.required else None,
        properties=[Property(name=n, value=v) for n, v in c.properties])


def _register_once(bom: Bom, registered: set[str]) -> None:
    """The writers validate a Bom first, and validation registers every component again with
    ``Bom.register_dependency``, which finds each entry by a linear scan: quadratic, a minute for an image of ten
    thousand binaries. A component already registered with no new dependencies needs nothing (what that lookup ends
    in), so this Bom answers that case from the set of references :func:`to_bom` registered in one pass."""
    original = bom.register_dependency

    def register_dependency(target: Any, depends_on: Any = None) -> None:
        if not depends_on and target.bom_ref.value in registered:
            return
        original(target, depends_on)

    bom.register_dependency = register_dependency  # type: ignore[method-assign]


def to_bom(sbom: Sbom) -> Bom:
    root = _component(sbom.root)
    meta = BomMetaData(component=root, timestamp=sbom.timestamp)
    meta.tools.components.add(CdxComponent(name="depfree", type=ComponentType.APPLICATION,
                                           version=sbom.tool_version, bom_ref="tool:depfree"))
    bom = Bom(serial_number=uuid.UUID(sbom.serial.removeprefix("urn:uuid:")), metadata=meta)
    comps = {sbom.root.ref: root}
    for c in sbom.components:
        comps[c.ref] = _component(c)
        bom.components.add(comps[c.ref])
    targets: dict[str, set[str]] = {ref: set() for ref in comps}
    for e in sbom.edges:
        targets[e.source].add(e.target)
    # The graph as Bom.register_dependency would record it (every component an entry, its direct dependencies
    # under it), built in one pass: register_dependency looks each target up linearly, quadratic in an image.
    bom.dependencies = [Dependency(ref=comps[source].bom_ref, dependencies=[Dependency(ref=comps[r].bom_ref)
                                                                             for r in refs])
                        for source, refs in targets.items()]
    _register_once(bom, set(targets))
    return bom


def to_json(sbom: Sbom) -> str:
    return JsonV1Dot6(to_bom(sbom)).output_as_string(indent=2) + "\n"


def to_xml(sbom: Sbom) -> str:
    return XmlV1Dot6(to_bom(sbom)).output_as_string(indent=2) + "\n"


def validate(text: str, xml: bool = False) -> list[str]:
    """Schema errors of a CycloneDX 1.6 document (empty: valid), by the library's own validators."""
    if xml:
        from cyclonedx.validation.xml import XmlValidator

        err = XmlValidator(SchemaVersion.V1_6).validate_str(text)
    else:
        from cyclonedx.validation.json import JsonStrictValidator

        err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return [] if err is None else [str(err)]
