"""The SBOM as SPDX 2.3 JSON or tag-value, built on spdx-tools' model, written by its writers and checked by
``validate_full_spdx_document``. Every component is a package (binaries and libraries too: they carry purls and
checksums, which SPDX files cannot); the graph is relationships: CONTAINS, STATIC_LINK (Go modules), DYNAMIC_LINK
(NEEDED libraries), DEPENDS_ON (the interpreter). ``depfree``/``cdx:gomod`` properties go into the package comment."""

from __future__ import annotations

import hashlib
import io
import re

from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    Checksum,
    ChecksumAlgorithm,
    CreationInfo,
    Document,
    ExternalPackageRef,
    ExternalPackageRefCategory,
    Package,
    PackagePurpose,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)

from depfree.sbom.model import Component, Sbom

PURPOSES = {"application": PackagePurpose.APPLICATION, "library": PackagePurpose.LIBRARY, "file": PackagePurpose.FILE,
            "container": PackagePurpose.CONTAINER, "operating-system": PackagePurpose.OPERATING_SYSTEM}
RELATIONS = {"contains": RelationshipType.CONTAINS, "links-static": RelationshipType.STATIC_LINK,
             "links-dynamic": RelationshipType.DYNAMIC_LINK, "interpreter": RelationshipType.DEPENDS_ON}


def spdx_id(ref: str) -> str:
    """A stable SPDX identifier (``SPDXRef-`` + letters, digits, '.' and '-') for a component reference."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "-", ref.rsplit("/", 1)[-1]).strip("-")[:40]
    return f"SPDXRef-{readable}-{hashlib.sha256(ref.encode()).hexdigest()[:12]}"


def _package(c: Component) -> Package:
    comment = "\n".join(f"{n}={v}" for n, v in c.properties) or None
    if c.required:
        comment = "required at run time" + (f"\n{comment}" if comment else "")
    return Package(
        spdx_id=spdx_id(c.ref), name=c.name, download_location=SpdxNoAssertion(), version=c.version or None,
        files_analyzed=False, checksums=[Checksum(ChecksumAlgorithm.SHA256, c.sha256)] if c.sha256 else [],
        external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c.purl)]
        if c.purl else [],
        primary_package_purpose=PURPOSES[c.kind], summary=c.description or None, comment=comment)


def to_document(sbom: Sbom) -> Document:
    uid = sbom.serial.removeprefix("urn:uuid:")
    name = re.sub(r"[^A-Za-z0-9.+_-]+", "-", sbom.root.name) or "sbom"
    assert sbom.timestamp is not None
    info = CreationInfo(spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=f"depfree sbom of {sbom.root.name}",
                        document_namespace=f"https://spdx.org/spdxdocs/depfree-{name}-{uid}",
                        creators=[Actor(ActorType.TOOL, f"depfree-{sbom.tool_version}")], created=sbom.timestamp)
    packages = [_package(sbom.root), *(_package(c) for c in sbom.components)]
    rels = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, spdx_id(sbom.root.ref))]
    for e in sbom.edges:
        rels.append(Relationship(spdx_id(e.source), RELATIONS[e.how], spdx_id(e.target),
                                 comment="program interpreter (PT_INTERP)" if e.how == "interpreter" else None))
    return Document(creation_info=info, packages=packages, relationships=rels)


def to_json(sbom: Sbom) -> str:
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    out = io.StringIO()
    write_document_to_stream(to_document(sbom), out, validate=False)
    return out.getvalue().rstrip("\n") + "\n"


def to_tag_value(sbom: Sbom) -> str:
    from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

    out = io.StringIO()
    write_document_to_stream(to_document(sbom), out, validate=False)
    return out.getvalue()


def validate(text: str, tag_value: bool = False) -> list[str]:
    """Errors spdx-tools finds in an SPDX 2.3 document (empty: valid): parsed back, then fully validated."""
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        if tag_value:
            import contextlib

            from spdx_tools.spdx.parser.tagvalue.parser import Parser

            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                doc = Parser().parse(text)  # ply reports building its tables on the standard streams
        else:
            import json

            from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

            doc = JsonLikeDictParser().parse(json.loads(text))
    except SPDXParsingError as exc:
        return [f"parse: {m}" for m in exc.get_messages()]
    return [m.validation_message for m in validate_full_spdx_document(doc, "SPDX-2.3")]
