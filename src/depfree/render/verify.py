"""The `verify` part of the text report: each static need (binary.needs; the linkage's interpreter and libraries when
needs were not computed) next to what every sandboxed run observed, one column per root, and the places where the
two disagree."""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

from rich.console import Console
from rich.markup import escape

from depfree.model import Binary, Need
from depfree.model_verdicts import Run
from depfree.render.table import print_table

Lines = list[str]
OBSERVABLE = ("interpreter", "library", "file", "dir")
_LIBNAME = re.compile(r"\blib[\w+-]+")
TAIL = 5  # lines of stdout and stderr shown for a run that failed its expectations


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else path


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def static_needs(b: Binary) -> list[Need]:
    """The needs a run can confirm or refute (files, directories, the interpreter, libraries)."""
    if b.needs is not None:
        return [n for n in b.needs if n.kind in OBSERVABLE]
    out = []  # needs not computed: fall back to what the linkage says
    if b.linkage.interpreter:
        out.append(Need("interpreter", b.linkage.interpreter, "PT_INTERP"))
    out.extend(Need("library", name, "DT_NEEDED") for name in b.linkage.needed)
    return out


def _library_names(b: Binary, runs: list[Run]) -> set[str]:
    names = set(b.linkage.needed)
    if b.linkage.interpreter:
        names.add(posixpath.basename(b.linkage.interpreter))
    for run in runs:
        names.update(posixpath.basename(p) for p in run.accessed if ".so" in posixpath.basename(p))
    return names


def loader_probe(path: str, libnames: set[str], missing: list[str]) -> bool:
    """A path the dynamic loader or the kernel interfaces try as a matter of course (hwcaps directories, each
    directory of the search path for each library, ld.so.cache): not a need of the program itself."""
    if path.startswith(("/proc", "/sys", "/etc/ld.so.", "/dev")) or "/glibc-hwcaps" in path:
        return True
    if posixpath.basename(path) in libnames:
        return True
    return any(m.startswith(path.rstrip("/") + "/") and posixpath.basename(m) in libnames for m in missing)


def need_status(need: Need, run: Run) -> str:
    """What one run says about one need: found / loaded / met / missing / not reached / '-' (the run ended before
    the need could matter)."""
    failure, details, started = run.failure, run.details or {}, run.started
    if need.kind == "interpreter":
        if failure == "interpreter-missing":
            return "missing"
        return "found" if started or failure in ("library-missing", "symbol-version", "symbol-missing") else "-"
    accessed = [_norm(p) for p in run.accessed]
    missing = [_norm(p) for p in run.missing]
    if need.kind == "library":
        if failure == "symbol-version" and not need.what.endswith(".so") and ".so." not in need.what:
            return f"missing ({details.get('version', '?')})"
        if failure == "library-missing" and details.get("library") == need.what:
            return "missing"
        inner = need.what[need.what.find("(") + 1:] if "(" in need.what else need.what  # "NSS modules (libnss_…)"
        names = _LIBNAME.findall(inner) or [need.what]
        if any(posixpath.basename(p).startswith(tuple(names)) for p in accessed):
            return "loaded"
        if started and ".so" in need.what and " " not in need.what:
            return "loaded"  # the program started, so the loader found every DT_NEEDED
        if started and need.what.startswith(("glibc", "musl")):
            return "met"
        return "not reached" if started else "-"
    paths = [_norm(need.what)] + [_norm(a) for a in need.alternatives if a.startswith("/")]
    if any(_under(p, want) for want in paths for p in accessed):
        return "found"
    if any(_under(p, want) for want in paths for p in missing):
        return "missing"
    return "not reached" if started else "-"


def _style(status: str) -> str:
    if status.startswith("missing"):
        return f"[red]{escape(status)}[/red]"
    if status in ("found", "loaded", "met"):
        return f"[green]{status}[/green]"
    return f"[dim]{escape(status)}[/dim]"


