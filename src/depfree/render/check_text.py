"""Text, Markdown and GitHub-annotation output of `depfree check`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from depfree.policy.engine import CheckResult, Finding

ICON = {"error": "✗", "warning": "⚠", "note": "ℹ"}


def _ev(f: Finding) -> str:
    return "; ".join(f"{e.get('kind')} {e.get('name')}" + (f" ({e['detail']})" if e.get("detail") else "")
                     for e in f.evidence[:3])


def print_text(result: CheckResult, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    for path in result.binaries + [c for c in by_path if c not in result.binaries]:
        findings = [f for f in by_path.get(path, []) if f.active]
        mark = "[green]✓[/green]" if not findings else "[red]✗[/red]"
        console.print(f"{mark} [bold]{escape(path)}[/bold]")
        for f in findings:
            color = {"error": "red", "warning": "yellow", "note": "blue"}[f.severity]
            console.print(f"    [{color}]{ICON[f.severity]} {f.rule} {f.name}[/{color}]: {escape(f.message)}")
            if f.evidence:
                console.print(f"      [dim]evidence: {escape(_ev(f))}[/dim]")
            console.print(f"      [dim]fix: {escape(f.fix)}[/dim]")
    s = result.to_json()["summary"]
    verdict = "[bold green]PASS[/bold green]" if result.passed else "[bold red]FAIL[/bold red]"
    console.print(f"{verdict}: {s['binaries']} binaries, {s['by_severity']['error']} errors, "
                  f"{s['by_severity']['warning']} warnings, {s['by_severity']['note']} notes"
                  f" ({s['suppressed']} suppressed, {s['baselined']} baselined; failing at {result.policy.fail_on})")


def to_markdown(result: CheckResult) -> str:
    s = result.to_json()["summary"]
    head = "✅ **depfree check passed**" if result.passed else "❌ **depfree check failed**"
    lines = [f"{head} — {s['binaries']} binaries, {s['by_severity']['error']} errors, "
             f"{s['by_severity']['warning']} warnings, {s['by_severity']['note']} notes", ""]
    active = [f for f in result.findings if f.active]
    if active:
        lines += ["| | Rule | Binary | Finding | Fix |", "|---|---|---|---|---|"]
        for f in active:
            cells = [ICON[f.severity], f"`{f.rule}` {f.name}", f"`{f.path}`", f.message, f.fix]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    for e in result.errors:
        lines.append(f"- ⚠ `{e['path']}`: {e['error']}")
    return "\n".join(lines) + "\n"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def to_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: ``::error file=…,title=…::message``."""
    level = {"error": "error", "warning": "warning", "note": "notice"}
    out = []
    for f in result.findings:
        if not f.active:
            continue
        title = _gh_escape(f"{f.rule} {f.name}", prop=True)
        out.append(f"::{level[f.severity]} file={_gh_escape(f.path, prop=True)},title={title}::"
                   + _gh_escape(f"{f.message}. Fix: {f.fix}"))
    for e in result.errors:
        out.append(f"::error file={_gh_escape(e['path'], prop=True)},title=depfree input error::{_gh_escape(e['error'])}")
    return "\n".join(out) + ("\n" if out else "")
