"""Exploit mitigations with the kernel's and the loaders' own rules, Go-aware: a superset of checksec that says
"n/a" (with the reason) where a notion does not apply, instead of a misleading "no".

ELF rules (fs/binfmt_elf.c, glibc elf/dl-*): PIE = ET_DYN run by the loader or static-pie; RELRO needs a
PT_GNU_RELRO segment, and is full only with BIND_NOW (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW); the LAST PT_GNU_STACK
decides the stack's executability, and without one the arch default applies (data/hardening.toml).
"""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING, Any

from depfree.analysis.canary import scan_canary_loads
from depfree.analysis.context import Context
from depfree.analysis.fortify import count_fortify
from depfree.datafiles import load
from depfree.formats.base import Executable
from depfree.formats.elf import ElfExecutable
from depfree.model import Binary, Evidence, to_json

if TYPE_CHECKING:  # imported when such a file is read (pefile is slow to import)
    from depfree.formats.macho import MachoExecutable
    from depfree.formats.pe import PeExecutable

DF_BIND_NOW, DF_TEXTREL, DF_1_NOW = 0x8, 0x4, 0x1


def analyze_hardening(ctx: Context) -> None:
    exe, b = ctx.exe, ctx.binary
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


def _canary_from_code(exe: Executable, out: dict[str, Any], evidence: dict[str, Any], reasons: dict[str, str]) -> None:
    """Static and stripped: no import or symbol of __stack_chk_fail to look at, so count the canary loads in the
    executable segments (analysis/canary.py); ``unknown`` only when the code cannot be read."""
    scan = scan_canary_loads(exe)
    if scan is None:
        out["canary"] = "unknown"
        reasons["canary"] = (f"static and stripped, and no executable code to scan or no canary-load pattern for "
                             f"{exe.arch} (data/hardening.toml)")
        return
    size = f"{scan.scanned:,} bytes of code in {scan.segments} executable segment{'s' * (scan.segments > 1)}"
    cut = " (scan stopped at its size limit)" if scan.truncated else ""
    if scan.loads:
        out["canary"] = "yes"
        evidence["canary"] = _ev(Evidence("segment", "PT_LOAD", f"{scan.loads} canary loads ({scan.where}) in {size}"
                                          f"{cut}"))
        reasons["canary"] = ("static and stripped: canary loads counted in the code; a static C library built with "
                             "the stack protector adds its own functions to the count")
    else:
        out["canary"] = "unknown" if scan.truncated else "no"
        evidence["canary"] = _ev(Evidence("segment", "PT_LOAD", f"no canary load ({scan.where}) in {size}{cut}"))


def _ev(*items: Evidence) -> list[dict[str, str]]:
    return [to_json(e) for e in items]