def _result(run: Run) -> str:
    if run.timed_out:
        return "timeout"
    if run.started:
        code = run.exit_code if run.exit_code is not None else run.signal
        return f"started, exit {code}"
    detail = ", ".join(f"{v}" for k, v in (run.details or {}).items() if k not in ("hint", "interpreter"))
    return str(run.failure) + (f" ({detail})" if detail else "")


def disagreements(b: Binary, runs: list[Run]) -> Lines:
    """Where the sandboxed runs contradict the static analysis (rich markup lines)."""
    out: Lines = []
    libnames = _library_names(b, runs)
    needs = static_needs(b)
    predicted = [_norm(p) for n in needs if n.kind in ("file", "dir", "interpreter")
                 for p in (n.what, *n.alternatives) if p.startswith("/")]
    verdicts = {t.target: t.verdict for t in b.targets or []}
    for run in runs:
        root, failure, details = run.root, run.failure, run.details or {}
        if failure in ("interpreter-missing", "library-missing") and b.linkage.kind == "static":
            out.append(f"[red]{escape(root)}: {failure}, but static analysis found a self-contained binary[/red]")
        if failure == "library-missing" and details.get("library") not in b.linkage.needed:
            out.append(f"[yellow]{escape(root)}: the loader wanted {escape(str(details.get('library')))}, which is not "
                       "a direct DT_NEEDED (a dependency of a dependency)[/yellow]")
        verdict = verdicts.get(root)
        if verdict == "fail" and run.started and run.exit_code == 0:
            out.append(f"[yellow]{escape(root)}: the target verdict says it fails here, but it ran and exited 0[/yellow]")
        if verdict in ("ok", "warn") and not run.started and failure not in ("timeout", "exec-format"):
            out.append(f"[red]{escape(root)}: the target verdict says it starts here, but it did not ({failure})[/red]")
        missing = [_norm(m) for m in run.missing]
        extra = [m for m in dict.fromkeys(missing) if not loader_probe(m, libnames, missing)
                 and not any(_under(m, p) for p in predicted)]
        if extra:
            out.append(f"[yellow]{escape(root)}: reached for, not predicted: " + escape(", ".join(extra[:8]))
                       + (f" +{len(extra) - 8}" if len(extra) > 8 else "") + "[/yellow]")
        if run.started and run.exit_code == 0:
            tolerated = [n.what for n in needs if n.required and n.kind in ("file", "dir")
                         and need_status(n, run) == "missing"]
            if tolerated:
                out.append(f"[dim]{escape(root)}: exited 0 without (required by static analysis): "
                           + escape(", ".join(tolerated)) + "[/dim]")
    return out


def verify_section(b: Binary) -> tuple[str, Lines]:
    """Static needs next to what the sandboxed runs reached for, a column per root; disagreements flagged."""
    runs: list[Run] = b.verify or []
    if not runs:
        return "verify", []
    rows: list[tuple[str, list[str]]] = [("run", [r.root for r in runs]), ("result", [_result(r) for r in runs])]
    needs = static_needs(b)
    for n in needs:
        label = f"{n.kind} {n.what}" + ("" if n.required else " (optional)")
        rows.append((label, [need_status(n, r) for r in runs]))
    label_w = min(max(len(label) for label, _ in rows), 48)
    col_w = [max(len(row[1][i]) for row in rows) for i in range(len(runs))]
    lines: Lines = []
    for i, (label, cells) in enumerate(rows):
        shown = label if len(label) <= label_w else label[: label_w - 1] + "…"
        parts = []
        for j, cell in enumerate(cells):
            pad = " " * (col_w[j] - len(cell))
            if i == 0:
                parts.append(f"[bold]{escape(cell)}[/bold]{pad}")
            elif i == 1:
                ok = runs[j].started and not runs[j].timed_out
                parts.append(f"[{'green' if ok else 'red'}]{escape(cell)}[/]{pad}")
            else:
                parts.append(_style(cell) + pad)
        lines.append(escape(shown.ljust(label_w)) + "  " + "  ".join(parts))
    if not needs:
        lines.append("[dim](no static needs a run can observe: no interpreter, libraries or files)[/dim]")
    flags = disagreements(b, runs)
    lines.extend(("[bold]disagrees[/bold] " if not f.startswith("[dim]") else "note      ") + f for f in flags)
    if not flags:
        lines.append("[green]static and observed agree[/green]")
    if any(not r.isolation.get("traced") for r in runs):
        lines.append("[dim]strace not installed: only the exit status was observed[/dim]")
    return "verify (static vs observed)", lines


