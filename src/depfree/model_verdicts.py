"""Typed judgements of a binary: its verdict per target (``binary.targets``, targets/judge.py) and what it needs
looked up inside its package (``binary.resolution``: analysis/resolution.py finds, targets/context.py judges);
the record of each scanned container (``report.containers``).
Field names and order are the JSON's (data/report.schema.json); keys the schema leaves optional are named by each
class's ``json_omit`` and are absent from the JSON when None."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depfree.model import Evidence, omit_none


@dataclass
class TargetReason:
    """Why a target verdict is not ok: a code (docs/targets.md), the message, the fix, its severity."""

    code: str  # os-mismatch, glibc-too-old, ca-bundle-missing... (docs/targets.md)
    message: str
    fix: str
    severity: str  # fail | warn


@dataclass
class TargetVerdict:
    """ok, warn or fail of one binary on one target (``binary.targets``) with the reasons."""

    binary: str
    target: str
    verdict: str  # ok | warn | fail
    reasons: list[TargetReason] = field(default_factory=list)


@dataclass
class ResolvedLibrary:
    """A NEEDED library (or a non-system DLL / dylib) and where the loader's search found it (``path`` None: not
    found); ``needed_by`` the library that needs it, ``via`` "loader" when found through its loaders' search,
    ``package`` the dpkg package owning the file found (an image or root with a dpkg database)."""

    name: str
    path: str | None
    needed_by: str | None = None
    via: str | None = None
    package: str | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "needed_by", "via", "package")


@dataclass
class ResolvedFile:
    """A file or directory need (``binary.needs``) looked up in the package: ``found`` the path that satisfied it
    (the need or an alternative), ``provided_by`` who supplies it when the package lacks it."""

    path: str
    kind: str  # file | dir
    found: str | None
    required: bool
    why: str
    alternatives: list[str]
    provided_by: str | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "provided_by")


@dataclass
class MissingItem:
    """Something the package had to carry and does not."""

    kind: str  # interpreter | library | file | dir | tag
    name: str
    why: str
    severity: str  # fail | warn
    detail: str | None = None
    evidence: list[Evidence] = field(default_factory=list)

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "detail")


@dataclass
class HostItem:
    """Something the machine the package lands on must supply; ``status`` met | provided | unknown | unmet."""

    kind: str
    name: str
    why: str
    status: str
    severity: str | None = None  # for unmet target cells: the cell's severity
    detail: str | None = None
    evidence: list[Evidence] = field(default_factory=list)

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "severity", "detail")


@dataclass
class Resolution:
    """``context``, ``verdict``, ``missing`` and ``host`` are the judgement (targets/context.py), None (absent from
    the JSON) until it ran."""

    self_contained: bool
    interpreter: str | None
    interpreter_found: bool | None
    libraries: list[ResolvedLibrary]
    missing_libraries: list[str]
    files: list[ResolvedFile]
    missing_files: list[str]
    context: str | None = None
    verdict: str | None = None
    missing: list[MissingItem] | None = None
    host: list[HostItem] | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "context", "verdict", "missing", "host")

    def update_self_contained(self) -> None:
        self.missing_libraries = [e.name for e in self.libraries if e.path is None]
        self.self_contained = (self.interpreter_found is not False and not self.missing_libraries
                               and not self.missing_files)


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
