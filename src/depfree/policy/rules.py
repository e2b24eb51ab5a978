"""The logic of each rule: a function of one binary's report (the JSON form) and the policy in force for its path.

Each returns a list of hits ``(message, evidence, key)``; ``key`` tells apart several hits of one rule on one binary
(a target name, a module path) so baselines stay stable. Rules read facts only; they never open the binary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from depfree.policy.config import Policy
from depfree.versions import version_key

Hit = tuple[str, list[dict[str, str]], str]
RuleFn = Callable[[dict[str, Any], Policy], list[Hit]]

CA_HINTS = ("ca-certificates", "ca-bundle", "/etc/ssl/certs", "/etc/pki/tls", "cert.pem", "/etc/ssl/")
ZONEINFO_HINTS = ("zoneinfo",)


def _ev(kind: str, name: str, detail: str = "") -> dict[str, str]:
    return {"kind": kind, "name": name, "detail": detail} if detail else {"kind": kind, "name": name}


def dynamic_linkage(b: dict[str, Any], p: Policy) -> list[Hit]:
    link = b["linkage"]
    if link["kind"] != "dynamic" or b["format"] != "elf":
        return []
    needed = ", ".join(link["needed"]) or "no libraries"
    return [(f"dynamically linked: needs {needed}", link.get("evidence") or [_ev("dynamic", "DT_NEEDED", needed)], "")]


def interpreter_present(b: dict[str, Any], p: Policy) -> list[Hit]:
    interp = b["linkage"].get("interpreter")
    if not interp or b["format"] != "elf":  # dyld and the Windows loader are part of the OS
        return []
    return [(f"needs the ELF interpreter {interp} on the target", [_ev("segment", "PT_INTERP", interp)], interp)]


def glibc_too_new(b: dict[str, Any], p: Policy) -> list[Hit]:
    have = b["linkage"].get("min_glibc")
    if not have or not p.max_glibc or version_key(have) <= version_key(p.max_glibc):
        return []
    syms = [s["symbol"] for s in b["linkage"].get("glibc_symbols", [])][:5]
    ev = [_ev("version-need", f"GLIBC_{have}", f"symbol {s}") for s in syms] or [_ev("version-need", f"GLIBC_{have}")]
    return [(f"needs glibc {have}, policy allows at most {p.max_glibc}"
             + (f" (symbols: {', '.join(syms)})" if syms else ""), ev, have)]


def cgo_enabled(b: dict[str, Any], p: Policy) -> list[Hit]:
    go = b.get("go")
    if not go or go.get("cgo") is not True:
        return []
    return [("built with cgo", go.get("cgo_evidence") or [], "")]


def not_stripped(b: dict[str, Any], p: Policy) -> list[Hit]:
    debug = b.get("debug") or {}
    if debug.get("symtab") is True:
        return [("symbol table present", [_ev("section", ".symtab" if b["format"] == "elf" else "symbol table")], "")]
    return []


def has_dwarf(b: dict[str, Any], p: Policy) -> list[Hit]:
    debug = b.get("debug") or {}
    if debug.get("dwarf") is True:
        return [("DWARF debug information present", [_ev("section", ".debug_info / .zdebug_info")], "")]
    return []


def not_pie(b: dict[str, Any], p: Policy) -> list[Hit]:
    h = b.get("hardening") or {}
    if b["type"] in ("shared", "relocatable", "core", "dll", "dylib"):
        return []
    if h.get("pie") is False:
        return [("not position-independent", _evidence_of(h, "pie") or [_ev("header", "e_type", b["type"])], "")]
    return []


def relro(b: dict[str, Any], p: Policy) -> list[Hit]:
    h = b.get("hardening") or {}
    value = h.get("relro")
    if b["format"] != "elf" or value in (None, "full", "n/a"):
        return []
    return [(f"RELRO is {value}", _evidence_of(h, "relro") or [_ev("segment", "PT_GNU_RELRO", str(value))], "")]


def execstack(b: dict[str, Any], p: Policy) -> list[Hit]:
    h = b.get("hardening") or {}
    if h.get("execstack") is True:
        return [("executable stack", _evidence_of(h, "execstack") or [_ev("segment", "PT_GNU_STACK", "PF_X")], "")]
    return []


def rwx_segment(b: dict[str, Any], p: Policy) -> list[Hit]:
    h = b.get("hardening") or {}
    segs = h.get("rwx_segments") or []
    if not segs:
        return []
    return [(f"{len(segs)} writable and executable segment(s)",
             [_ev("segment", str(s.get("type", s)) if isinstance(s, dict) else str(s)) for s in segs[:5]], "")]


def upx_packed(b: dict[str, Any], p: Policy) -> list[Hit]:
    packer = b.get("packer")
    if not packer or not packer.get("name"):
        return []
    version = f" {packer['version']}" if packer.get("version") else ""
    return [(f"packed with {packer['name']}{version}", packer.get("evidence") or [], packer["name"])]


def go_too_old(b: dict[str, Any], p: Policy) -> list[Hit]:
    go = b.get("go")
    if not go or not go.get("version") or not p.min_go:
        return []
    have = go["version"].removeprefix("go").split()[0]
    if version_key(have) >= version_key(p.min_go):
        return []
    return [(f"built with Go {have}, policy requires at least {p.min_go}", go.get("evidence") or [], have)]


def module_replaced_locally(b: dict[str, Any], p: Policy) -> list[Hit]:
    go = b.get("go") or {}
    hits = []
    for dep in go.get("deps") or []:
        rep = dep.get("replace")
        if rep and (rep["path"].startswith((".", "/")) or not rep.get("version") or rep.get("version") == "(devel)"):
            hits.append((f"module {dep['path']} is replaced by the local path {rep['path']}",
                         [_ev("setting", "=>", f"{dep['path']} => {rep['path']}")], dep["path"]))
    return hits


def _need_matching(b: dict[str, Any], hints: tuple[str, ...]) -> dict[str, Any] | None:
    for need in b.get("needs") or []:
        paths = [need.get("what", "")] + list(need.get("alternatives") or [])
        if need.get("kind") in ("file", "dir") and any(h in x for x in paths for h in hints):
            return need
    return None


def needs_ca_bundle(b: dict[str, Any], p: Policy) -> list[Hit]:
    need = _need_matching(b, CA_HINTS)
    if need is None:
        return []
    return [(f"loads the system CA bundle at run time ({need['what']}): {need.get('why', '')}".rstrip(": "),
             need.get("evidence") or [], "")]


def needs_zoneinfo(b: dict[str, Any], p: Policy) -> list[Hit]:
    need = _need_matching(b, ZONEINFO_HINTS)
    if need is None:
        return []
    return [(f"loads time zones from {need['what']} at run time", need.get("evidence") or [], "")]


def target_fails(b: dict[str, Any], p: Policy) -> list[Hit]:
    hits = []
    for t in b.get("targets") or []:
        if t.get("target") in p.targets and t.get("verdict") == "fail":
            reasons = t.get("reasons") or []
            msg = "; ".join(r.get("message", "") for r in reasons[:3]) or "fails"
            ev = [_ev("target", t["target"], r.get("code", "")) for r in reasons[:3]]
            hits.append((f"will not run on {t['target']}: {msg}", ev, t["target"]))
    return hits


def arch_not_allowed(b: dict[str, Any], p: Policy) -> list[Hit]:
    if p.allowed_arch is None or b["arch"] in p.allowed_arch:
        return []
    return [(f"architecture {b['arch']} is not in allowed_arch ({', '.join(p.allowed_arch)})",
             [_ev("header", "machine", b.get("machine") or b["arch"])], b["arch"])]


def os_not_allowed(b: dict[str, Any], p: Policy) -> list[Hit]:
    if p.allowed_os is None or b["os"] in p.allowed_os:
        return []
    return [(f"operating system {b['os']} is not in allowed_os ({', '.join(p.allowed_os)})",
             [_ev("header", "os", b["os"])], b["os"])]


def _evidence_of(section: dict[str, Any], key: str) -> list[dict[str, str]]:
    ev = section.get("evidence")
    if isinstance(ev, dict):
        got = ev.get(key)
        return got if isinstance(got, list) else []
    return []


# Binary rules by ID. DF019 (checksum-mismatch) is judged per container, in engine.py.
RULES: dict[str, RuleFn] = {
    "DF001": dynamic_linkage, "DF002": interpreter_present, "DF003": glibc_too_new, "DF004": cgo_enabled,
    "DF005": not_stripped, "DF006": has_dwarf, "DF007": not_pie, "DF008": relro, "DF009": execstack,
    "DF010": rwx_segment, "DF011": upx_packed, "DF012": go_too_old, "DF013": module_replaced_locally,
    "DF014": needs_ca_bundle, "DF015": needs_zoneinfo, "DF016": target_fails, "DF017": arch_not_allowed,
    "DF018": os_not_allowed,
}
