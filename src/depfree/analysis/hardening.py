"""Exploit mitigations with the kernel's and the loaders' own rules, Go-aware: a superset of checksec that says
"n/a" (with the reason) where a notion does not apply, instead of a misleading "no".

ELF rules (fs/binfmt_elf.c, glibc elf/dl-*): PIE = ET_DYN run by the loader or static-pie; RELRO needs a
PT_GNU_RELRO segment, and is full only with BIND_NOW (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW); the LAST PT_GNU_STACK
decides the stack's executability, and without one the arch default applies (data/hardening.toml).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from depfree.analysis.canary import scan_canary_loads
from depfree.analysis.context import Context
from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.model import Binary, Evidence
from depfree.model_hardening import ElfHardening, Fortify, Hardening, MachoHardening, PeHardening, RpathRisk, RwxSegment

if TYPE_CHECKING:  # imported when such a file is read (pefile is slow to import)
    from depfree.formats.macho import MachoExecutable
    from depfree.formats.pe import PeExecutable

DF_BIND_NOW, DF_TEXTREL, DF_1_NOW = 0x8, 0x4, 0x1
CANARY_SYMBOLS = ("__stack_chk_fail", "main")  # the .symtab names the canary check asks (pipeline's hint)


def analyze_hardening(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
    facts: Hardening
    if isinstance(exe, ElfExecutable):
        facts = elf_hardening(exe, b)
    elif exe.format == "pe":
        from depfree.formats.pe import PeExecutable

        assert isinstance(exe, PeExecutable)
        facts = pe_hardening(exe)
    else:
        from depfree.formats.macho import MachoExecutable

        assert isinstance(exe, MachoExecutable)  # every reader is one of the three
        facts = macho_hardening(exe)
    b.hardening = facts


def _pure_go(b: Binary) -> bool:
    return b.go is not None and b.go.cgo is False


def _cgo(b: Binary) -> bool:
    return b.go is not None and bool(b.go.cgo)


def _main_reads_canary(exe: Executable, patterns: dict[str, str]) -> str | None:
    """What shows that ``main`` copies the stack canary into its frame (x86 and x86-64), or None."""
    pattern = patterns.get(exe.arch)
    main = exe.symbol("main")
    if pattern is None or main is None or not main.value or not 0 < main.size <= 1 << 20:
        return None
    off = exe.vaddr_to_offset(main.value)
    code = exe.read_file(off, main.size) if off is not None else b""
    m = re.search(pattern.encode("ascii"), code)
    if m is None:
        return None
    where = "%fs:0x28" if exe.arch == "amd64" else "%gs:0x14"
    return f"reads the canary from {where} at main+{m.start():#x}"


# --- ELF: one small named check per property, run in order -------------------------------------------------------
@dataclass
class ElfInput:
    """What the ELF checks read: the executable, the facts so far, data/hardening.toml, the segments, the imports."""

    exe: ElfExecutable
    b: Binary
    data: dict[str, Any]
    segs: list[Any]
    imports: set[str]


ElfCheck = Callable[[ElfInput, ElfHardening], None]


def _pie(x: ElfInput, h: ElfHardening) -> None:
    if x.b.type in ("shared", "relocatable", "core"):
        h.pie = "n/a"
        h.reasons["pie"] = f"a {x.b.type} object, not an executable"
    else:
        h.pie = x.b.type == "pie"
        h.evidence["pie"] = [Evidence("header", "e_type", "ET_DYN" if x.b.type == "pie" else "ET_EXEC")]


def _relro(x: ElfInput, h: ElfHardening) -> None:
    """RELRO needs PT_GNU_RELRO, and is full only with BIND_NOW (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW)."""
    exe = x.exe
    has_relro = any(s.kind == "PT_GNU_RELRO" for s in x.segs)
    h.bind_now = exe.dyn_has("DT_BIND_NOW") or bool(exe.flags & DF_BIND_NOW) or bool(exe.flags_1 & DF_1_NOW)
    if not exe.has_dynamic and not has_relro:
        h.relro = "n/a"
        h.reasons["relro"] = "no dynamic section: no relocations are applied at load time, nothing for RELRO to protect"
        return
    h.relro = "full" if has_relro and h.bind_now else "partial" if has_relro else "none"
    ev = [Evidence("segment", "PT_GNU_RELRO", "present" if has_relro else "absent")]
    if h.bind_now:
        which = "DT_BIND_NOW" if exe.dyn_has("DT_BIND_NOW") else "DT_FLAGS DF_BIND_NOW" if exe.flags & DF_BIND_NOW \
            else "DT_FLAGS_1 DF_1_NOW"
        ev.append(Evidence("dynamic", which))
    if h.bind_now and not has_relro:
        h.reasons["relro"] = "BIND_NOW is set but there is no PT_GNU_RELRO segment: nothing is made read-only"
    h.evidence["relro"] = ev


def _execstack(x: ElfInput, h: ElfHardening) -> None:
    """The last PT_GNU_STACK wins (fs/binfmt_elf.c); without one the arch default applies."""
    stacks = [s for s in x.segs if s.kind == "PT_GNU_STACK"]
    if stacks:
        last = stacks[-1]
        h.execstack = last.executable
        detail = f"{len(stacks)} entries, the last one decides" if len(stacks) > 1 else ""
        h.evidence["execstack"] = [Evidence("segment", "PT_GNU_STACK", ("RWE" if last.executable else "RW")
                                            + (f"; {detail}" if detail else ""))]
    else:
        default = bool(x.data["stack_default"].get(x.b.arch, True))
        h.execstack = default
        h.reasons["execstack"] = (f"no PT_GNU_STACK: the kernel's default for {x.b.arch} is an "
                                  f"{'executable' if default else 'non-executable'} stack")
        h.evidence["execstack"] = [Evidence("segment", "PT_GNU_STACK", "absent")]
    h.nx = not h.execstack


def _rwx(x: ElfInput, h: ElfHardening) -> None:
    h.rwx_segments = [RwxSegment(i, s.kind, s.vaddr) for i, s in enumerate(x.segs)
                      if s.kind == "load" and s.writable and s.executable]


PURE_GO = ("pure Go (cgo off): the Go compiler checks stack bounds in every function prologue and has no C string "
           "functions to fortify")


def _canary(x: ElfInput, h: ElfHardening) -> None:
    """Meaningful for C code only: the import or symbol of __stack_chk_fail, main's own canary load for static
    binaries, the canary loads counted in the code when static and stripped."""
    exe, b, imports = x.exe, x.b, x.imports
    if _pure_go(b):
        h.canary = "n/a"
        h.reasons["canary"] = PURE_GO
        return
    symtab = exe.section(".symtab") is not None
    imported = "__stack_chk_fail" in imports or "__stack_chk_guard" in imports
    has_chk = imported or (symtab and exe.symbol("__stack_chk_fail") is not None)
    if has_chk and not imported and b.linkage.kind != "dynamic":
        _canary_static(x, h)
    elif has_chk:
        h.canary = "yes"
        h.evidence["canary"] = [Evidence("import" if imported else "symbol", "__stack_chk_fail")]
    elif b.linkage.kind != "dynamic" and not symtab:
        _canary_from_code(exe, h)
    else:
        h.canary = "no"
        h.evidence["canary"] = [Evidence("import", "__stack_chk_fail", "not referenced")]
    if _cgo(b):
        h.reasons["canary"] = "measured on the cgo/C part; the Go part checks stack bounds itself"


def _canary_static(x: ElfInput, h: ElfHardening) -> None:
    """A static libc defines __stack_chk_fail for its own code: only the program's main can tell."""
    load_in_main = _main_reads_canary(x.exe, x.data["canary_load"])
    if load_in_main:
        h.canary = "yes"
        h.evidence["canary"] = [Evidence("symbol", "main", load_in_main)]
        return
    h.canary = "unknown"
    if _cgo(x.b):
        # The reason is the cgo note _canary writes over this one, so the canary loads counted in the code, which
        # only this reason shows, are not counted (~13 ms of the docker CLI's 20 MB of code; issue 23).
        return
    scan = scan_canary_loads(x.exe)
    elsewhere = (f"; {scan.loads} canary loads ({scan.where}) elsewhere in the code, the C library's "
                 "own functions among them") if scan is not None else ""
    h.reasons["canary"] = ("statically linked: the C library's own code brings __stack_chk_fail, and main "
                           "does not read the canary (other functions of the program cannot be told "
                           f"from the library's){elsewhere}")


