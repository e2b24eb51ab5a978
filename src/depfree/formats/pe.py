"""PE reader: pefile underneath (fast_load, then only the import, delay-import and security directories), plus a
small struct loop for the COFF symbol table that the Go linker writes.

Windows programs are always dynamic against the OS; the C runtime (msvcrt, ucrt, vcruntime, mingw's libgcc_s /
libwinpthread) plays the role libc plays on Linux. Knowledge lives in ``data/windows.toml``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import pefile  # type: ignore[import-untyped]

from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.details import Overlay, PeDetails, PeImport, PeSignature
from depfree.errors import FormatError
from depfree.formats.base import Executable, Section, Segment, Symbol, max_symbols
from depfree.formats.strings import cstring_at, fixed_name
from depfree.sources.file import ByteSource

MAX_COFF_SYMBOLS = max_symbols(2_000_000)
PE32, PE32_PLUS = 0x10B, 0x20B
IMAGE_FILE_DLL = 0x2000
IMAGE_SCN_MEM_EXECUTE = 0x20000000
IMAGE_SCN_MEM_WRITE = 0x80000000
IMAGE_SCN_CNT_INITIALIZED_DATA = 0x40
IMAGE_SCN_MEM_READ = 0x40000000
IMAGE_SCN_ALIGN_32BYTES = 0x600000
_DIRS = [pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
         pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"]]
_SECURITY = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_SECURITY"]
_LOAD_CONFIG = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG"]
PARSE_ERRORS = (pefile.PEFormatError, struct.error, ValueError, IndexError, KeyError, TypeError, AttributeError,
                OverflowError, UnicodeDecodeError)


def _windows() -> dict[str, Any]:
    return load("windows.toml")


@dataclass(frozen=True)
class PeHeaders:
    """What analyzers read from the COFF file header and the optional header."""

    machine: int  # IMAGE_FILE_HEADER.Machine
    characteristics: int  # IMAGE_FILE_HEADER.Characteristics
    symbol_table: int  # PointerToSymbolTable (a file offset; 0 when there is none)
    symbol_count: int  # NumberOfSymbols
    image_base: int
    size_of_headers: int
    subsystem: int
    dll_characteristics: int
    subsystem_version: str  # MajorSubsystemVersion.MinorSubsystemVersion: the loader enforces it
    os_version: str  # MajorOperatingSystemVersion.MinorOperatingSystemVersion: advisory
    linker_version: str


@dataclass(frozen=True)
class PeLoadConfig:
    """The fields of IMAGE_LOAD_CONFIG_DIRECTORY that hardening reads (0 when the structure is too short for one)."""

    guard_flags: int
    se_handler_table: int
    se_handler_count: int


class PeExecutable(Executable):
    format = "pe"
    os = "windows"
    endian = "little"

    def __init__(self, source: ByteSource) -> None:
        super().__init__(source)
        head = source.read_at(0, 64)
        if len(head) < 64:
            raise FormatError(f"{self.path}: truncated PE (the DOS header needs 64 bytes, file has {source.size})")
        lfanew = struct.unpack_from("<I", head, 0x3C)[0]
        if lfanew + 24 > source.size:
            raise FormatError(f"{self.path}: corrupt PE (e_lfanew {lfanew:#x} points past the end of the "
                              f"{source.size}-byte file)")
        if source.read_at(lfanew, 4) != b"PE\0\0":
            raise FormatError(f"{self.path}: not a PE image (MZ header without a PE signature at {lfanew:#x}; "
                              "a DOS program?)")
        try:
            self._pe = pefile.PE(data=source.view(), fast_load=True)
        except PARSE_ERRORS as exc:
            raise FormatError(f"{self.path}: corrupt PE ({exc})") from None
        fh, oh = self._pe.FILE_HEADER, getattr(self._pe, "OPTIONAL_HEADER", None)
        if oh is None:
            raise FormatError(f"{self.path}: corrupt PE (no optional header: an object file, not an image)")
        if oh.Magic not in (PE32, PE32_PLUS):
            raise FormatError(f"{self.path}: corrupt PE (optional header magic: expected {PE32:#x} (PE32) or "
                              f"{PE32_PLUS:#x} (PE32+), found {oh.Magic:#x})")
        machines = {int(k, 16): v for k, v in _windows()["machines"].items() if k != "source"}
        self.machine = f"IMAGE_FILE_MACHINE_{fh.Machine:#x}"
        self.arch = machines.get(fh.Machine, f"pe-{fh.Machine:#x}")
        self.bits = 64 if oh.Magic == PE32_PLUS else 32
        self.type = "dll" if fh.Characteristics & IMAGE_FILE_DLL else "exec"
        self.image_base = oh.ImageBase
        self._entry = oh.AddressOfEntryPoint + oh.ImageBase if oh.AddressOfEntryPoint else 0
        self.headers = PeHeaders(
            machine=fh.Machine, characteristics=fh.Characteristics, symbol_table=fh.PointerToSymbolTable,
            symbol_count=fh.NumberOfSymbols, image_base=oh.ImageBase, size_of_headers=oh.SizeOfHeaders,
            subsystem=oh.Subsystem, dll_characteristics=oh.DllCharacteristics,
            subsystem_version=f"{oh.MajorSubsystemVersion}.{oh.MinorSubsystemVersion}",
            os_version=f"{oh.MajorOperatingSystemVersion}.{oh.MinorOperatingSystemVersion}",
            linker_version=f"{oh.MajorLinkerVersion}.{oh.MinorLinkerVersion}")

    @property
    def entry(self) -> int:
        return self._entry

    def _directory(self, index: int) -> Any | None:
        """Data directory ``index`` when the header has it (NumberOfRvaAndSizes may be anything from 0 to 16, or
        a hostile 0x80000000 of which pefile reads only what fits) and it is not empty; else None."""
        dirs = self._pe.OPTIONAL_HEADER.DATA_DIRECTORY
        d = dirs[index] if index < len(dirs) else None
        return d if d is not None and d.VirtualAddress and d.Size else None

    @property
    def security_directory(self) -> tuple[int, int] | None:
        """(file offset, size) of the certificate table (IMAGE_DIRECTORY_ENTRY_SECURITY holds a file offset)."""
        d = self._directory(_SECURITY)
        return (d.VirtualAddress, d.Size) if d is not None else None

    @cached_property
    def load_config(self) -> PeLoadConfig | None:
        """The load configuration directory, or None when there is none or it cannot be read."""
        try:
            self._pe.parse_data_directories(directories=[_LOAD_CONFIG])
        except PARSE_ERRORS:
            return None
        lc = getattr(self._pe, "DIRECTORY_ENTRY_LOAD_CONFIG", None)
        if lc is None:
            return None
        return PeLoadConfig(guard_flags=getattr(lc.struct, "GuardFlags", 0),
                            se_handler_table=getattr(lc.struct, "SEHandlerTable", 0),
                            se_handler_count=getattr(lc.struct, "SEHandlerCount", 0))

    # --- structure -------------------------------------------------------------------------------------------
    @cached_property
    def _sections(self) -> list[tuple[Section, Any]]:
        out = []
        for s in self._pe.sections:
            name = self._long_name(fixed_name(s.Name))
            raw_size = min(s.SizeOfRawData, max(0, self.source.size - s.PointerToRawData))
            out.append((Section(name=name, addr=self.image_base + s.VirtualAddress, offset=s.PointerToRawData,
                                size=s.Misc_VirtualSize or s.SizeOfRawData, file_size=raw_size,
                                executable=bool(s.Characteristics & IMAGE_SCN_MEM_EXECUTE),
                                writable=bool(s.Characteristics & IMAGE_SCN_MEM_WRITE)), s))
        return out

    def sections(self) -> list[Section]:
        return [s for s, _ in self._sections]

    def _long_name(self, name: str) -> str:
        """Section names longer than 8 bytes are written as ``/N``: an offset into the COFF string table."""
        if not (name.startswith("/") and name[1:].isdigit()):
            return name
        fh = self._pe.FILE_HEADER
        if not fh.PointerToSymbolTable:
            return name
        at = fh.PointerToSymbolTable + fh.NumberOfSymbols * 18 + int(name[1:])
        return cstring_at(self.read_file(at, 256)) or name

    def segments(self) -> list[Segment]:
        # PE maps sections directly; each is a loadable range (as Go's debug/pe ReadData treats them).
        return [Segment(kind="load", vaddr=s.addr, memsz=s.size, offset=s.offset, filesz=s.file_size,
                        writable=s.writable, executable=s.executable) for s in self.sections()]

    def data_start(self) -> int | None:
        # Go's debug/buildinfo peExe.DataStart: the first initialized, readable, writable, non-code section.
        for sec, raw in self._sections:
            flags = raw.Characteristics & ~IMAGE_SCN_ALIGN_32BYTES
            if raw.VirtualAddress and raw.SizeOfRawData and flags == (
                    IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ | IMAGE_SCN_MEM_WRITE):
                return sec.addr
        return None

    # --- COFF symbols (Go writes them unless -s) -------------------------------------------------------------
    @property
    def has_symbol_table(self) -> bool:
        return bool(self.headers.symbol_table and self.headers.symbol_count)

    @cached_property
    def _coff_tables(self) -> tuple[bytes, bytes]:
        """The COFF symbol records (18 bytes each) and the string table after them; empty when there are none."""
        fh = self._pe.FILE_HEADER
        off, count = fh.PointerToSymbolTable, min(fh.NumberOfSymbols, MAX_COFF_SYMBOLS)
        if not off or not count or off >= self.source.size:
            return b"", b""
        raw = self.read_file(off, count * 18)
        raw = raw[: len(raw) // 18 * 18]
        strtab_off = off + len(raw)
        strsize = struct.unpack("<I", self.read_file(strtab_off, 4).ljust(4, b"\0"))[0]
        return raw, self.read_file(strtab_off, min(strsize, 64 * 1024 * 1024))

    def symbol(self, name: str) -> Symbol | None:
        """A name is written in the string table when longer than 8 bytes, else in the 8-byte name field of a
        record: when it is not there, no symbol has it, and the symbols (30,000 in a MinGW DLL with debug info) are
        not indexed to find that out."""
        raw, strtab = self._coff_tables
        encoded = name.encode()
        if len(encoded) > 8:
            if encoded + b"\0" not in strtab:
                return None
        elif not any(i % 18 == 0 for i in _find_all(raw, encoded.ljust(8, b"\0"))):
            return None
        return super().symbol(name)

    def iter_symbols(self) -> Iterator[Symbol]:
        raw, strtab = self._coff_tables
        count = len(raw) // 18
        sections = self.sections()
        i = 0
        while i < count:
            name8, value, secnum, typ, _cls, naux = struct.unpack_from("<8sIhHBB", raw, i * 18)
            if name8[:4] == b"\0\0\0\0":
                name = cstring_at(strtab, struct.unpack_from("<I", name8, 4)[0])
            else:
                name = fixed_name(name8)
            section = sections[secnum - 1] if 0 < secnum <= len(sections) else None
            addr = value + (section.addr if section else 0)
            yield Symbol(name=name, value=addr, size=0, section=section.name if section else None,
                         kind="func" if typ & 0x20 else "")
            i += 1 + naux

    # --- imports ---------------------------------------------------------------------------------------------
    @cached_property
    def imports(self) -> list[PeImport]:
        """The DLLs of the import and delay-import directories in file order (as ``objdump -p`` lists them)."""
        present = []
        for index, what in ((_DIRS[0], "import"), (_DIRS[1], "delay-import")):
            d = self._directory(index)
            if d is None:
                continue
            if self._pe.get_section_by_rva(d.VirtualAddress) is None:
                raise FormatError(f"{self.path}: corrupt PE ({what} directory at RVA {d.VirtualAddress:#x} is not "
                                  "inside any section)")
            present.append(index)
        if not present:
            return []  # a resource-only DLL, or a header with fewer than two data directories
        seen = len(self._pe.get_warnings())  # the header's own warnings (an entry point of 0 is legal in a DLL)
        try:
            self._pe.parse_data_directories(directories=present)
        except PARSE_ERRORS as exc:
            raise FormatError(f"{self.path}: corrupt PE import directory ({exc})") from None
        for w in self._pe.get_warnings()[seen:]:
            if "outside" in w.lower() or "invalid" in w.lower():
                raise FormatError(f"{self.path}: corrupt PE import directory ({w})")
        out = []
        for attr, delay in (("DIRECTORY_ENTRY_IMPORT", False), ("DIRECTORY_ENTRY_DELAY_IMPORT", True)):
            for entry in getattr(self._pe, attr, []) or []:
                dll = entry.dll.decode("utf-8", "replace") if isinstance(entry.dll, bytes) else str(entry.dll)
                funcs = [(i.name.decode("utf-8", "replace") if i.name else f"#{i.ordinal}") for i in entry.imports]
                out.append(PeImport(dll=dll, functions=funcs, delay=delay))
        return out

    def dynamic_symbols(self) -> list[str]:
        return [f for imp in self.imports for f in imp.functions]

    @property
    def needed(self) -> list[str]:
        return [imp.dll for imp in self.imports]

    # --- details -------------------------------------------------------------------------------------------
    def details(self) -> PeDetails:
        h = self.headers
        subsystems = {int(k): v for k, v in _windows()["subsystems"].items() if k != "source"}
        sec_dir = self.security_directory
        return PeDetails(
            machine=f"{h.machine:#x}", subsystem=subsystems.get(h.subsystem, str(h.subsystem)),
            image_base=h.image_base, dll_characteristics=h.dll_characteristics, imports=self.imports,
            delay_imports=[i.dll for i in self.imports if i.delay],
            signature=PeSignature(present=sec_dir is not None, offset=sec_dir[0] if sec_dir else None,
                                  size=sec_dir[1] if sec_dir else None),
            overlay=self._overlay(), linker_version=h.linker_version)

    def _overlay(self) -> Overlay | None:
        """Bytes after the sections, the COFF symbol and string tables and the Authenticode blob."""
        overlay_start = self._pe.get_overlay_data_start_offset()
        h = self.headers
        if overlay_start is not None and h.symbol_table >= overlay_start:
            # The COFF symbol table and its string table follow the sections; they belong to the image.
            strtab = h.symbol_table + h.symbol_count * 18
            strsize = struct.unpack("<I", self.read_file(strtab, 4).ljust(4, b"\0"))[0]
            overlay_start = max(overlay_start, strtab + strsize)
        if overlay_start is None or overlay_start >= self.source.size:
            return None
        size = self.source.size - overlay_start
        sec_dir = self.security_directory
        if sec_dir is not None and sec_dir[0] >= overlay_start:
            size -= sec_dir[1]  # the Authenticode blob lives after the sections but is not overlay data
        return Overlay(offset=overlay_start, size=size) if size > 0 else None


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)
