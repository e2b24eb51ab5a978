"""Text for ``depfree build`` (the matrix, the recommendation, reproducibility) and ``depfree diff``.

One function per report part, like render/text.py; the JSON comes from the results' own ``to_json``."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from depfree.build.diff import BinaryDiff
from depfree.build.matrix import Matrix, VariantResult
from depfree.render.paths import relative
from depfree.render.table import print_table, visible_len
from depfree.render.text import hardening_summary

_ROOT_LABEL = {"scratch": "empty", "scratch+certs": "CA-only", "musl": "musl", "glibc": "glibc"}


def _mark(ok: bool | None) -> str:
    return "[green]✓[/green]" if ok else "[dim]-[/dim]" if ok is None else "[red]✗[/red]"


def _verdict(v: str, passes: bool) -> str:
    if not passes:
        return "[red]✗[/red]"
    return "[yellow]✓ warn[/yellow]" if v == "warn" else "[green]✓[/green]"


def _linkage(r: VariantResult) -> str:
    assert r.facts is not None
    link = r.facts.binary.linkage
    s = link.kind
    if link.min_glibc:
        s += f" glibc≥{link.min_glibc}"
    elif link.libc.flavour not in ("none", "unknown"):
        s += f", {link.libc.flavour}"
    return s


def _ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def matrix_table(m: Matrix, console: Console) -> None:
    headers = ["variant", "size", "linkage", "cgo", *m.targets, "started: " + "/".join(_ROOT_LABEL.values()),
               "start ms", "RSS", "build s"]
    rows = []
    for r in m.results:
        if r.facts is None:
            reason = r.build.reason.splitlines()[-1] if r.build.reason else ""
            rows.append([escape(r.name), f"[dim]{r.build.status}[/dim]", f"[dim]{escape(reason)}[/dim]",
                         *([""] * (len(headers) - 3))])
            continue
        go = r.facts.binary.go
        runs = {x.root: x for x in r.runs}
        t = r.timing
        rows.append([escape(r.name), f"{r.facts.binary.size:,}", escape(_linkage(r)),
                     "yes" if go and go.cgo else "no" if go else "?",
                     *(_verdict(x.verdict, x.passes) for x in r.targets),
                     " ".join(_mark(runs[root].started if root in runs else None) for root in _ROOT_LABEL),
                     f"{_ms(t.median)} ±{_ms((t.max - t.min) / 2)}" if t else "-",
                     f"{t.peak_rss_kb / 1024:.1f}M" if t and t.peak_rss_kb else "-", f"{r.build.seconds:.1f}"])
    for col in (1, len(headers) - 3, len(headers) - 2, len(headers) - 1):  # numbers right-aligned
        width = max([len(headers[col])] + [visible_len(row[col]) for row in rows])
        for row in rows:
            row[col] = " " * (width - visible_len(row[col])) + row[col]
        headers[col] = headers[col].rjust(width)
    print_table(console, headers, rows)


def variant_details(m: Matrix, console: Console) -> None:
    for r in m.results:
        if r.facts is None:
            if r.build.status == "skipped":
                console.print(f"[bold]{escape(r.name)}[/bold]: skipped — {escape(r.build.reason)}")
            else:
                console.print(f"[bold]{escape(r.name)}[/bold]: [red]build failed[/red]\n  "
                              + escape(r.build.reason).replace("\n", "\n  "))
            continue
        b = r.facts.binary
        console.print(f"[bold]{escape(r.name)}[/bold]: {escape(r.variant.description)}")
        console.print(f"  sha256 {b.sha256}  {escape(r.variant.command_line(r.pkg, r.output))}")
        mods = ", ".join(f"{p.name} {p.size:,}" for p in r.facts.size.modules[:5])
        console.print(f"  size by module: {escape(mods)}")
        link = b.linkage
        if link.min_glibc:
            syms = [s.symbol for s in link.glibc_symbols if s.version == f"GLIBC_{link.min_glibc}"]
            console.print(f"  needs GLIBC_{link.min_glibc} for {escape(', '.join(syms[:4]))}"
                          + (f" +{len(syms) - 4}" if len(syms) > 4 else "")
                          + (f"; NEEDED {escape(', '.join(link.needed))}" if link.needed else ""))
        if b.go and b.go.cgo_evidence:
            console.print("  cgo: " + escape(", ".join(f"{e.kind} {e.name}" + (f"={e.detail}" if e.detail else "")
                                                       for e in b.go.cgo_evidence[:3])))
        hard = hardening_summary(b)
        if hard:
            console.print(f"  hardening: {escape(hard)}")
        for t in r.targets:
            if not t.passes or t.verdict == "warn":
                why = "; ".join(x["message"] for x in t.reasons[:3])
                run = f" [sandbox {t.root}: {t.run}]" if t.root else ""
                console.print(f"  {escape(t.target)}: {escape(t.verdict)}{escape(run)} — {escape(why)}")
        for x in r.runs:
            if x.missing and x.started:
                console.print(f"  [dim]{escape(_ROOT_LABEL.get(x.root, x.root))}: reached for "
                              f"{escape(', '.join(x.missing[:6]))}[/dim]")
            elif not x.started:
                what = [f"{k} {v}" for k, v in x.details.items() if k not in ("hint", "interpreter")] + x.missing[:2]
                console.print(f"  [dim]{escape(_ROOT_LABEL.get(x.root, x.root))}: did not start ({escape(x.failure)}"
                              + (f": {escape(', '.join(what))}" if what else "") + ")[/dim]")
        timing = r.timing
        if timing:
            rss = (f", peak RSS {timing.peak_rss_kb:,} KB" if timing.peak_rss_kb
                   else ", peak RSS unknown (GNU time missing)")
            net = r.startup_net(m.floor)
            above = f" ({_ms(net)} ms above the sandbox floor)" if net is not None else ""
            console.print(f"  start-up in {timing.root}: median {_ms(timing.median)} ms{above}, "
                          f"{_ms(timing.min)}–{_ms(timing.max)} ms over {timing.runs} runs{rss}")
        console.print(f"  [dim]seconds: build {r.build.seconds:.2f}, analysis {r.analysis_seconds:.2f}, "
                      f"runs {r.runs_seconds:.2f}[/dim]")


def recommendation(m: Matrix, console: Console) -> None:
    rec = m.recommendation
    console.print()
    if rec is None or rec.variant is None:
        console.print(f"[red]no variant passes {escape(', '.join(m.targets))}[/red]")
    else:
        console.print(f"[bold green]recommended: {escape(rec.variant)}[/bold green] — {escape(rec.why)}")
        console.print(f"  {escape(rec.command or '')}")
        if rec.warnings:
            console.print(f"  [yellow]still warns: {escape(', '.join(rec.warnings))}[/yellow] "
                          "(files the program may read; see the details above)")
    for o in rec.rejected if rec else []:
        console.print(f"  [dim]{escape(o.variant)}: {escape(o.why)}[/dim]")


def reproducibility(m: Matrix, console: Console) -> None:
    if not m.reproductions:
        return
    console.print()
    console.print("[bold]reproducibility[/bold] (two builds: other directory, GOPATH, GOCACHE, source times)")
    for rep in m.reproductions:
        if rep.identical is None:
            console.print(f"  {escape(rep.variant)}: [red]a rebuild failed[/red]")
            continue
        mark = "[green]identical[/green]" if rep.identical else "[red]differs[/red]"
        console.print(f"  {escape(rep.variant)}: {mark}")
        if rep.diff and not rep.identical:
            for c in rep.diff.causes:
                where = f" [{', '.join(c.sections[:4])}]" if c.sections else ""
                console.print(f"    {escape(c.code)}: {escape(c.message)}{escape(where)}")


SECTIONS: list[Callable[[Matrix, Console], None]] = [matrix_table, variant_details, recommendation, reproducibility]


def print_matrix(m: Matrix, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{escape(relative(m.module))}[/bold] {escape(m.pkg)} with {escape(m.go)}: "
                  f"{len(m.results)} variant{'' if len(m.results) == 1 else 's'}, targets {escape(', '.join(m.targets))}"
                  + ("" if m.sandbox == "used" else f" [yellow](sandbox {escape(m.sandbox)})[/yellow]"))
    if m.floor:
        console.print(f"[dim]sandbox floor (busybox-static exiting at once, same roots and runs): median "
                      f"{_ms(m.floor.median)} ms, {_ms(m.floor.min)}–{_ms(m.floor.max)} ms[/dim]")
    for section in SECTIONS:
        section(m, console)
    secs = m.to_json()["seconds"]
    console.print(f"[dim]wall {secs['wall']:.1f} s: build {secs['build']:.1f}, analysis {secs['analysis']:.1f}, "
                  f"sandbox runs {secs['runs']:.1f}" + (f"; binaries kept in {escape(m.kept)}" if m.kept else "")
                  + "[/dim]")


def print_diff(d: BinaryDiff, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    a, b = d.a.binary, d.b.binary
    console.print(f"a {escape(relative(d.a.path))}: {a.size:,} bytes, sha256 {(a.sha256 or 'not computed')[:16]}…")
    console.print(f"b {escape(relative(d.b.path))}: {b.size:,} bytes, sha256 {(b.sha256 or 'not computed')[:16]}…")
    if d.identical:
        console.print("[green]identical[/green]")
        return
    console.print(f"[bold]differs[/bold]: {len(d.sections)} section(s), size {b.size - a.size:+,} bytes")
    for s in d.sections[:30]:
        sizes = f"{s['size_a'] if s['size_a'] is not None else '-'} -> {s['size_b'] if s['size_b'] is not None else '-'}"
        console.print(f"  {escape(s['name'])}: {escape(s['status'])} ({sizes})")
    for key, v in d.facts.items():
        if key in ("settings", "deps"):
            for k, x in v.items():
                console.print(f"  {escape(key[:-1] if key == 'deps' else 'setting')} {escape(k)}: "
                              f"{escape(str(x['a']))} -> {escape(str(x['b']))}")
        elif "only_a" in v:
            console.print(f"  {escape(key)}: only in a {escape(', '.join(v['only_a']) or '-')}; "
                          f"only in b {escape(', '.join(v['only_b']) or '-')}")
        else:
            console.print(f"  {escape(key)}: {escape(str(v['a']))} -> {escape(str(v['b']))}")
    mods = [x for x in d.size.get("modules", []) if x.get("delta")]
    if mods:
        console.print("  size by module: " + escape(", ".join(f"{x['name']} {x['delta']:+,}" for x in mods[:8])))
    console.print("[bold]why[/bold]")
    for c in d.causes:
        where = f" [{', '.join(c.sections[:4])}]" if c.sections else ""
        console.print(f"  {escape(c.code)}: {escape(c.message)}{escape(where)}")
