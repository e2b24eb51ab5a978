"""Mach-O reader, thin and universal (fat), 32/64-bit, both byte orders, written with struct: the format is small.

Load commands are read within ``sizeofcmds`` and the file; every count and offset is checked before use. A universal
binary gives one :class:`MachoExecutable` per slice, each reading slice-relative offsets.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from depfree.datafiles import load
from depfree.details import BuildVersion, CodeSignature, CodeSignatureBlob, Dylib, MachoDetails, Slice
from depfree.errors import FormatError
from depfree.formats.base import Executable, Section, Segment, Symbol, max_symbols
from depfree.formats.strings import cstring_at, fixed_name
from depfree.magic import FAT_MAGIC_64, FAT_MAGICS
from depfree.sources.file import ByteSource

MAX_SLICES = 64
MAX_SYMBOLS = max_symbols(5_000_000)

LC_SEGMENT, LC_SEGMENT_64, LC_SYMTAB, LC_UNIXTHREAD = 0x1, 0x19, 0x2, 0x5
LC_LOAD_DYLIB, LC_ID_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB = 0xC, 0xD, 0x80000018, 0x8000001F
LC_LAZY_LOAD_DYLIB, LC_LOAD_UPWARD_DYLIB = 0x20, 0x80000023
LC_RPATH, LC_CODE_SIGNATURE, LC_MAIN, LC_BUILD_VERSION = 0x8000001C, 0x1D, 0x80000028, 0x32
LC_VERSION_MIN = {0x24: "macos", 0x25: "ios", 0x2F: "tvos", 0x30: "watchos"}
DYLIB_COMMANDS = {LC_LOAD_DYLIB: "load", LC_LOAD_WEAK_DYLIB: "weak", LC_REEXPORT_DYLIB: "reexport",
                  LC_LAZY_LOAD_DYLIB: "lazy", LC_LOAD_UPWARD_DYLIB: "upward"}
FILETYPES = {1: "relocatable", 2: "exec", 3: "fvmlib", 4: "core", 5: "preload", 6: "dylib", 7: "dylinker",
             8: "bundle", 9: "dylib-stub", 10: "dsym", 11: "kext"}
MH_PIE, MH_ALLOW_STACK_EXECUTION, MH_NO_HEAP_EXECUTION = 0x200000, 0x20000, 0x1000000
MAGICS = {b"\xfe\xed\xfa\xce": (">", 32), b"\xce\xfa\xed\xfe": ("<", 32),
          b"\xfe\xed\xfa\xcf": (">", 64), b"\xcf\xfa\xed\xfe": ("<", 64)}


def _data() -> dict[str, Any]:
    return load("macos.toml")


def _arch(cputype: int) -> str:
    types = {int(k, 0): str(v) for k, v in _data()["cpu_types"].items() if k != "source"}
    return types.get(cputype, f"cpu-{cputype:#x}")


def _version(v: int) -> str:
    """X.Y.Z packed as xxxx.yy.zz nibbles; trailing .0 dropped except the minor (11.0 -> '11.0')."""
    major, minor, patch = v >> 16, (v >> 8) & 0xFF, v & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def open_macho(source: ByteSource) -> list[Executable]:
    head = source.read_at(0, 8)
    if head[:4] in FAT_MAGICS:
        return _open_fat(source, head[:4] == FAT_MAGIC_64)
    return [MachoExecutable(source)]


def _open_fat(source: ByteSource, fat64: bool) -> list[Executable]:
    nfat = struct.unpack(">I", source.read_at(4, 4))[0]
    if not 0 < nfat <= MAX_SLICES:
        raise FormatError(f"{source.name}: corrupt universal Mach-O (fat header declares {nfat} slices, expected 1 to "
                          f"{MAX_SLICES})")
    entry = 32 if fat64 else 20
    table = source.read_at(8, nfat * entry)
    images: list[MachoExecutable] = []
    if len(table) < nfat * entry:
        raise FormatError(f"{source.name}: truncated universal Mach-O (slice table of {nfat} entries is cut off)")
    for i in range(nfat):
        if fat64:
            cputype, _sub, offset, size, _align, _res = struct.unpack_from(">iiQQII", table, i * entry)
        else:
            cputype, _sub, offset, size, _align = struct.unpack_from(">iiIII", table, i * entry)
        if offset + size > source.size or size < 28:
            raise FormatError(f"{source.name}: corrupt universal Mach-O (slice {i} at offset {offset} with size {size} "
                              f"does not fit in the {source.size}-byte file)")
        exe = MachoExecutable(source, base=offset, length=size)
        exe.slice = _arch(cputype & 0xFFFFFFFF)
        images.append(exe)
    slices = [Slice(arch=exe.slice or "", offset=exe.base, size=exe.length) for exe in images]
    for exe in images:
        exe.universal = slices
    return list(images)


class MachoExecutable(Executable):
    format = "macho"
    os = "darwin"
    universal: list[Slice] | None = None  # every slice of the universal file this one came from

    def __init__(self, source: ByteSource, base: int = 0, length: int | None = None) -> None:
        super().__init__(source, base, length)
        magic = self.read_file(0, 4)
        if magic not in MAGICS:
            raise FormatError(f"{self.path}: not a Mach-O image (magic {magic.hex()})")
        self._e, self.bits = MAGICS[magic]
        self.endian = "big" if self._e == ">" else "little"
        hsize = 32 if self.bits == 64 else 28
        hdr = self.read_file(0, hsize)
        if len(hdr) < hsize:
            raise FormatError(f"{self.path}: truncated Mach-O header ({len(hdr)} of {hsize} bytes)")
        _m, cputype, _sub, filetype, self.ncmds, self.sizeofcmds, self.flags = struct.unpack_from(
            self._e + "IiiIIII", hdr)
        self.cputype = cputype & 0xFFFFFFFF
        self.arch = _arch(self.cputype)
        self.filetype = filetype
        self.type = FILETYPES.get(filetype, f"filetype-{filetype}")
        self.machine = f"CPU_TYPE_{self.cputype:#x}"
        self.header_size = hsize
        if hsize + self.sizeofcmds > self.length:
            raise FormatError(f"{self.path}: corrupt Mach-O (load commands of {self.sizeofcmds} bytes run past the "
                              f"end of the {self.length}-byte image)")
        if self.ncmds > self.sizeofcmds // 8:
            raise FormatError(f"{self.path}: corrupt Mach-O ({self.ncmds} load commands cannot fit in "
                              f"{self.sizeofcmds} bytes)")
        self._parse()

    # --- load commands ---------------------------------------------------------------------------------------
    def _parse(self) -> None:
        raw = self.read_file(self.header_size, self.sizeofcmds)
        e = self._e
        self._segments: list[Segment] = []
        self._sections: list[Section] = []
        self._segprot: list[tuple[int, int, int, int]] = []  # (vmaddr, filesz, maxprot, initprot)
        self.dylibs: list[Dylib] = []
        self.rpaths: list[str] = []
        self.build_version: BuildVersion | None = None
        self.code_signature: tuple[int, int] | None = None  # LC_CODE_SIGNATURE: dataoff, datasize
        self.symtab: tuple[int, int, int, int] | None = None  # LC_SYMTAB: symoff, nsyms, stroff, strsize
        self.id_dylib: str | None = None
        self._entry = 0
        off = 0
        for n in range(self.ncmds):
            if off + 8 > len(raw):
                raise FormatError(f"{self.path}: corrupt Mach-O (load command {n} starts past sizeofcmds)")
            cmd, size = struct.unpack_from(e + "II", raw, off)
            if size < 8 or off + size > len(raw):
                raise FormatError(f"{self.path}: corrupt Mach-O (load command {n} has size {size})")
            body = raw[off : off + size]
            self._command(cmd, body, n)
            off += size

    def _lc_str(self, body: bytes, at: int) -> str:
        str_off = struct.unpack_from(self._e + "I", body, at)[0]
        if str_off >= len(body):
            return ""
        return cstring_at(body, str_off)

    def _segment(self, body: bytes, is64: bool) -> None:
        """LC_SEGMENT / LC_SEGMENT_64 and the sections it holds."""
        e = self._e
        fmt = e + ("16sQQQQiiII" if is64 else "16sIIIIiiII")
        segname, vmaddr, vmsize, fileoff, filesize, maxprot, initprot, nsects, _fl = struct.unpack_from(
            fmt, body, 8)
        name = fixed_name(segname)
        self._segments.append(Segment(kind="load", vaddr=vmaddr, memsz=vmsize, offset=fileoff,
                                      filesz=min(filesize, max(0, self.length - fileoff)),
                                      readable=bool(initprot & 1), writable=bool(initprot & 2),
                                      executable=bool(initprot & 4)))
        self._segprot.append((vmaddr, filesize, maxprot, initprot))
        sfmt = e + ("16s16sQQIIIIIIII" if is64 else "16s16sIIIIIIIII")
        ssize = struct.calcsize(sfmt)
        start = 8 + struct.calcsize(fmt) - 4 + 4
        if nsects * ssize > len(body) - start:
            raise FormatError(f"{self.path}: corrupt Mach-O (segment {name} declares {nsects} sections)")
        for i in range(nsects):
            f = struct.unpack_from(sfmt, body, start + i * ssize)
            sect, _seg, addr, size, offset = f[0], f[1], f[2], f[3], f[4]
            flags = f[8]  # sectname segname addr size offset align reloff nreloc flags ...
            zerofill = (flags & 0xFF) in (0x1, 0xC, 0x12)  # S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL
            sname = fixed_name(sect)
            self._sections.append(Section(
                name=sname, addr=addr, offset=offset, size=size,
                file_size=0 if zerofill else min(size, max(0, self.length - offset)),
                executable=bool(initprot & 4), writable=bool(initprot & 2)))

    def _command(self, cmd: int, body: bytes, n: int) -> None:
        e = self._e
        try:
            if cmd in (LC_SEGMENT, LC_SEGMENT_64):
                self._segment(body, cmd == LC_SEGMENT_64)
            elif cmd in DYLIB_COMMANDS:
                self.dylibs.append(Dylib(self._lc_str(body, 8), DYLIB_COMMANDS[cmd]))
            elif cmd == LC_ID_DYLIB:
                self.id_dylib = self._lc_str(body, 8)
            elif cmd == LC_RPATH:
                self.rpaths.append(self._lc_str(body, 8))
            elif cmd == LC_BUILD_VERSION:
                platform, minos, sdk, _ntools = struct.unpack_from(e + "IIII", body, 8)
                platforms = {int(k): v for k, v in _data()["platforms"].items() if k != "source"}
                self.build_version = BuildVersion(platform=platforms.get(platform, str(platform)),
                                                  minos=_version(minos), sdk=_version(sdk), command="LC_BUILD_VERSION")
            elif cmd in LC_VERSION_MIN:
                version, sdk = struct.unpack_from(e + "II", body, 8)
                self.build_version = BuildVersion(platform=LC_VERSION_MIN[cmd], minos=_version(version),
                                                  sdk=_version(sdk),
                                                  command=f"LC_VERSION_MIN_{LC_VERSION_MIN[cmd].upper()}")
            elif cmd == LC_CODE_SIGNATURE:
                dataoff, datasize = struct.unpack_from(e + "II", body, 8)
                self.code_signature = dataoff, datasize
            elif cmd == LC_SYMTAB:
                symoff, nsyms, stroff, strsize = struct.unpack_from(e + "IIII", body, 8)
                self.symtab = symoff, nsyms, stroff, strsize
            elif cmd == LC_MAIN:
                self._entry = struct.unpack_from(e + "Q", body, 8)[0]
        except struct.error:
            raise FormatError(f"{self.path}: corrupt Mach-O (load command {n}, {cmd:#x}, is too short)") from None

    # --- interface -------------------------------------------------------------------------------------------
    @property
    def entry(self) -> int:
        return self._entry

    def sections(self) -> list[Section]:
        return self._sections

    def segments(self) -> list[Segment]:
        return self._segments

    def data_start(self) -> int | None:
        # Go's debug/buildinfo: the __go_buildinfo section; older Go wrote the blob at the start of the first
        # read-write segment (__DATA).
        s = self.section("__go_buildinfo")
        if s is not None:
            return s.addr
        for vmaddr, filesize, maxprot, initprot in self._segprot:
            if vmaddr and filesize and initprot == 3 and maxprot == 3:
                return vmaddr
        return None

    @cached_property
    def _symbols(self) -> list[Symbol]:
        if self.symtab is None:
            return []
        symoff, nsyms, stroff, strsize = self.symtab
        ent = 16 if self.bits == 64 else 12
        raw = self.read_file(symoff, min(nsyms, MAX_SYMBOLS) * ent)
        strtab = self.read_file(stroff, strsize)
        fmt = self._e + ("IBBHQ" if self.bits == 64 else "IBBHI")
        out = []
        for strx, ntype, sect, _desc, value in struct.iter_unpack(fmt, raw[: len(raw) // ent * ent]):
            if ntype & 0xE0 or strx >= len(strtab):  # skip debugging (stab) entries
                continue
            name = cstring_at(strtab, strx)
            section = self._sections[sect - 1].name if 0 < sect <= len(self._sections) else None
            out.append(Symbol(name=name.removeprefix("_"), value=value, size=0, section=section,
                              kind="undefined" if (ntype & 0x0E) == 0 else ""))
        return out

    def iter_symbols(self) -> Iterator[Symbol]:
        return iter(self._symbols)

    def dynamic_symbols(self) -> list[str]:
        return [s.name for s in self._symbols if s.kind == "undefined"]

    @property
    def has_symbol_table(self) -> bool:
        return self.symtab is not None and self.symtab[1] > 0

    @property
    def needed(self) -> list[str]:
        return [d.name for d in self.dylibs]

    @property
    def rpath(self) -> list[str]:
        return self.rpaths

    # --- details -------------------------------------------------------------------------------------------
    def details(self) -> MachoDetails:
        sig = self.code_signature
        return MachoDetails(
            filetype=self.type, flags=self.flags, pie=bool(self.flags & MH_PIE),
            allow_stack_execution=bool(self.flags & MH_ALLOW_STACK_EXECUTION),
            no_heap_execution=bool(self.flags & MH_NO_HEAP_EXECUTION), dylibs=self.dylibs, rpaths=self.rpaths,
            build_version=self.build_version,
            code_signature=CodeSignatureBlob(present=True, offset=sig[0], size=sig[1]) if sig else CodeSignature(False),
            id_dylib=self.id_dylib, slice_offset=self.base if self.slice else None, slices=self.universal)