def _canary_from_code(exe: Executable, h: ElfHardening) -> None:
    """Static and stripped: no import or symbol of __stack_chk_fail to look at, so count the canary loads in the
    executable segments (analysis/canary.py); ``unknown`` only when the code cannot be read."""
    scan = scan_canary_loads(exe)
    if scan is None:
        h.canary = "unknown"
        h.reasons["canary"] = (f"static and stripped, and no executable code to scan or no canary-load pattern for "
                               f"{exe.arch} (data/hardening.toml)")
        return
    size = f"{scan.scanned:,} bytes of code in {scan.segments} executable segment{'s' * (scan.segments > 1)}"
    cut = " (scan stopped at its size limit)" if scan.truncated else ""
    if scan.loads:
        h.canary = "yes"
        h.evidence["canary"] = [Evidence("segment", "PT_LOAD", f"{scan.loads} canary loads ({scan.where}) in {size}"
                                         f"{cut}")]
        h.reasons["canary"] = ("static and stripped: canary loads counted in the code; a static C library built "
                               "with the stack protector adds its own functions to the count")
    else:
        h.canary = "unknown" if scan.truncated else "no"
        h.evidence["canary"] = [Evidence("segment", "PT_LOAD", f"no canary load ({scan.where}) in {size}{cut}")]


