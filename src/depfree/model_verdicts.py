"""Typed judgements of a binary: its verdict per target (``binary.targets``, targets/judge.py) and what it needs
looked up inside its package (``binary.resolution``: analysis/resolution.py finds, targets/context.py judges);
the record of each scanned container (``report.containers``).
Field names and order are the JSON's (data/report.schema.json); keys the schema leaves optional are named by each
class's ``json_omit`` and are absent from the JSON when None."""

from __future__ import annotations

from typing import TYPE_CHECKING

from depfree.dataclass import dataclass, field
from depfree.model import Evidence, omit_none

if TYPE_CHECKING:  # re-exported: their module is imported on first use (what inspect of a file never makes)
    from depfree.model_records import ChecksumMismatch as ChecksumMismatch
    from depfree.model_records import ChecksumResult as ChecksumResult
    from depfree.model_records import ContainerRecord as ContainerRecord
    from depfree.model_records import ContainerSummary as ContainerSummary
    from depfree.model_records import DebInfo as DebInfo
    from depfree.model_records import ImageRecord as ImageRecord
    from depfree.model_records import LayerFacts as LayerFacts
    from depfree.model_records import Run as Run
    from depfree.model_records import WheelInfo as WheelInfo

# The records of scanned containers and of sandboxed runs live in model_records.py (issue 23: nine dataclasses fewer
# to define when a process only inspects files); their names stay importable from here.
RECORDS = ("ChecksumMismatch", "ChecksumResult", "ContainerRecord", "ContainerSummary", "DebInfo", "ImageRecord",
           "LayerFacts", "Run", "WheelInfo")


def __getattr__(name: str) -> object:
    if name in RECORDS:
        from depfree import model_records

        return getattr(model_records, name)
    raise AttributeError(f"module 'depfree.model_verdicts' has no attribute {name!r}")


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
