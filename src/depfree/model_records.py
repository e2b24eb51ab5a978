"""The records of a scan and of the sandbox: each scanned container (``report.containers``: its summary, .deb and
wheel facts, image layers, checksum manifests) and each sandboxed run (``binary.verify``, ``depfree verify``, the
build matrix). Importable from ``model_verdicts`` too, where they were defined before (issue 23: ``inspect`` of a
file defines none of them).
Field names and order are the JSON's (data/report.schema.json); keys the schema leaves optional are named by each
class's ``json_omit`` and are absent from the JSON when None."""

from __future__ import annotations

from typing import Any

from depfree.dataclass import dataclass, field
from depfree.model import omit_none


@dataclass
class ContainerSummary:
    """How many binaries of a container are self-contained, miss what, and have which verdict."""

    self_contained: int
    not_self_contained: int
    missing_interpreter: int
    missing_libraries: int
    missing_files: int
    ok: int
    warn: int
    fail: int


@dataclass
class DebInfo:
    """A .deb's control fields the judgement used."""

    package: str
    version: str | None
    depends: str
    pre_depends: str


@dataclass
class WheelInfo:
    """A wheel's platform tag (``container.wheel``)."""

    tag: str  # the platform tag of the wheel's PEP 427 file name


@dataclass
class LayerFacts:
    """One layer of an image as it was applied (sources/image.py): its index and blob name, size, then either why
    it was skipped (``error``) or the entries, whiteouts and opaque markers it held, and whether its blob's sha256
    matched the manifest's digest (None: no sha256 digest to check). Absent keys stay absent in the JSON."""

    layer: int
    name: str
    size: int
    error: str | None = None
    entries: int | None = None
    whiteouts: int | None = None
    opaque: int | None = None
    digest_ok: bool | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "error", "entries", "whiteouts", "opaque", "digest_ok")


@dataclass
class ImageRecord:
    """An image's name, config and layers; ``tags`` for a docker-archive, ``manifest`` (its digest) for an OCI
    layout."""

    name: str | None
    config: str | None
    layers: list[LayerFacts]
    tags: list[str] | None = None
    manifest: str | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "tags", "manifest")


@dataclass
class ChecksumMismatch:
    """A file whose digest differs from what its checksum manifest lists."""

    name: str  # as the manifest lists it (relative to the scanned directory)
    path: str
    algorithm: str
    expected: str
    actual: str


@dataclass
class ChecksumResult:
    """A release's checksum manifests checked against its files (sources/checksums.py): which match, which do not,
    which are listed but absent, which are present but not listed, and the manifests' own errors."""

    manifest: str  # the manifests, comma-separated
    ok: list[str]
    mismatched: list[ChecksumMismatch]
    missing: list[str]
    unlisted: list[str]
    errors: list[str]


@dataclass
class ContainerRecord:
    """One scanned package, archive, image or tree (``report.containers``). ``self_contained`` and ``verdict`` are
    None when it holds no executable; the optional parts (absent from the JSON when None) say how it was read and
    judged: ``compression``, ``deb``, ``image`` (its layers and config), ``checksums``
    (the release's checksum manifests checked), ``wheel``, ``context`` (the rule of data/contexts.toml)."""

    path: str
    kind: str
    files: int
    binaries: int
    self_contained: bool | None
    verdict: str | None
    summary: ContainerSummary
    errors: int
    compression: str | None = None
    deb: DebInfo | None = None
    image: ImageRecord | None = None
    checksums: ChecksumResult | None = None
    wheel: WheelInfo | None = None
    context: str | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "compression", "deb", "image", "checksums", "wheel", "context")


@dataclass
class Run:
    """One sandboxed run of a binary (``depfree verify``, ``inspect --verify``, the build matrix): whether it
    started, how it ended, what it reached for (from strace) and what was expected of it."""

    binary: str
    root: str
    started: bool
    exit_code: int | None
    signal: str | None
    timed_out: bool
    failure: str
    details: dict[str, str]
    missing: list[str]
    accessed: list[str]
    denied: list[str]
    execve: list[dict[str, Any]]
    connect: list[dict[str, Any]]
    stdout: str
    stderr: str
    isolation: dict[str, Any]
    root_contents: list[str] = field(default_factory=list)
    expectations_met: bool = True
    unmet: list[str] = field(default_factory=list)  # each expectation that failed: what was expected, what came
    duration: float = 0.0
    stdout_bytes: int = 0  # written in all; stdout/stderr keep the first max_output bytes
    stderr_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
