"""One entry point per output format: ``render(sbom, fmt)`` and ``validate_text(text, fmt)``. Each format's
library is imported only when that format is written (spdx-tools is not loaded to write CycloneDX, nor the other
way round)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from depfree.sbom.model import Sbom


def _cyclonedx_json(sbom: Sbom) -> str:
    from depfree.sbom import cyclonedx

    return cyclonedx.to_json(sbom)


def _cyclonedx_xml(sbom: Sbom) -> str:
    from depfree.sbom import cyclonedx

    return cyclonedx.to_xml(sbom)


def _spdx_json(sbom: Sbom) -> str:
    from depfree.sbom import spdx

    return spdx.to_json(sbom)


def _spdx_tv(sbom: Sbom) -> str:
    from depfree.sbom import spdx

    return spdx.to_tag_value(sbom)


WRITERS: dict[str, Callable[[Sbom], str]] = {
    "cyclonedx-json": _cyclonedx_json,
    "cyclonedx-xml": _cyclonedx_xml,
    "spdx-json": _spdx_json,
    "spdx-tv": _spdx_tv,
}


@contextmanager
def no_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a format library builds and writes its model. The models are
    trees of tens of thousands of small objects without cycles (reference counting frees them when the writer
    returns), and every collection their allocations trigger walks each object the process holds, the scan results
    included: a third of cyclonedx-python-lib's writing time on an image of 1,400 binaries (bench/RESULTS.md)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def render(sbom: Sbom, fmt: str) -> str:
    with no_collection():
        return WRITERS[fmt](sbom)


def validate_text(text: str, fmt: str) -> list[str]:
    """The format library's validation errors for a document of ``fmt`` (empty: valid)."""
    if fmt.startswith("cyclonedx"):
        from depfree.sbom import cyclonedx

        return cyclonedx.validate(text, xml=fmt == "cyclonedx-xml")
    from depfree.sbom import spdx

    return spdx.validate(text, tag_value=fmt == "spdx-tv")
