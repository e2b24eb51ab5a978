"""The logic of each rule: a function of one binary's typed facts (:class:`depfree.model.Binary`) and the policy in
force for its path.

Each returns a list of hits ``(message, evidence, key)``; ``key`` tells apart several hits of one rule on one binary
(a target name, a module path) so baselines stay stable. Rules read facts only; they never open the binary.
"""

from __future__ import annotations

from collections.abc import Callable

from depfree.model import Binary, Evidence, Need
from depfree.model_hardening import ElfHardening, MachoHardening
from depfree.policy.config import Policy
from depfree.versions import version_key

Hit = tuple[str, list[Evidence], str]
RuleFn = Callable[[Binary, Policy], list[Hit]]

CA_HINTS = ("ca-certificates", "ca-bundle", "/etc/ssl/certs", "/etc/pki/tls", "cert.pem", "/etc/ssl/")
ZONEINFO_HINTS = ("zoneinfo",)


def dynamic_linkage(b: Binary, p: Policy) -> list[Hit]:
    link = b.linkage
    if link.kind != "dynamic" or b.format != "elf":
        return []
    needed = ", ".join(link.needed) or "no libraries"
    return [(f"dynamically linked: needs {needed}", list(link.evidence) or [Evidence("dynamic", "DT_NEEDED", needed)],
             "")]


def interpreter_present(b: Binary, p: Policy) -> list[Hit]:
    interp = b.linkage.interpreter
    if not interp or b.format != "elf":  # dyld and the Windows loader are part of the OS
        return []
    return [(f"needs the ELF interpreter {interp} on the target", [Evidence("segment", "PT_INTERP", interp)], interp)]


def glibc_too_new(b: Binary, p: Policy) -> list[Hit]:
    have = b.linkage.min_glibc
    if not have or not p.max_glibc or version_key(have) <= version_key(p.max_glibc):
        return []
    syms = [s.symbol for s in b.linkage.glibc_symbols][:5]
    ev = [Evidence("version-need", f"GLIBC_{have}", f"symbol {s}") for s in syms] or [
        Evidence("version-need", f"GLIBC_{have}")]
    return [(f"needs glibc {have}, policy allows at most {p.max_glibc}"
             + (f" (symbols: {', '.join(syms)})" if syms else ""), ev, have)]


def cgo_enabled(b: Binary, p: Policy) -> list[Hit]:
    if b.go is None or b.go.cgo is not True:
        return []
    return [("built with cgo", list(b.go.cgo_evidence), "")]


def not_stripped(b: Binary, p: Policy) -> list[Hit]:
    if b.debug is not None and b.debug.symtab is True:
        return [("symbol table present", [Evidence("section", ".symtab" if b.format == "elf" else "symbol table")],
                 "")]
    return []


def has_dwarf(b: Binary, p: Policy) -> list[Hit]:
    if b.debug is not None and b.debug.dwarf is True:
        return [("DWARF debug information present", [Evidence("section", ".debug_info / .zdebug_info")], "")]
    return []


def not_pie(b: Binary, p: Policy) -> list[Hit]:
    h = b.hardening
    if b.type in ("shared", "relocatable", "core", "dll", "dylib") or h is None:
        return []
    if h.pie is False:
        return [("not position-independent", h.evidence.get("pie") or [Evidence("header", "e_type", b.type)], "")]
    return []


def relro(b: Binary, p: Policy) -> list[Hit]:
    h = b.hardening
    if b.format != "elf" or not isinstance(h, ElfHardening) or h.relro in ("full", "n/a"):
        return []
    return [(f"RELRO is {h.relro}", h.evidence.get("relro") or [Evidence("segment", "PT_GNU_RELRO", h.relro)], "")]


def execstack(b: Binary, p: Policy) -> list[Hit]:
    h = b.hardening
    if isinstance(h, (ElfHardening, MachoHardening)) and h.execstack is True:
        return [("executable stack", h.evidence.get("execstack") or [Evidence("segment", "PT_GNU_STACK", "PF_X")], "")]
    return []