def _outcome(conn: dict[str, Any]) -> str:
    if conn["ok"]:
        return "connected"
    if conn["error"] == "EINPROGRESS":
        return "attempted, non-blocking"
    return str(conn["error"])


def print_runs(runs: list[Run], console: Console | None = None) -> None:
    """Text of ``depfree verify`` A row per run, then what each run reached for and missed (the loader's own search probes left out)."""
    console = console or Console(highlight=False, soft_wrap=True)
    rows: list[list[str]] = []
    shown: list[list[str]] = []
    for r in runs:
        libnames = {os.path.basename(p) for p in r.accessed if ".so" in os.path.basename(p)}
        missing = [m for m in dict.fromkeys(map(posixpath.normpath, r.missing))
                   if not loader_probe(m, libnames, r.missing)]
        shown.append(missing)
        mark = "[green]✓[/green]" if r.expectations_met else "[red]✗[/red]"
        detail = ", ".join(f"{k}={v}" for k, v in r.details.items() if k not in ("hint", "interpreter"))
        result = r.failure + (f" ({detail})" if detail else "")
        exit_s = str(r.exit_code) if r.exit_code is not None else (r.signal or ("timeout" if r.timed_out else "-"))
        traced = r.isolation["traced"]
        rows.append([f"{mark} {escape(r.root)}", "yes" if r.started else "no", escape(result), escape(exit_s),
                     str(len(missing)) if traced else "?", str(len(r.accessed)) if traced else "?"])
    print_table(console, ["root", "started", "result", "exit", "missing", "accessed"], rows)
    for r, missing in zip(runs, shown, strict=True):
        if missing:
            console.print(f"{escape(r.root)}: missing " + escape(", ".join(missing[:10]))
                          + (f" +{len(missing) - 10} more (--json lists all)" if len(missing) > 10 else ""))
        if r.details.get("hint"):
            console.print(f"[dim]{escape(r.root)}: {escape(r.details['hint'])}[/dim]")
        if r.connect:
            console.print(f"{escape(r.root)}: network attempts: " + escape(", ".join(
                f"{c['address']}" + (f":{c['port']}" if c["port"] is not None else "") + f" ({_outcome(c)})"
                for c in r.connect[:5])) + (f" +{len(r.connect) - 5}" if len(r.connect) > 5 else ""))
        if r.denied:
            console.print(f"{escape(r.root)}: denied " + escape(", ".join(dict.fromkeys(r.denied))))
        for name, total, kept in (("stdout", r.stdout_bytes, r.stdout), ("stderr", r.stderr_bytes, r.stderr)):
            if total > len(kept.encode()):
                console.print(f"[dim]{escape(r.root)}: {name} cut at {len(kept.encode()):,} of {total:,} bytes[/dim]")
        for why in r.unmet:
            console.print(f"[red]{escape(r.root)}: {escape(why)}[/red]", overflow="ignore", crop=False)
        if not r.expectations_met:
            for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
                tail = [x for x in text.rstrip().splitlines()][-TAIL:]
                if not tail:
                    console.print(f"[dim]{escape(r.root)}: {name}: (empty)[/dim]")
                    continue
                console.print(f"[dim]{escape(r.root)}: last {len(tail)} line{'s' if len(tail) > 1 else ''} of "
                              f"{name}:[/dim]")
                for line in tail:
                    console.print("    " + escape(line[:300]), overflow="ignore", crop=False)
    if runs:
        iso = runs[0].isolation
        emu = f", through {iso['emulator']}" if iso.get("emulator") else ""
        console.print(f"[dim]isolation: {iso['mode']}, {iso['network']}, environment: "
                      + (", ".join(iso["environment"]) or "empty") + emu
                      + ("" if iso["traced"] else f"; {iso['note']}") + "[/dim]")