def _fortify(x: ElfInput, h: ElfHardening) -> None:
    """glibc's own __*_chk table (data/fortify.toml); as checksec counts: fortifiable = every call a checked
    variant exists for, fortified or not."""
    if _pure_go(x.b):
        h.fortify = "n/a"
        h.reasons["fortify"] = PURE_GO
    elif x.b.linkage.kind == "dynamic":
        from depfree.analysis.fortify import count_fortify  # (~2 ms of imports: a Go binary has no C to fortify)

        counted = count_fortify(x.imports)
        fortified, plain = counted.fortified, counted.unchecked
        h.fortify = Fortify(fortified=len(fortified), fortifiable=len(fortified) + len(plain))
        h.evidence["fortify"] = [*(Evidence("import", n) for n in fortified[:5]),
                                 *(Evidence("import", n, "unchecked") for n in plain[:3])]
    else:
        h.fortify = "unknown"
        h.reasons["fortify"] = "statically linked: libc's own _chk functions are linked in whether used or not"


def _rpath_risks(x: ElfInput, h: ElfHardening) -> None:
    world = tuple(x.data["rpath_risk"]["world_writable"])
    for tag, paths in (("RPATH", x.b.linkage.rpath), ("RUNPATH", x.b.linkage.runpath)):
        for p in paths:
            if p == "" or p == ".":
                h.rpath_risks.append(RpathRisk(tag, p, "current-directory"))
            elif p.startswith(("$ORIGIN", "${ORIGIN}")):
                h.rpath_risks.append(RpathRisk(tag, p, "origin-relative"))
            elif not p.startswith("/"):
                h.rpath_risks.append(RpathRisk(tag, p, "relative"))
            elif p.startswith(world):
                h.rpath_risks.append(RpathRisk(tag, p, "world-writable"))


def _textrel(x: ElfInput, h: ElfHardening) -> None:
    h.textrel = x.exe.dyn_has("DT_TEXTREL") or bool(x.exe.flags & DF_TEXTREL)


# The ELF properties, in the order their reasons and evidence are reported.
ELF_CHECKS: list[ElfCheck] = [_pie, _relro, _execstack, _rwx, _canary, _fortify, _rpath_risks, _textrel]


def elf_hardening(exe: ElfExecutable, b: Binary) -> ElfHardening:
    x = ElfInput(exe, b, load("hardening.toml"), exe.segments(), set(exe.dynamic_symbols()))
    h = ElfHardening()
    for check in ELF_CHECKS:
        check(x, h)
    return h


# --- PE ------------------------------------------------------------------------------------------------------------
PE_FLAGS = {"high_entropy_va": 0x20, "aslr": 0x40, "force_integrity": 0x80, "dep": 0x100, "no_seh": 0x400,
            "cfg": 0x4000}


