"""Typed facts of a binary's exploit mitigations, debug information and packing (``binary.hardening``, ``debug``,
``packer``). Field names and order are the JSON's (data/report.schema.json); :func:`depfree.model.to_json`
serialises them. Values are ``True``/``False``, or a word where a yes/no would mislead (``"n/a"`` with the reason
in ``reasons``, ``"unknown"``, RELRO's ``"full"``/``"partial"``/``"none"``)."""

from __future__ import annotations

from depfree.dataclass import dataclass, field
from depfree.model import Evidence, omit_none

# property -> the evidence that proves its value; property -> why it is n/a or unknown
EvidenceMap = dict[str, list[Evidence]]


@dataclass
class RwxSegment:
    """A segment both writable and executable; ``type`` is the ELF program header type (None for Mach-O)."""

    index: int
    type: str | None
    vaddr: int

    def json_omit(self) -> tuple[str, ...]:
        return omit_none(self, "type")


@dataclass
class RpathRisk:
    """An RPATH/RUNPATH entry that lets the loader search where it should not (``hardening.rpath_risks``)."""

    tag: str  # RPATH | RUNPATH
    path: str
    risk: str  # current-directory | origin-relative | relative | world-writable


@dataclass
class Fortify:
    """Calls to glibc functions a checked ``__*_chk`` variant exists for: how many are checked (checksec's count)."""

    fortified: int
    fortifiable: int


@dataclass
class ElfHardening:
    """The exploit mitigations of an ELF file (``binary.hardening``), each by the loader's and kernel's rules."""

    pie: bool | str = False  # True / False, "n/a" for a shared or relocatable object
    bind_now: bool = False
    relro: str = "none"  # full | partial | none | n/a
    execstack: bool = False
    nx: bool = True
    rwx_segments: list[RwxSegment] = field(default_factory=list)
    canary: str = "unknown"  # yes | no | unknown | n/a
    fortify: Fortify | str = "unknown"  # the counts, or unknown | n/a
    rpath_risks: list[RpathRisk] = field(default_factory=list)
    textrel: bool = False
    reasons: dict[str, str] = field(default_factory=dict)
    evidence: EvidenceMap = field(default_factory=dict)


@dataclass
class PeHardening:
    """The exploit mitigations of a PE file (``binary.hardening``): its DLL characteristics and load config."""

    high_entropy_va: bool
    aslr: bool
    force_integrity: bool
    dep: bool
    no_seh: bool
    cfg: bool
    relocations_stripped: bool
    pie: bool
    nx: bool
    safeseh: bool | str = "n/a"  # n/a on 64-bit images and with NO_SEH
    reasons: dict[str, str] = field(default_factory=dict)
    evidence: EvidenceMap = field(default_factory=dict)


@dataclass
class MachoHardening:
    """The exploit mitigations of a Mach-O file (``binary.hardening``): its header flags and load commands."""

    pie: bool
    execstack: bool
    nx: bool
    no_heap_execution: bool
    code_signature: bool
    hardened_runtime: bool | None  # None: no code signature to read the flags from
    adhoc_signed: bool | None
    rwx_segments: list[RwxSegment] = field(default_factory=list)
    evidence: EvidenceMap = field(default_factory=dict)


Hardening = ElfHardening | PeHardening | MachoHardening


@dataclass
class Debug:
    """What debug information is left (``binary.debug``): symbols, DWARF, and what stripped it, in Go's words."""

    symtab: bool
    dwarf: bool
    dwarf_compressed: bool
    dwarf_sections: list[str]
    build_id: str | None = None
    go_build_id: str | None = None
    debuglink: str | None = None
    section_headers: bool = True
    stripped: str = ""  # in words, with the Go flag or strip option that gives this state
    evidence: EvidenceMap = field(default_factory=dict)


@dataclass
class PackHeader:
    """The version, format, method and level bytes after UPX's ``UPX!`` PackHeader magic."""

    version: int
    format: int
    method: int
    level: int


@dataclass
class Overlay:
    """Data after the last byte the headers account for."""

    offset: int
    size: int


@dataclass
class Packer:
    """A packer found by its signature, appended data, or high-entropy code. Without a packer (``name`` None) the
    ``version`` and ``evidence`` keys are left out of the JSON; ``version_evidence``, ``pack_header`` and ``note``
    are left out when not found."""

    name: str | None = None
    version: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    version_evidence: Evidence | None = None
    pack_header: PackHeader | None = None
    overlay: Overlay | None = None
    text_entropy: float | None = None
    high_entropy_text: bool = False
    note: str | None = None

    def json_omit(self) -> tuple[str, ...]:
        absent = ("version", "evidence") if self.name is None else ()
        return absent + omit_none(self, "version_evidence", "pack_header", "note")
