"""The SBOM as CycloneDX 1.6 JSON or XML, written and validated by cyclonedx-python-lib (never by hand)."""

from __future__ import annotations

import uuid

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentScope, ComponentType
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
    targets: dict[str, list[str]] = {}
    for e in sbom.edges:
        targets.setdefault(e.source, []).append(e.target)
    for source, refs in sorted(targets.items()):
        bom.register_dependency(comps[source], [comps[r] for r in sorted(set(refs))])
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