def pe_hardening(exe: PeExecutable) -> PeHardening:
    dc = exe.headers.dll_characteristics
    flag = {k: bool(dc & v) for k, v in PE_FLAGS.items()}
    stripped = bool(exe.headers.characteristics & 0x1)
    h = PeHardening(high_entropy_va=flag["high_entropy_va"], aslr=flag["aslr"], force_integrity=flag["force_integrity"],
                    dep=flag["dep"], no_seh=flag["no_seh"], cfg=flag["cfg"], relocations_stripped=stripped,
                    pie=flag["aslr"] and not stripped, nx=flag["dep"])
    if exe.bits == 64:
        h.reasons["safeseh"] = "64-bit images use table-based exception handling; SafeSEH applies to 32-bit x86 only"
    elif h.no_seh:
        h.reasons["safeseh"] = "IMAGE_DLLCHARACTERISTICS_NO_SEH: the image uses no structured exception handlers"
    else:
        h.safeseh = _pe_safeseh(exe)
    h.evidence["aslr"] = [Evidence("header", "DllCharacteristics", f"{dc:#06x}")]
    if h.cfg:
        # The header bit only says the image is CFG-aware; the loader checks indirect calls against the function
        # table only when the load configuration says the code was instrumented (winchecksec does the same).
        lc = exe.load_config
        guard = lc.guard_flags if lc is not None else 0
        if guard & IMAGE_GUARD_CF_INSTRUMENTED:
            h.evidence["cfg"] = [Evidence("load-config", "GuardFlags", f"{guard:#x}: IMAGE_GUARD_CF_INSTRUMENTED")]
        else:
            h.cfg = False
            h.reasons["cfg"] = ("DllCharacteristics has GUARD_CF, but the load configuration "
                                + ("is missing" if lc is None else f"has GuardFlags {guard:#x} without "
                                   "IMAGE_GUARD_CF_INSTRUMENTED") + ": the loader does not enforce CFG")
    return h


IMAGE_GUARD_CF_INSTRUMENTED = 0x100


def _pe_safeseh(exe: PeExecutable) -> bool:
    lc = exe.load_config
    return bool(lc and lc.se_handler_table and lc.se_handler_count)


# --- Mach-O --------------------------------------------------------------------------------------------------------
CS_MAGIC_EMBEDDED_SIGNATURE, CS_MAGIC_CODEDIRECTORY = 0xFADE0CC0, 0xFADE0C02
CS_RUNTIME, CS_ADHOC = 0x10000, 0x2


def macho_hardening(exe: MachoExecutable) -> MachoHardening:
    d = exe.details()
    runtime, adhoc = _codesign_flags(exe)
    return MachoHardening(
        pie=d.pie, execstack=d.allow_stack_execution, nx=not d.allow_stack_execution,
        no_heap_execution=d.no_heap_execution, code_signature=d.code_signature.present,
        hardened_runtime=runtime, adhoc_signed=adhoc,
        rwx_segments=[RwxSegment(i, None, s.vaddr) for i, s in enumerate(exe.segments()) if s.writable and s.executable],
        evidence={"pie": [Evidence("header", "MH_PIE", "set" if d.pie else "clear")]})


def _codesign_flags(exe: MachoExecutable) -> tuple[bool | None, bool | None]:
    sig = exe.code_signature
    if not sig:
        return None, None
    off, size = sig
    blob = exe.read_file(off, min(size, 1 << 20))
    if len(blob) < 12 or struct.unpack_from(">I", blob)[0] != CS_MAGIC_EMBEDDED_SIGNATURE:
        return None, None
    count = struct.unpack_from(">I", blob, 8)[0]
    for i in range(min(count, 64)):
        if 12 + i * 8 + 8 > len(blob):
            break
        _typ, boff = struct.unpack_from(">II", blob, 12 + i * 8)
        if boff + 16 <= len(blob) and struct.unpack_from(">I", blob, boff)[0] == CS_MAGIC_CODEDIRECTORY:
            flags = struct.unpack_from(">I", blob, boff + 12)[0]
            return bool(flags & CS_RUNTIME), bool(flags & CS_ADHOC)
    return None, None