# --- ELF -----------------------------------------------------------------------------------------------------------
def elf_hardening(exe: ElfExecutable, b: Binary) -> dict[str, Any]:
    data = load("hardening.toml")
    segs = exe.segments()
    evidence: dict[str, list[dict[str, str]]] = {}
    reasons: dict[str, str] = {}
    out: dict[str, Any] = {}

    # PIE
    if b.type in ("shared", "relocatable", "core"):
        out["pie"] = "n/a"
        reasons["pie"] = f"a {b.type} object, not an executable"
    else:
        out["pie"] = b.type == "pie"
        evidence["pie"] = _ev(Evidence("header", "e_type", "ET_DYN" if b.type == "pie" else "ET_EXEC"))

    # RELRO and BIND_NOW
    has_relro = any(s.kind == "PT_GNU_RELRO" for s in segs)
    bind_now = exe.dyn_has("DT_BIND_NOW") or bool(exe.flags & DF_BIND_NOW) or bool(exe.flags_1 & DF_1_NOW)
    out["bind_now"] = bind_now
    if not exe.has_dynamic and not has_relro:
        out["relro"] = "n/a"
        reasons["relro"] = "no dynamic section: no relocations are applied at load time, nothing for RELRO to protect"
    else:
        out["relro"] = "full" if has_relro and bind_now else "partial" if has_relro else "none"
        ev = [Evidence("segment", "PT_GNU_RELRO", "present" if has_relro else "absent")]
        if bind_now:
            which = "DT_BIND_NOW" if exe.dyn_has("DT_BIND_NOW") else "DT_FLAGS DF_BIND_NOW" if exe.flags & DF_BIND_NOW \
                else "DT_FLAGS_1 DF_1_NOW"
            ev.append(Evidence("dynamic", which))
        if bind_now and not has_relro:
            reasons["relro"] = "BIND_NOW is set but there is no PT_GNU_RELRO segment: nothing is made read-only"
        evidence["relro"] = _ev(*ev)

    # Stack executability: the last PT_GNU_STACK wins (fs/binfmt_elf.c); absent => arch default.
    stacks = [s for s in segs if s.kind == "PT_GNU_STACK"]
    if stacks:
        last = stacks[-1]
        out["execstack"] = last.executable
        detail = f"{len(stacks)} entries, the last one decides" if len(stacks) > 1 else ""
        evidence["execstack"] = _ev(Evidence("segment", "PT_GNU_STACK", ("RWE" if last.executable else "RW")
                                             + (f"; {detail}" if detail else "")))
    else:
        default = bool(data["stack_default"].get(b.arch, True))
        out["execstack"] = default
        reasons["execstack"] = (f"no PT_GNU_STACK: the kernel's default for {b.arch} is an "
                                f"{'executable' if default else 'non-executable'} stack")
        evidence["execstack"] = _ev(Evidence("segment", "PT_GNU_STACK", "absent"))
    out["nx"] = not out["execstack"]

    out["rwx_segments"] = [{"index": i, "type": s.kind, "vaddr": s.vaddr} for i, s in enumerate(segs)
                           if s.kind == "load" and s.writable and s.executable]

    # Canary and FORTIFY: meaningful for C code only.
    imports = set(exe.dynamic_symbols())
    if _pure_go(b):
        out["canary"] = "n/a"
        out["fortify"] = "n/a"
        reasons["canary"] = reasons["fortify"] = ("pure Go (cgo off): the Go compiler checks stack bounds in every "
                                                   "function prologue and has no C string functions to fortify")
    else:
        symtab = exe.section(".symtab") is not None
        has_chk = "__stack_chk_fail" in imports or "__stack_chk_guard" in imports or (
            symtab and exe.symbol("__stack_chk_fail") is not None)
        imported = "__stack_chk_fail" in imports or "__stack_chk_guard" in imports
        if has_chk and not imported and b.linkage.kind != "dynamic":
            # A static libc defines __stack_chk_fail for its own code: only the program's main can tell.
            load_in_main = _main_reads_canary(exe, data["canary_load"])
            if load_in_main:
                out["canary"] = "yes"
                evidence["canary"] = _ev(Evidence("symbol", "main", load_in_main))
            else:
                out["canary"] = "unknown"
                scan = scan_canary_loads(exe)
                elsewhere = (f"; {scan.loads} canary loads ({scan.where}) elsewhere in the code, the C library's "
                             "own functions among them") if scan is not None else ""
                reasons["canary"] = ("statically linked: the C library's own code brings __stack_chk_fail, and main "
                                     "does not read the canary (other functions of the program cannot be told "
                                     f"from the library's){elsewhere}")
        elif has_chk:
            out["canary"] = "yes"
            evidence["canary"] = _ev(Evidence("import" if imported else "symbol", "__stack_chk_fail"))
        elif b.linkage.kind != "dynamic" and not symtab:
            _canary_from_code(exe, out, evidence, reasons)
        else:
            out["canary"] = "no"
            evidence["canary"] = _ev(Evidence("import", "__stack_chk_fail", "not referenced"))
        if b.go is not None and b.go.cgo:
            reasons["canary"] = "measured on the cgo/C part; the Go part checks stack bounds itself"
        if b.linkage.kind == "dynamic":
            # glibc's own __*_chk table (data/fortify.toml); as checksec counts: fortifiable = every call a checked
            # variant exists for, fortified or not
            counted = count_fortify(imports)
            fortified, plain = counted.fortified, counted.unchecked
            out["fortify"] = {"fortified": len(fortified), "fortifiable": len(fortified) + len(plain)}
            evidence["fortify"] = _ev(*(Evidence("import", n) for n in fortified[:5]),
                                      *(Evidence("import", n, "unchecked") for n in plain[:3]))
        else:
            out["fortify"] = "unknown"
            reasons["fortify"] = "statically linked: libc's own _chk functions are linked in whether used or not"

    # RPATH / RUNPATH risks
    risky = []
    world = tuple(data["rpath_risk"]["world_writable"])
    for tag, paths in (("RPATH", b.linkage.rpath), ("RUNPATH", b.linkage.runpath)):
        for p in paths:
            if p == "" or p == ".":
                risky.append({"tag": tag, "path": p, "risk": "current-directory"})
            elif p.startswith(("$ORIGIN", "${ORIGIN}")):
                risky.append({"tag": tag, "path": p, "risk": "origin-relative"})
            elif not p.startswith("/"):
                risky.append({"tag": tag, "path": p, "risk": "relative"})
            elif p.startswith(world):
                risky.append({"tag": tag, "path": p, "risk": "world-writable"})
    out["rpath_risks"] = risky
    out["textrel"] = exe.dyn_has("DT_TEXTREL") or bool(exe.flags & DF_TEXTREL)
    out["reasons"] = reasons
    out["evidence"] = evidence
    return out


