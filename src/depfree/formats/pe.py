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

import pefile

from depfree.datafiles import load
from depfree.errors import FormatError
from depfree.formats.base import Executable, Section, Segment, Symbol, max_symbols
from depfree.formats.oslibs import classify_dll, windows_c_runtime
from depfree.model import Evidence, Linkage, MinOS
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
PARSE_ERRORS = (pefile.PEFormatError, struct.error, ValueError, IndexError, KeyError, TypeError, AttributeError,
                OverflowError, UnicodeDecodeError)


def _windows() -> dict[str, Any]:
    return load("windows.toml")


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
            self.pe = pefile.PE(data=source.view(), fast_load=True)
        except PARSE_ERRORS as exc:
            raise FormatError(f"{self.path}: corrupt PE ({exc})") from None
        fh, oh = self.pe.FILE_HEADER, getattr(self.pe, "OPTIONAL_HEADER", None)
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

    @property
    def entry(self) -> int:
        return self._entry

    def directory(self, index: int) -> Any | None:
        """Data directory ``index`` when the header has it (NumberOfRvaAndSizes may be anything from 0 to 16, or
        a hostile 0x80000000 of which pefile reads only what fits) and it is not empty; else None."""
        dirs = self.pe.OPTIONAL_HEADER.DATA_DIRECTORY
        d = dirs[index] if index < len(dirs) else None
        return d if d is not None and d.VirtualAddress and d.Size else None

    # --- structure -------------------------------------------------------------------------------------------
    @cached_property
    def _sections(self) -> list[tuple[Section, Any]]:
        out = []
        for s in self.pe.sections:
            name = self._long_name(s.Name.rstrip(b"\0").decode("utf-8", "replace"))
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
        fh = self.pe.FILE_HEADER
        if not fh.PointerToSymbolTable:
            return name
        at = fh.PointerToSymbolTable + fh.NumberOfSymbols * 18 + int(name[1:])
        raw = self.read_file(at, 256)
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace") or name

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
    @cached_property
    def _coff_tables(self) -> tuple[bytes, bytes]:
        """The COFF symbol records (18 bytes each) and the string table after them; empty when there are none."""
        fh = self.pe.FILE_HEADER
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
                so = struct.unpack_from("<I", name8, 4)[0]
                end = strtab.find(b"\0", so)
                name = strtab[so : end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            else:
                name = name8.rstrip(b"\0").decode("utf-8", "replace")
            section = sections[secnum - 1] if 0 < secnum <= len(sections) else None
            addr = value + (section.addr if section else 0)
            yield Symbol(name=name, value=addr, size=0, section=section.name if section else None,
                         kind="func" if typ & 0x20 else "")
            i += 1 + naux

    # --- imports ---------------------------------------------------------------------------------------------
    @cached_property
    def imports(self) -> list[dict[str, Any]]:
        """[{dll, functions, delay}] in file order (as ``objdump -p`` lists them)."""
        present = []
        for index, what in ((_DIRS[0], "import"), (_DIRS[1], "delay-import")):
            d = self.directory(index)
            if d is None:
                continue
            if self.pe.get_section_by_rva(d.VirtualAddress) is None:
                raise FormatError(f"{self.path}: corrupt PE ({what} directory at RVA {d.VirtualAddress:#x} is not "
                                  "inside any section)")
            present.append(index)
        if not present:
            return []  # a resource-only DLL, or a header with fewer than two data directories
        seen = len(self.pe.get_warnings())  # the header's own warnings (an entry point of 0 is legal in a DLL)
        try:
            self.pe.parse_data_directories(directories=present)
        except PARSE_ERRORS as exc:
            raise FormatError(f"{self.path}: corrupt PE import directory ({exc})") from None
        for w in self.pe.get_warnings()[seen:]:
            if "outside" in w.lower() or "invalid" in w.lower():
                raise FormatError(f"{self.path}: corrupt PE import directory ({w})")
        out = []
        for attr, delay in (("DIRECTORY_ENTRY_IMPORT", False), ("DIRECTORY_ENTRY_DELAY_IMPORT", True)):
            for entry in getattr(self.pe, attr, []) or []:
                dll = entry.dll.decode("utf-8", "replace") if isinstance(entry.dll, bytes) else str(entry.dll)
                funcs = [(i.name.decode("utf-8", "replace") if i.name else f"#{i.ordinal}") for i in entry.imports]
                out.append({"dll": dll, "functions": funcs, "delay": delay})
        return out

    def dynamic_symbols(self) -> list[str]:
        return [f for imp in self.imports for f in imp["functions"]]

    # --- facts -----------------------------------------------------------------------------------------------
    def linkage(self) -> Linkage:
        libs = [classify_dll(imp["dll"], imp["functions"], imp["delay"]) for imp in self.imports]
        libc = windows_c_runtime(libs)
        return Linkage(kind="dynamic", needed=[imp["dll"] for imp in self.imports], libc=libc, libraries=libs,
                       evidence=[Evidence("import", "IMAGE_DIRECTORY_ENTRY_IMPORT",
                                          f"{len(libs)} DLLs; Windows programs always load through the OS loader")])

    def min_os(self) -> MinOS | None:
        oh = self.pe.OPTIONAL_HEADER
        sub = f"{oh.MajorSubsystemVersion}.{oh.MinorSubsystemVersion}"
        osv = f"{oh.MajorOperatingSystemVersion}.{oh.MinorOperatingSystemVersion}"
        names = {k: v for k, v in _windows()["versions"].items() if k != "source"}
        # The loader enforces the subsystem version; the OS version field is advisory. Report the higher.
        from depfree.versions import version_key

        version = max(sub, osv, key=version_key)
        return MinOS(os="windows", version=version, name=names.get(version),
                     evidence=[Evidence("header", "MajorSubsystemVersion", sub),
                               Evidence("header", "MajorOperatingSystemVersion", osv)])

    def details(self) -> dict[str, Any]:
        oh = self.pe.OPTIONAL_HEADER
        subsystems = {int(k): v for k, v in _windows()["subsystems"].items() if k != "source"}
        sec_dir = self.directory(pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_SECURITY"])
        overlay_start = self.pe.get_overlay_data_start_offset()
        signed = sec_dir is not None
        overlay = None
        fh = self.pe.FILE_HEADER
        if overlay_start is not None and fh.PointerToSymbolTable >= overlay_start:
            # The COFF symbol table and its string table follow the sections; they belong to the image.
            strtab = fh.PointerToSymbolTable + fh.NumberOfSymbols * 18
            strsize = struct.unpack("<I", self.read_file(strtab, 4).ljust(4, b"\0"))[0]
            overlay_start = max(overlay_start, strtab + strsize)
        if overlay_start is not None and overlay_start < self.source.size:
            size = self.source.size - overlay_start
            if sec_dir is not None and sec_dir.VirtualAddress >= overlay_start:
                size -= sec_dir.Size  # the Authenticode blob lives after the sections but is not overlay data
            overlay = {"offset": overlay_start, "size": size} if size > 0 else None
        return {
            "machine": f"{self.pe.FILE_HEADER.Machine:#x}",
            "subsystem": subsystems.get(oh.Subsystem, str(oh.Subsystem)),
            "image_base": oh.ImageBase,
            "dll_characteristics": oh.DllCharacteristics,
            "imports": self.imports,
            "delay_imports": [i["dll"] for i in self.imports if i["delay"]],
            "signature": {"present": signed, "offset": sec_dir.VirtualAddress if sec_dir else None,
                          "size": sec_dir.Size if sec_dir else None},
            "overlay": overlay,
            "linker_version": f"{oh.MajorLinkerVersion}.{oh.MinorLinkerVersion}",
        }


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)
