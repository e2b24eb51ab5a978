"""One entry point per output format: ``render(sbom, fmt)`` and ``validate_text(text, fmt)``. Each format's
library is imported only when that format is written (spdx-tools is not loaded to write CycloneDX, nor the other
way round)."""

from __future__ import annotations

import gc
import importlib
import threading
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


# The modules each writer imports (its format library: ~0.1-0.2 s), which :func:`preload` imports ahead.
MODULES: dict[str, tuple[str, ...]] = {
    "cyclonedx-json": ("depfree.sbom.cyclonedx",),
    "cyclonedx-xml": ("depfree.sbom.cyclonedx", "xml.dom.expatbuilder"),  # (minidom's parser, imported when used)
    "spdx-json": ("depfree.sbom.spdx", "spdx_tools.spdx.writer.json.json_writer"),
    "spdx-tv": ("depfree.sbom.spdx", "spdx_tools.spdx.writer.tagvalue.tagvalue_writer"),
}


def preload(fmt: str) -> threading.Thread | None:
    """Import the library that writes ``fmt`` in a daemon thread, so that the import overlaps a scan whose main
    process mostly waits for its workers (``depfree sbom`` starts it once the scan's worker processes exist: no
    fork follows it). An import that fails here fails again, with its message, where the writer imports it."""
    names = MODULES.get(fmt)
    if not names:
        return None

    def load() -> None:
        try:
            for name in names:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001, S110 - the writer's own import reports it
            pass

    thread = threading.Thread(target=load, name=f"depfree-preload-{fmt}", daemon=True)
    thread.start()
    return thread


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


@contextmanager
def fewer_collections(threshold: int = 100_000) -> Iterator[None]:
    """Python's cyclic garbage collector run every ``threshold`` allocations instead of every 700 while an SBOM's
    scan runs: the scan's results and the SBOM model hold no reference cycles (~560 objects of cyclic garbage in
    the whole run for an image of 1,400 binaries), so its collections (three full ones that walk every object the
    process holds, 0.3-0.4 s for that image: bench/RESULTS.md) find nothing; a young collection still comes every
    ``threshold`` allocations, so cyclic garbage stays bounded in a long run. The thresholds are restored after."""
    from depfree.scan.engine import GcThreshold

    raised = GcThreshold(threshold, older=(30, 30))
    try:
        yield
    finally:
        raised.restore()


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
