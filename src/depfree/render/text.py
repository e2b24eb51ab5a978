"""Text report for people: the verdict first, then the facts with the evidence for each.

Each part of a binary's report is a small function in ``SECTIONS`` returning (title, lines); add one per new fact.
A line may be an :class:`Ev` (the evidence of the line above: shown, indented, with ``-v``), a :class:`More` (an
item past the first few: shown with ``--all``) or a :class:`Cut` (the "… N more" line shown without ``--all``).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary, Report
from depfree.model_hardening import ElfHardening, Fortify, PeHardening

Lines = list[str]
Section = Callable[[Binary], tuple[str, Lines]]


class Ev(str):
    """Evidence of the line before it; printed on an indented line with -v."""


class More(str):
    """An item past the first few of a list; printed with --all."""


class Cut(str):
    """The "… N more" line that stands for the More lines without --all."""


def ev(items: object) -> Lines:
    """One evidence line per item of ``items`` (Evidence objects): ``evidence: kind name: detail``."""
    out: Lines = []
    for e in items or []:  # type: ignore[attr-defined]
        text = f"{e.kind} {e.name}" + (f": {e.detail}" if e.detail else "")
        out.append(Ev("[dim]evidence: " + escape(text) + "[/dim]"))
    return out


def limited(lines: Lines, limit: int, noun: str) -> Lines:
    """The first ``limit`` lines, the rest as More lines and a Cut line that counts them."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], *(More(x) for x in lines[limit:]),
            Cut(f"  … {len(lines) - limit} more {noun} (--all lists them)")]


def _identity(b: Binary) -> tuple[str, Lines]:
    ident = f"{b.format.upper()} {b.bits}-bit {b.endian}-endian {b.type}, {b.os}/{b.arch}"
    lines = [ident, f"size {b.size:,} bytes" + (f", sha256 {b.sha256}" if b.sha256 else "")]
    low = b.effective_min_os or b.min_os
    if low:
        # one effective minimum; its sources in short (the highest of them wins), their evidence with -v
        srcs = ", ".join(f"{e.name} {e.detail.split(';')[0]}" for e in low.evidence) if len(low.evidence) > 1 else ""
        lines.append(f"minimum {low.os} {low.version}" + (f"  [dim](highest of: {escape(srcs)})[/dim]" if srcs else ""))
        lines += ev(low.evidence)
    return "", lines


def _linkage(b: Binary) -> tuple[str, Lines]:
    link = b.linkage
    lines = [f"kind        {link.kind}", *ev(link.evidence)]
    if link.interpreter:
        lines.append(f"interpreter {escape(link.interpreter)}")
    if link.needed:
        lines.append(f"needed      {escape(', '.join(link.needed))}")
    if link.rpath:
        lines.append(f"rpath       {escape(':'.join(link.rpath))}")
    if link.runpath:
        lines.append(f"runpath     {escape(':'.join(link.runpath))}")
    lines.append(f"libc        {link.libc.flavour}")
    lines += ev(link.libc.evidence)
    for req in link.versioned:
        syms = ", ".join(s.symbol for s in req.symbols[:5]) + (" …" if len(req.symbols) > 5 else "")
        label = "min glibc" if req.family == "GLIBC" else f"min {req.family.lower()}"
        lines.append(f"{label:<11} {req.min_version} from {escape(req.library)}"
                     + (f", required by {escape(syms)}" if syms else ""))
        lines += ev(req.evidence) if not syms else []
    if link.glibc_private:
        lines.append("[yellow]uses GLIBC_PRIVATE symbols: tied to the exact glibc build it was linked against[/yellow]")
    for lib in link.libraries:
        if not lib.system and b.format != "elf":
            lines.append(f"[yellow]non-system library {escape(lib.name)}[/yellow]")
    return "linkage", lines


