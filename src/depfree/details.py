"""The format details of a report: ``binary.pe`` (:class:`PeDetails`) and ``binary.macho`` (:class:`MachoDetails`).

Part of the report model (:mod:`depfree.model` re-exports them; ``to_json`` serialises them, field names are the JSON
names, in JSON order). The readers fill them (``Executable.details()``): they are what the file header says.
"""

from __future__ import annotations

from depfree.dataclass import dataclass


@dataclass(frozen=True)
class PeImport:
    """One DLL of the import (or delay-import) directory and the functions taken from it, by name or ``#ordinal``."""

    dll: str
    functions: list[str]
    delay: bool


@dataclass(frozen=True)
class PeSignature:
    """The certificate table (IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset, not an RVA) of an Authenticode signature."""

    present: bool
    offset: int | None
    size: int | None


@dataclass(frozen=True)
class Overlay:
    """Bytes after the end of the image that the loader does not map."""

    offset: int
    size: int


@dataclass(frozen=True)
class PeDetails:
    machine: str  # IMAGE_FILE_HEADER.Machine in hex
    subsystem: str  # data/windows.toml subsystems
    image_base: int
    dll_characteristics: int
    imports: list[PeImport]
    delay_imports: list[str]
    signature: PeSignature
    overlay: Overlay | None
    linker_version: str


@dataclass(frozen=True)
class Dylib:
    """One dylib load command: the install name and how it is loaded."""

    name: str
    kind: str  # load | weak | reexport | lazy | upward


@dataclass(frozen=True)
class BuildVersion:
    """LC_BUILD_VERSION or LC_VERSION_MIN_*: the platform and the minimum OS and SDK versions."""

    platform: str
    minos: str
    sdk: str
    command: str  # the load command it comes from


@dataclass(frozen=True)
class CodeSignature:
    """LC_CODE_SIGNATURE when absent (``{"present": false}``); :class:`CodeSignatureBlob` when present."""

    present: bool


@dataclass(frozen=True)
class CodeSignatureBlob(CodeSignature):
    offset: int  # dataoff
    size: int  # datasize


@dataclass(frozen=True)
class Slice:
    """One slice of a universal (fat) Mach-O."""

    arch: str
    offset: int
    size: int


@dataclass(frozen=True)
class MachoDetails:
    filetype: str
    flags: int
    pie: bool
    allow_stack_execution: bool
    no_heap_execution: bool
    dylibs: list[Dylib]
    rpaths: list[str]
    build_version: BuildVersion | None
    code_signature: CodeSignature
    id_dylib: str | None
    slice_offset: int | None
    slices: list[Slice] | None
