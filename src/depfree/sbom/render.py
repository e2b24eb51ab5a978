"""One entry point per output format: ``render(sbom, fmt)`` and ``validate_text(text, fmt)``."""

from __future__ import annotations

from collections.abc import Callable

from depfree.sbom import cyclonedx, spdx
from depfree.sbom.model import Sbom

WRITERS: dict[str, Callable[[Sbom], str]] = {
    "cyclonedx-json": cyclonedx.to_json,
    "cyclonedx-xml": cyclonedx.to_xml,
    "spdx-json": spdx.to_json,
    "spdx-tv": spdx.to_tag_value,
}


def render(sbom: Sbom, fmt: str) -> str:
    return WRITERS[fmt](sbom)


def validate_text(text: str, fmt: str) -> list[str]:
    """The format library's validation errors for a document of ``fmt`` (empty: valid)."""
    if fmt.startswith("cyclonedx"):
        return cyclonedx.validate(text, xml=fmt == "cyclonedx-xml")
    return spdx.validate(text, tag_value=fmt == "spdx-tv")