def _pe_macho(b: Binary) -> tuple[str, Lines]:
    """PE / Mach-O specifics (``binary.pe`` / ``binary.macho``, depfree/details.py, filled by the readers)."""
    lines: Lines = []
    if b.pe:
        p = b.pe
        lines.append(f"subsystem   {escape(p.subsystem)}, image base {p.image_base:#x}, "
                     f"Authenticode signature {'present' if p.signature.present else 'absent'}")
        for imp in p.imports:
            how = " (delay-load)" if imp.delay else ""
            lines.append(f"imports     {escape(imp.dll)}{how}: {len(imp.functions)} functions")
        if b.linkage.runtime_dlls:
            names = ", ".join(d.name + ("" if d.system else " (not part of Windows)") for d in b.linkage.runtime_dlls)
            lines.append(f"loads       {escape(names)}  [dim](at run time, by name: linkage.runtime_dlls)[/dim]")
        return "pe", lines
    if b.macho:
        m = b.macho
        bv = m.build_version
        lines.append(f"filetype    {escape(m.filetype)}, PIE {'yes' if m.pie else 'no'}, "
                     f"code signature {'present' if m.code_signature.present else 'absent'}")
        if bv:
            lines.append(f"platform    {escape(bv.platform)} minos {escape(bv.minos)} "
                         f"sdk {escape(bv.sdk)}  [dim]({escape(bv.command)})[/dim]")
        for d in m.dylibs:
            if d.kind != "load":
                lines.append(f"dylib       {escape(d.name)} ({escape(d.kind)})")
        if m.slices:
            lines.append("universal   " + ", ".join(f"{s.arch} at {s.offset:,}" for s in m.slices))
        return "macho", lines
    return "", lines


def _go(b: Binary) -> tuple[str, Lines]:
    go = b.go
    if go is None:
        return "go", []
    lines = [f"version     {go.version or 'unknown'} from {go.source}", *ev(go.evidence), f"compiler    {go.compiler}"]
    if go.path:
        lines.append(f"path        {escape(go.path)}")
    if go.main:
        lines.append(f"main        {escape(go.main.path)} {escape(go.main.version)}")
    if go.deps:
        lines.append(f"deps        {len(go.deps)}")
        deps = []
        for d in go.deps:
            rep = f" => {d.replace.path} {d.replace.version}".rstrip() if d.replace else ""
            deps.append(f"  {escape(d.path)} {escape(d.version)}{escape(rep)}")
        lines += limited(deps, 20, "deps")
    cgo = {True: "on", False: "off", None: "unknown"}[go.cgo]
    setting = f"  [dim](CGO_ENABLED={int(go.cgo_enabled)} in the build settings)[/dim]" \
        if go.cgo_enabled is not None and go.cgo_enabled != go.cgo else ""
    lines.append(f"cgo         {cgo}{setting}")
    lines += ev(go.cgo_evidence)
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
        pkgs = []
        for p in go.packages:
            mod = f"  [dim]module {escape(p.module)}[/dim]" if p.module and p.module not in ("std", p.path) else ""
            pkgs.append(f"  {p.size:>10,}  {escape(p.path)}  {p.kind}{mod}")
        lines += limited(pkgs, 10, "packages")
    if go.features:
        on = [k for k, f in go.features.items() if f.value is True]
        unknown = [k for k, f in go.features.items() if f.value is None]
        lines.append("features    " + (", ".join(on) or "none") + (f"  [dim](unknown: {', '.join(unknown)})[/dim]"
                                                                 if unknown else ""))
    return "go", lines


def _yn(v: object) -> str:
    """yes / no / unknown, never Python's True / False / None."""
    if isinstance(v, bool) or v is None:
        return {True: "yes", False: "no", None: "unknown"}[v]
    return "no" if v == "none" else str(v)


def _fortify_word(fort: Fortify | str) -> str:
    return f"{fort.fortified}/{fort.fortifiable}" if isinstance(fort, Fortify) else _yn(fort)


def hardening_summary(b: Binary) -> str:
    """One line, checksec-like, with the Go-aware n/a."""
    h = b.hardening
    if h is None:
        return ""
    parts = [f"PIE {_yn(h.pie)}", f"NX {_yn(h.nx)}"]
    if isinstance(h, ElfHardening):
        parts.insert(0, f"RELRO {_yn(h.relro)}")
        parts += [f"canary {_yn(h.canary)}", f"fortify {_fortify_word(h.fortify)}"]
        if h.rwx_segments:
            parts.append(f"RWX segments {len(h.rwx_segments)}")
        if h.textrel:
            parts.append("TEXTREL")
        if h.rpath_risks:
            parts.append("risky RPATH/RUNPATH " + ",".join(r.path for r in h.rpath_risks))
    elif isinstance(h, PeHardening):
        parts += [f"ASLR {_yn(h.aslr)}", f"high-entropy VA {_yn(h.high_entropy_va)}",
                  f"CFG {_yn(h.cfg)}", f"SafeSEH {_yn(h.safeseh)}"]
    else:
        parts += [f"code signature {_yn(h.code_signature)}", f"hardened runtime {_yn(h.hardened_runtime)}"]
    return ", ".join(parts)