# --- PE ------------------------------------------------------------------------------------------------------------
PE_FLAGS = {"high_entropy_va": 0x20, "aslr": 0x40, "force_integrity": 0x80, "dep": 0x100, "no_seh": 0x400,
            "cfg": 0x4000}


def pe_hardening(exe: PeExecutable) -> dict[str, Any]:
    dc = exe.headers.dll_characteristics
    out: dict[str, Any] = {k: bool(dc & v) for k, v in PE_FLAGS.items()}
    out["relocations_stripped"] = bool(exe.headers.characteristics & 0x1)
    out["pie"] = out["aslr"] and not out["relocations_stripped"]
    out["nx"] = out["dep"]
    reasons: dict[str, str] = {}
    if exe.bits == 64:
        out["safeseh"] = "n/a"
        reasons["safeseh"] = "64-bit images use table-based exception handling; SafeSEH applies to 32-bit x86 only"
    else:
        out["safeseh"] = _pe_safeseh(exe) if not out["no_seh"] else "n/a"
        if out["no_seh"]:
            reasons["safeseh"] = "IMAGE_DLLCHARACTERISTICS_NO_SEH: the image uses no structured exception handlers"
    evidence = {"aslr": _ev(Evidence("header", "DllCharacteristics", f"{dc:#06x}"))}
    if out["cfg"]:
        # The header bit only says the image is CFG-aware; the loader checks indirect calls against the function
        # table only when the load configuration says the code was instrumented (winchecksec does the same).
        lc = exe.load_config
        guard = lc.guard_flags if lc is not None else 0
        if guard & IMAGE_GUARD_CF_INSTRUMENTED:
            evidence["cfg"] = _ev(Evidence("load-config", "GuardFlags", f"{guard:#x}: IMAGE_GUARD_CF_INSTRUMENTED"))
        else:
            out["cfg"] = False
            reasons["cfg"] = ("DllCharacteristics has GUARD_CF, but the load configuration "
                              + ("is missing" if lc is None else f"has GuardFlags {guard:#x} without "
                                 "IMAGE_GUARD_CF_INSTRUMENTED") + ": the loader does not enforce CFG")
    out["reasons"] = reasons
    out["evidence"] = evidence
    return out


IMAGE_GUARD_CF_INSTRUMENTED = 0x100


def _pe_safeseh(exe: PeExecutable) -> bool:
    lc = exe.load_config
    return bool(lc and lc.se_handler_table and lc.se_handler_count)


# --- Mach-O --------------------------------------------------------------------------------------------------------
CS_MAGIC_EMBEDDED_SIGNATURE, CS_MAGIC_CODEDIRECTORY = 0xFADE0CC0, 0xFADE0C02
CS_RUNTIME, CS_ADHOC = 0x10000, 0x2


def macho_hardening(exe: MachoExecutable) -> dict[str, Any]:
    d = exe.details()
    out: dict[str, Any] = {"pie": d.pie, "execstack": d.allow_stack_execution, "nx": not d.allow_stack_execution,
                           "no_heap_execution": d.no_heap_execution, "code_signature": d.code_signature.present}
    out["hardened_runtime"], out["adhoc_signed"] = _codesign_flags(exe)
    out["rwx_segments"] = [{"index": i, "vaddr": s.vaddr} for i, s in enumerate(exe.segments())
                           if s.writable and s.executable]
    out["evidence"] = {"pie": _ev(Evidence("header", "MH_PIE", "set" if d.pie else "clear"))}
    return out


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