def rwx_segment(b: Binary, p: Policy) -> list[Hit]:
    h = b.hardening
    segs = h.rwx_segments if isinstance(h, (ElfHardening, MachoHardening)) else []
    if not segs:
        return []
    return [(f"{len(segs)} writable and executable segment(s)",
             [Evidence("segment", s.type) if s.type is not None else Evidence("segment", f"#{s.index}",
                                                                               f"vaddr {s.vaddr:#x}")
              for s in segs[:5]], "")]


def upx_packed(b: Binary, p: Policy) -> list[Hit]:
    packer = b.packer
    if packer is None or not packer.name:
        return []
    version = f" {packer.version}" if packer.version else ""
    return [(f"packed with {packer.name}{version}", list(packer.evidence), packer.name)]


def go_too_old(b: Binary, p: Policy) -> list[Hit]:
    go = b.go
    if go is None or not go.version or not p.min_go:
        return []
    have = go.version.removeprefix("go").split()[0]
    if version_key(have) >= version_key(p.min_go):
        return []
    return [(f"built with Go {have}, policy requires at least {p.min_go}", list(go.evidence), have)]


def module_replaced_locally(b: Binary, p: Policy) -> list[Hit]:
    hits: list[Hit] = []
    for dep in b.go.deps if b.go is not None else []:
        rep = dep.replace
        if rep and (rep.path.startswith((".", "/")) or not rep.version or rep.version == "(devel)"):
            hits.append((f"module {dep.path} is replaced by the local path {rep.path}",
                         [Evidence("setting", "=>", f"{dep.path} => {rep.path}")], dep.path))
    return hits


def _need_matching(b: Binary, hints: tuple[str, ...]) -> Need | None:
    for need in b.needs or []:
        paths = [need.what, *need.alternatives]
        if need.kind in ("file", "dir") and any(h in x for x in paths for h in hints):
            return need
    return None


def needs_ca_bundle(b: Binary, p: Policy) -> list[Hit]:
    need = _need_matching(b, CA_HINTS)
    if need is None:
        return []
    return [(f"loads the system CA bundle at run time ({need.what}): {need.why}".rstrip(": "), list(need.evidence),
             "")]


def needs_zoneinfo(b: Binary, p: Policy) -> list[Hit]:
    need = _need_matching(b, ZONEINFO_HINTS)
    if need is None:
        return []
    return [(f"loads time zones from {need.what} at run time", list(need.evidence), "")]


def target_fails(b: Binary, p: Policy) -> list[Hit]:
    hits: list[Hit] = []
    for t in b.targets or []:
        if t.target in p.targets and t.verdict == "fail":
            reasons = t.reasons[:3]
            msg = "; ".join(r.message for r in reasons) or "fails"
            ev = [Evidence("target", t.target, r.code) for r in reasons]
            hits.append((f"will not run on {t.target}: {msg}", ev, t.target))
    return hits


def arch_not_allowed(b: Binary, p: Policy) -> list[Hit]:
    if p.allowed_arch is None or b.arch in p.allowed_arch:
        return []
    return [(f"architecture {b.arch} is not in allowed_arch ({', '.join(p.allowed_arch)})",
             [Evidence("header", "machine", b.machine or b.arch)], b.arch)]


def os_not_allowed(b: Binary, p: Policy) -> list[Hit]:
    if p.allowed_os is None or b.os in p.allowed_os:
        return []
    return [(f"operating system {b.os} is not in allowed_os ({', '.join(p.allowed_os)})",
             [Evidence("header", "os", b.os)], b.os)]


# Binary rules by ID. DF019 (checksum-mismatch) is judged per container, in engine.py.
RULES: dict[str, RuleFn] = {
    "DF001": dynamic_linkage, "DF002": interpreter_present, "DF003": glibc_too_new, "DF004": cgo_enabled,
    "DF005": not_stripped, "DF006": has_dwarf, "DF007": not_pie, "DF008": relro, "DF009": execstack,
    "DF010": rwx_segment, "DF011": upx_packed, "DF012": go_too_old, "DF013": module_replaced_locally,
    "DF014": needs_ca_bundle, "DF015": needs_zoneinfo, "DF016": target_fails, "DF017": arch_not_allowed,
    "DF018": os_not_allowed,
}
