"""Typed facts that make up a report. Every analyzer fills one part; render/ turns them into text or JSON.

Conventions:
- Field names are the JSON names (``min_glibc``, ``interpreter``, ``needed``) so code, JSON and docs use one word.
- Every claim carries :class:`Evidence` naming the symbol, section, segment, note or file that proves it.
- ``to_json`` serialises any of these dataclasses; ``None`` stays ``null``, except for the fields a class's
  ``json_omit()`` names: those are left out of its JSON object (keys the schema marks optional).
- orjson writes every other class itself, from an instance's attributes (render/json.py): an instance holds its
  fields and no other public attribute (an :class:`Evidence` without a detail holds none: the key is absent).
- The typed sections of a binary live in ``model_hardening.py`` (hardening, debug, packer),
  ``model_verdicts.py`` (target verdicts, in-package resolution) and ``model_records.py`` (container records,
  sandboxed runs).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from depfree.dataclass import dataclass, field

if TYPE_CHECKING:
    from depfree.details import MachoDetails, PeDetails
    from depfree.model_hardening import Debug, Hardening, Packer
    from depfree.model_verdicts import ContainerRecord, Resolution, Run, TargetVerdict

# 2: ``sha256`` is null unless it was asked for (issue 23: scan, check, hardening and targets hash with --hash only;
# inspect hashes unless --no-hash). Everything else is as in depfree.report/1.
SCHEMA = "depfree.report/2"


@dataclass(frozen=True)
class Evidence:
    """What proves a claim: ``kind`` is one of symbol, section, segment, dynamic, note, version-need, string,
    setting, import, load-command, load-config, header, file, function, package."""

    kind: str
    name: str
    detail: str = ""

    def __init__(self, kind: str, name: str, detail: str = "") -> None:
        # An empty detail is not stored: ``detail`` then reads the class's default, and orjson, which writes a
        # model object from its own attributes (render/json.py), leaves the key out, as the schema does.
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", name)
        if detail:
            object.__setattr__(self, "detail", detail)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class VersionedSymbol:
    """A dynamic symbol bound to a version from a version-need entry (``readelf -V``)."""

    symbol: str
    version: str
    library: str


@dataclass
class VersionRequirement:
    """The highest version needed of one versioned family (GLIBC, GLIBCXX, GCC, OPENSSL...). A version name not
    shaped ``NAME_x.y`` (``Base``, ``gssapi_krb5_2_MIT``) is a requirement of its own: ``family``, ``min_version``
    and the only entry of ``versions`` are that name (the loader checks that the library defines it)."""

    family: str
    library: str
    min_version: str
    versions: list[str]
    symbols: list[VersionedSymbol]
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Libc:
    """The C library a binary runs on (``linkage.libc``), with what shows it."""

    flavour: str  # glibc | musl | bionic | msvcrt | ucrt | vcruntime | libsystem | none | unknown
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Library:
    """One needed library and how it is classified."""

    name: str
    system: bool
    kind: str = ""  # libc, loader, c-runtime, os, third-party, go-runtime...
    weak: bool = False
    delay_load: bool = False
    functions: list[str] | None = None


@dataclass
class RuntimeDll:
    """A DLL a Windows program loads by name while it runs (LoadLibrary), not through its import table: the Go
    runtime's own (``how = "go-runtime"``) and those of ``syscall.NewLazyDLL`` / ``NewLazySystemDLL``
    (``how = "lazy-dll"``). ``system``: ships with Windows (data/windows.toml)."""

    name: str
    system: bool
    how: str  # go-runtime | lazy-dll
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Linkage:
    """How a binary is linked (``binary.linkage``): static or dynamic, its loader, needed libraries and search
    paths, its libc and the symbol versions it needs."""

    kind: str  # static | static-pie | dynamic
    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    libc: Libc = field(default_factory=lambda: Libc("unknown"))
    min_glibc: str | None = None
    glibc_symbols: list[VersionedSymbol] = field(default_factory=list)
    glibc_private: bool = False
    versioned: list[VersionRequirement] = field(default_factory=list)
    libraries: list[Library] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    # Windows Go programs: DLLs loaded at run time (analysis/runtimedlls.py); None when not looked for.
    runtime_dlls: list[RuntimeDll] | None = None


@dataclass
class MinOS:
    """A minimum operating system or kernel version (``binary.min_os``, ``effective_min_os``) and its sources."""

    os: str
    version: str
    name: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class GoModule:
    """A module of Go build info (``go.main``, ``go.deps``): path, version, checksum, replacement."""

    path: str
    version: str = ""
    sum: str = ""
    replace: GoModule | None = None


@dataclass
class GoPackage:
    """A Go package linked into the binary (``go.packages``, ``--deep``): its kind, module, functions and bytes."""

    path: str
    kind: str  # std | main | dep | cgo
    module: str | None = None
    functions: int = 0
    size: int = 0


@dataclass
class GoFeature:
    """A build feature (netgo, osusergo, fips140...; analysis/gofeatures.py): on, off, or None when unknown."""

    value: bool | None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Go:
    """What Go built the binary and how (``binary.go``): version, where that was read, build info, cgo, features."""

    version: str | None
    source: str  # buildinfo | pclntab | symbols | gccgo
    compiler: str = "gc"  # gc | gccgo
    path: str | None = None
    main: GoModule | None = None
    deps: list[GoModule] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    # cgo: whether C code is linked (runtime/cgo's C part, C symbols, imported C functions, a NEEDED libc); what
    # verdicts use. cgo_enabled: the CGO_ENABLED build setting (None when build info does not record it), which
    # only allows cgo: CGO_ENABLED=1 with no package using C links no C code.
    cgo: bool | None = None
    cgo_evidence: list[Evidence] = field(default_factory=list)
    cgo_enabled: bool | None = None
    evidence: list[Evidence] = field(default_factory=list)
    # Filled by deeper analysis (pclntab, --deep); None when not looked at.
    packages: list[GoPackage] | None = None
    features: dict[str, GoFeature] | None = None


@dataclass
class Need:
    """One thing the binary asks of the machine it lands on (``binary.needs``): a file, directory, library..."""

    kind: str  # file | dir | interpreter | library | kernel | os | cpu | env
    what: str
    why: str
    evidence: list[Evidence] = field(default_factory=list)
    required: bool = True
    alternatives: list[str] = field(default_factory=list)


@dataclass
class Binary:
    """All facts about one executable (one slice of a universal Mach-O)."""

    path: str
    size: int
    sha256: str | None  # None (JSON null) when not computed: identity, not a dependency fact (see SCHEMA)
    format: str  # elf | pe | macho
    arch: str
    os: str
    bits: int
    endian: str  # little | big
    type: str  # exec | pie | shared | relocatable | core | dylib | dll | ...
    linkage: Linkage
    go: Go | None = None
    slice: str | None = None
    osabi: str | None = None
    machine: str | None = None
    min_os: MinOS | None = None
    verdict: str = ""
    # the highest of the header's minimum and the Go release's, every source as evidence (analysis/minimum.py)
    effective_min_os: MinOS | None = None
    # Sections below are filled by their analyzers when present.
    hardening: Hardening | None = None
    debug: Debug | None = None
    packer: Packer | None = None
    needs: list[Need] | None = None
    targets: list[TargetVerdict] | None = None
    resolution: Resolution | None = None
    verify: list[Run] | None = None  # inspect --verify: the sandboxed runs
    pe: PeDetails | None = None  # depfree/details.py
    macho: MachoDetails | None = None


@dataclass
class FileError:
    """An input that could not be analysed (``report.errors``): its path and why, one line."""

    path: str
    error: str


@dataclass
class Report:
    """What ``inspect`` reports (schema ``depfree.report/2``): the binaries, the errors, the tool, the containers."""

    binaries: list[Binary] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    schema: str = SCHEMA
    tool: dict[str, str] = field(default_factory=dict)
    containers: list[ContainerRecord] | None = None

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "containers")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = to_json(self)
        return out


def omit_none(obj: object, *names: str) -> tuple[str, ...]:
    """The ``names`` whose value on ``obj`` is None: for a ``json_omit`` of keys that are absent rather than null."""
    return tuple(n for n in names if getattr(obj, n) is None)


def to_json(obj: Any) -> Any:
    """Plain JSON data for any model object (dataclasses, enums, lists, dicts)."""
    if obj is None or isinstance(obj, (str, int, float)):  # bool is an int; the common leaves first
        return obj
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, Evidence):
        return _evidence_json(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    shape = _shape(type(obj))
    if shape is not None:
        names, omits = shape
        if omits:
            skip = obj.json_omit()
            return {name: to_json(getattr(obj, name)) for name in names if name not in skip}
        return {name: to_json(getattr(obj, name)) for name in names}
    return obj


def shallow_json(obj: Any) -> Any:
    """One level of :func:`to_json`, for ``default=shallow_json`` (orjson's, which calls it for the classes with a
    ``json_omit`` only, and the json module's, for every model object): a model object as the dict of its fields,
    whose values the encoder then walks itself; the output is the same as ``to_json``'s. Each class gets its own
    function, written once (as ``dataclasses`` writes ``__init__``): one dict display of its fields, 40 % less time
    than a loop over them (issue 23)."""
    try:
        encode = _ENCODERS[type(obj)]
    except KeyError:
        encode = _ENCODERS[type(obj)] = _encoder(type(obj))
    if encode is None:
        raise TypeError(f"{type(obj).__name__} is not part of the report model")
    return encode(obj)


_ENCODERS: dict[type, Callable[[Any], Any] | None] = {}


def _encoder(cls: type) -> Callable[[Any], Any] | None:
    if issubclass(cls, Evidence):
        return _evidence_json
    if issubclass(cls, enum.Enum):
        return _enum_value
    shape = _shape(cls)
    if shape is None:
        return None
    names, omits = shape
    fields = ", ".join(f"{name!r}: o.{name}" for name in names)  # (dataclass field names are identifiers)
    if omits:  # the keys json_omit names are left out, the others keep their order
        source = f"def encode(o):\n    d = {{{fields}}}\n    for k in o.json_omit():\n        del d[k]\n    return d\n"
    else:
        source = f"def encode(o):\n    return {{{fields}}}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<shallow_json of {cls.__qualname__}>", "exec"), namespace)  # noqa: S102 - our own fields
    encoder: Callable[[Any], Any] = namespace["encode"]
    return encoder


def _enum_value(e: enum.Enum) -> Any:
    return e.value


def _evidence_json(e: Evidence) -> dict[str, str]:
    return {"kind": e.kind, "name": e.name, "detail": e.detail} if e.detail else {"kind": e.kind, "name": e.name}


_SHAPES: dict[type, tuple[tuple[str, ...], bool] | None] = {}


def _shape(cls: type) -> tuple[tuple[str, ...], bool] | None:
    """The field names of a dataclass and whether it has a ``json_omit`` (None for other types), once per class."""
    try:
        return _SHAPES[cls]
    except KeyError:
        shape = (tuple(f.name for f in dataclasses.fields(cls)), hasattr(cls, "json_omit")) \
            if dataclasses.is_dataclass(cls) else None
        _SHAPES[cls] = shape
        return shape