def _hardening(b: Binary) -> tuple[str, Lines]:
    line = hardening_summary(b)
    if not line:
        return "hardening", []
    lines = [escape(line)]
    reasons = b.hardening.reasons if isinstance(b.hardening, (ElfHardening, PeHardening)) else {}
    for key, why in reasons.items():
        lines.append(f"[dim]{escape(key)}: {escape(why)}[/dim]")
    if b.debug:
        lines.append(f"debug: {escape(b.debug.stripped)}"
                     + (f"; build-id {b.debug.build_id}" if b.debug.build_id else ""))
    if b.packer:
        p = b.packer
        if p.name:
            lines.append(f"[yellow]packed with {escape(p.name)} {escape(str(p.version or ''))}[/yellow]"
                         + (f" — {escape(p.note)}" if p.note else ""))
        if p.overlay:
            lines.append(f"[yellow]{p.overlay.size:,} bytes of overlay data at offset {p.overlay.offset:,}"
                         "[/yellow]")
        if p.high_entropy_text:
            lines.append(f"[yellow]high-entropy code (entropy {p.text_entropy}): compressed or encrypted[/yellow]")
    return "hardening", lines


def _needs_and_targets(b: Binary) -> tuple[str, Lines]:
    lines = []
    for n in b.needs or []:
        if n.kind in ("kernel", "os") and b.effective_min_os is not None:
            continue  # folded into the one effective "minimum" line at the top, with its sources
        opt = "" if n.required else " (optional)"
        lines.append(f"{n.kind:<11} {escape(n.what)}{opt}: {escape(n.why)}")
        lines += ev(n.evidence)
    if b.targets:
        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}
        lines.append("targets     " + "  ".join(f"{mark[t.verdict]} {escape(t.target)}" for t in b.targets))
    return "needs", lines


def _verify(b: Binary) -> tuple[str, Lines]:
    """Static needs next to what the sandboxed runs reached for (render/verify.py)."""
    from depfree.render.verify import verify_section

    return verify_section(b)


SECTIONS: list[Section] = [_identity, _linkage, _pe_macho, _go, _hardening, _needs_and_targets, _verify]


def _shown(line: str, verbose: bool, all_items: bool) -> str | None:
    if isinstance(line, Ev):
        return "    " + line if verbose else None
    if isinstance(line, More):
        return line if all_items else None
    if isinstance(line, Cut):
        return None if all_items else line
    return line


def render_binary(b: Binary, verbose: bool = False, all_items: bool = False) -> Lines:
    """The report of one binary as rich-markup lines; evidence with ``verbose``, every list item with ``all_items``."""
    color = "green" if b.verdict.startswith("self-contained") else "yellow"
    head = escape(b.path + (f" [{b.slice}]" if b.slice else ""))
    out = [f"[bold]{head}[/bold]: [bold {color}]{escape(b.verdict)}[/bold {color}]"]
    res = b.resolution
    if res is not None and res.verdict and res.context == "root":  # inspect --root: the verdict on that machine
        from depfree.render.summary import summary_line

        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]⚠[/yellow]", "fail": "[red]✗[/red]"}[res.verdict]
        out.append(f"  {mark} on the root: {escape(summary_line(res))}")
    for section in SECTIONS:
        title, lines = section(b)
        shown = [x for x in (_shown(line, verbose, all_items) for line in lines) if x is not None]
        if not shown:
            continue
        if title:
            out.append(f"  [bold]{title}[/bold]")
        out.extend(("    " if title else "  ") + line for line in shown)
    return out


def brief_line(b: Binary) -> str:
    """One line per binary, like ``file -b``: path, verdict, format, OS/arch and type."""
    head = escape(b.path + (f" [{b.slice}]" if b.slice else ""))
    return f"{head}: {escape(b.verdict)} [dim]({b.format} {b.os}/{b.arch} {b.type})[/dim]"


def print_report(report: Report, console: Console | None = None, *, verbose: bool = False, all_items: bool = False,
                 brief: bool = False) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    for i, b in enumerate(report.binaries):
        if brief:
            console.print(brief_line(b), overflow="ignore", crop=False)
            continue
        if i:
            console.print()
        for line in render_binary(b, verbose, all_items):
            console.print(line, overflow="ignore", crop=False)
    if not brief and not verbose and report.binaries and console.is_terminal:
        console.print("[dim](-v shows the evidence behind each fact)[/dim]")
