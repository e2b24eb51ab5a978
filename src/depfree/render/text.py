"""Text report for people: the verdict first, then the facts with the evidence for each.

Each part of a binary's report is a small function in ``SECTIONS`` returning (title, lines); add one per new fact.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary, Report

Lines = list[str]
Section = Callable[[Binary], tuple[str, Lines]]


def _identity(b: Binary) -> tuple[str, Lines]:
    ident = f"{b.format.upper()} {b.bits}-bit {b.endian}-endian {b.type}, {b.os}/{b.arch}"
    lines = [ident, f"size {b.size:,} bytes, sha256 {b.sha256}"]
    low = b.effective_min_os or b.min_os
    if low:
        ev = f"  [dim](from {escape('; '.join(str(e) for e in low.evidence))})[/dim]" if low.evidence else ""
        lines.append(f"minimum {low.os} {low.version}{ev}")
    return "", lines


def _linkage(b: Binary) -> tuple[str, Lines]:
    link = b.linkage
    lines = [f"kind        {link.kind}  [dim]({'; '.join(escape(str(e)) for e in link.evidence)})[/dim]"]
    if link.interpreter:
        lines.append(f"interpreter {escape(link.interpreter)}")
    if link.needed:
        lines.append(f"needed      {escape(', '.join(link.needed))}")
    if link.rpath:
        lines.append(f"rpath       {escape(':'.join(link.rpath))}")
    if link.runpath:
        lines.append(f"runpath     {escape(':'.join(link.runpath))}")
    lines.append(f"libc        {link.libc.flavour}  [dim]({'; '.join(escape(str(e)) for e in link.libc.evidence)})[/dim]")
    for req in link.versioned:
        syms = ", ".join(s.symbol for s in req.symbols[:5]) + (" …" if len(req.symbols) > 5 else "")
        label = "min glibc" if req.family == "GLIBC" else f"min {req.family.lower()}"
        why = f"required by {syms}" if syms else "; ".join(str(e) for e in req.evidence)
        lines.append(f"{label:<11} {req.min_version} from {escape(req.library)}  [dim]({escape(why)})[/dim]")
    if link.glibc_private:
        lines.append("[yellow]uses GLIBC_PRIVATE symbols: tied to the exact glibc build it was linked against[/yellow]")
    for lib in link.libraries:
        if not lib.system and b.format != "elf":
            lines.append(f"[yellow]non-system library {escape(lib.name)}[/yellow]")
    return "linkage", lines


def _pe_macho(b: Binary) -> tuple[str, Lines]:
    """PE / Mach-O specifics (``binary.pe`` / ``binary.macho``, filled by formats/pe.py and formats/macho.py)."""
    lines: Lines = []
    if b.pe:
        p = b.pe
        lines.append(f"subsystem   {escape(str(p.get('subsystem')))}, image base {p.get('image_base', 0):#x}, "
                     f"Authenticode signature {'present' if (p.get('signature') or {}).get('present') else 'absent'}")
        for imp in p.get("imports") or []:
            how = " (delay-load)" if imp.get("delay") else ""
            lines.append(f"imports     {escape(imp['dll'])}{how}: {len(imp.get('functions') or [])} functions")
        return "pe", lines
    if b.macho:
        m = b.macho
        bv = m.get("build_version") or {}
        lines.append(f"filetype    {escape(str(m.get('filetype')))}, PIE {'yes' if m.get('pie') else 'no'}, "
                     f"code signature {'present' if (m.get('code_signature') or {}).get('present') else 'absent'}")
        if bv:
            lines.append(f"platform    {escape(str(bv.get('platform')))} minos {escape(str(bv.get('minos')))} "
                         f"sdk {escape(str(bv.get('sdk')))}  [dim]({escape(str(bv.get('command')))})[/dim]")
        for d in m.get("dylibs") or []:
            if d.get("kind") != "load":
                lines.append(f"dylib       {escape(d['name'])} ({escape(d['kind'])})")
        if m.get("slices"):
            lines.append("universal   " + ", ".join(f"{s['arch']} at {s['offset']:,}" for s in m["slices"]))
        return "macho", lines
    return "", lines


def _go(b: Binary) -> tuple[str, Lines]:
    go = b.go
    if go is None:
        return "go", []
    lines = [f"version     {go.version or 'unknown'}  [dim](from {go.source}; {', '.join(escape(str(e)) for e in go.evidence)})[/dim]",
             f"compiler    {go.compiler}"]
    if go.path:
        lines.append(f"path        {escape(go.path)}")
    if go.main:
        lines.append(f"main        {escape(go.main.path)} {escape(go.main.version)}")
    if go.deps:
        lines.append(f"deps        {len(go.deps)}")
        for d in go.deps[:20]:
            rep = f" => {d.replace.path} {d.replace.version}".rstrip() if d.replace else ""
            lines.append(f"  {escape(d.path)} {escape(d.version)}{escape(rep)}")
        if len(go.deps) > 20:
            lines.append(f"  … {len(go.deps) - 20} more")
    cgo = {True: "on", False: "off", None: "unknown"}[go.cgo]
    ev = "; ".join(escape(str(e)) for e in go.cgo_evidence)
    lines.append(f"cgo         {cgo}" + (f"  [dim]({ev})[/dim]" if ev else ""))
    keys = ("GOOS", "GOARCH", "GOAMD64", "GOARM", "GOARM64", "GO386", "-buildmode", "-tags", "-ldflags", "-trimpath",
            "vcs", "vcs.revision", "vcs.time", "vcs.modified")
    for k in keys:
        if k in go.settings:
            lines.append(f"{k:<11} {escape(go.settings[k])}")
    if go.packages is not None:
        kinds: dict[str, int] = {}
        for p in go.packages:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        lines.append("packages    " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
        for p in go.packages[:10]:
            mod = f"  [dim]({escape(p.module)})[/dim]" if p.module and p.module not in ("std", p.path) else ""
            lines.append(f"  {p.size:>10,}  {escape(p.path)}  {p.kind}{mod}")
    if go.features:
        on = [k for k, f in go.features.items() if f.get("value") is True]
        unknown = [k for k, f in go.features.items() if f.get("value") is None]
        lines.append("features    " + (", ".join(on) or "none") + (f"  [dim](unknown: {', '.join(unknown)})[/dim]"
                                                                 if unknown else ""))
    return "go", lines


def _yn(v: object) -> str:
    return {True: "yes", False: "no"}.get(v, str(v)) if isinstance(v, bool) or v is None else str(v)


def hardening_summary(b: Binary) -> str:
    """One line, checksec-like, with the Go-aware n/a."""
    h = b.hardening or {}
    if not h:
        return ""
    parts = [f"PIE {_yn(h.get('pie'))}", f"NX {_yn(h.get('nx'))}"]
    if b.format == "elf":
        parts.insert(0, f"RELRO {h.get('relro')}")
        fort = h.get("fortify")
        fort_s = f"{fort['fortified']}/{fort['fortifiable']}" if isinstance(fort, dict) else str(fort)
        parts += [f"canary {h.get('canary')}", f"fortify {fort_s}"]
        if h.get("rwx_segments"):
            parts.append(f"RWX segments {len(h['rwx_segments'])}")
        if h.get("textrel"):
            parts.append("TEXTREL")
        if h.get("rpath_risks"):
            parts.append("risky RPATH/RUNPATH " + ",".join(r["path"] for r in h["rpath_risks"]))
    elif b.format == "pe":
        parts += [f"ASLR {_yn(h.get('aslr'))}", f"high-entropy VA {_yn(h.get('high_entropy_va'))}",
                  f"CFG {_yn(h.get('cfg'))}", f"SafeSEH {h.get('safeseh')}"]
    else:
        parts += [f"code signature {_yn(h.get('code_signature'))}", f"hardened runtime {_yn(h.get('hardened_runtime'))}"]
    return ", ".join(parts)


def _hardening(b: Binary) -> tuple[str, Lines]:
    line = hardening_summary(b)
    if not line:
        return "hardening", []
    lines = [escape(line)]
    for key, why in ((b.hardening or {}).get("reasons") or {}).items():
        lines.append(f"[dim]{escape(key)}: {escape(why)}[/dim]")
    if b.debug:
        lines.append(f"debug: {escape(b.debug['stripped'])}"
                     + (f"; build-id {b.debug['build_id']}" if b.debug.get("build_id") else ""))
    if b.packer:
        p = b.packer
        if p.get("name"):
            lines.append(f"[yellow]packed with {escape(p['name'])} {escape(str(p.get('version') or ''))}[/yellow]"
                         + (f" — {escape(p['note'])}" if p.get("note") else ""))
        if p.get("overlay"):
            lines.append(f"[yellow]{p['overlay']['size']:,} bytes of overlay data at offset {p['overlay']['offset']:,}"
                         "[/yellow]")
        if p.get("high_entropy_text"):
            lines.append(f"[yellow]high-entropy code (entropy {p['text_entropy']}): compressed or encrypted[/yellow]")
    return "hardening", lines


def _needs_and_targets(b: Binary) -> tuple[str, Lines]:
    lines = []
    for n in b.needs or []:
        if n.kind in ("kernel", "os") and b.effective_min_os is not None:
            continue  # folded into the one effective "minimum" line at the top, with its sources
        opt = "" if n.required else " (optional)"
        ev = "; ".join(str(e) for e in n.evidence[:1])
        lines.append(f"{n.kind:<11} {escape(n.what)}{opt}  [dim]({escape(n.why)}; {escape(ev)})[/dim]")
    if b.targets:
        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}
        lines.append("targets     " + "  ".join(f"{mark[t['verdict']]} {escape(t['target'])}" for t in b.targets))
    return "needs", lines


def _verify(b: Binary) -> tuple[str, Lines]:
    """Static needs next to what the sandboxed runs reached for (render/verify.py)."""
    from depfree.render.verify import verify_section

    return verify_section(b)


SECTIONS: list[Section] = [_identity, _linkage, _pe_macho, _go, _hardening, _needs_and_targets, _verify]


def render_binary(b: Binary) -> Lines:
    color = "green" if b.verdict.startswith("self-contained") else "yellow"
    head = escape(b.path + (f" [{b.slice}]" if b.slice else ""))
    out = [f"[bold]{head}[/bold]: [bold {color}]{escape(b.verdict)}[/bold {color}]"]
    res = b.resolution or {}
    if res.get("verdict") and res.get("context") == "root":  # inspect --root: the verdict on that machine
        from depfree.targets.context import summary_line

        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}[res["verdict"]]
        out.append(f"  {mark} on the root: {escape(summary_line(res))}")
    for section in SECTIONS:
        title, lines = section(b)
        if not lines:
            continue
        if title:
            out.append(f"  [bold]{title}[/bold]")
        out.extend(("    " if title else "  ") + line for line in lines)
    return out


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    for i, b in enumerate(report.binaries):
        if i:
            console.print()
        for line in render_binary(b):
            console.print(line)
