"""Text, Markdown and GitHub-annotation output of `depfree check`.

Text: the policy in force on the first line; then each binary marked ✗ (a finding at or above fail_on), ⚠ / ℹ (only
findings below it) or ✓, its findings with evidence and fix on indented lines; then one summary line that says how
many binaries fail. PASS is printed only when nothing fails and every input was read.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from depfree.policy.engine import CheckResult, Finding
from depfree.render.paths import relative, split_member

ICON = {"error": "✗", "warning": "⚠", "note": "ℹ"}
MARK = {"fail": "[red]✗[/red]", "error": "[red]✗[/red]", "warning": "[yellow]⚠[/yellow]", "note": "[blue]ℹ[/blue]",
        "ok": "[green]✓[/green]"}
COLOR = {"error": "red", "warning": "yellow", "note": "blue"}


def evidence_text(f: Finding, limit: int = 3) -> str:
    items = [f"{e.get('kind')} {e.get('name')}" + (f" ({e['detail']})" if e.get("detail") else "")
             for e in f.evidence]
    return "; ".join(items[:limit]) + (f"; +{len(items) - limit} more (--format json lists all)"
                                       if len(items) > limit else "")


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count:,} {noun if count == 1 else plural}"


def summary(result: CheckResult, markup: bool = True) -> str:
    """The last line: PASS / FAIL / ERROR, how many binaries fail, the counts by severity."""
    s = result.to_json()["summary"]
    n, failing = s["binaries"], s["failing_binaries"]
    counts = (f"{_n(s['by_severity']['error'], 'error')}, {_n(s['by_severity']['warning'], 'warning')}, "
              f"{_n(s['by_severity']['note'], 'note')}; {s['suppressed']} suppressed, {s['baselined']} baselined")
    fails = f"{failing} of {_n(n, 'binary')} fail" if failing else f"{_n(n, 'binary')}, none fails"
    fails += f" at {result.policy.fail_on} ({counts})"
    if result.errors:
        word = "ERROR"
        fails = f"{_n(len(result.errors), 'input')} could not be read (see above); " + fails
    else:
        word = "FAIL" if failing or not result.passed else "PASS"
    if not markup:
        return f"{word}: {fails}"
    color = "green" if word == "PASS" else "red"
    return f"[bold {color}]{word}[/bold {color}]: {escape(fails)}"


def print_text(result: CheckResult, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{escape(result.policy.headline())}[/bold]")
    for note in result.policy.notes:
        console.print(f"[yellow]policy note: {escape(note)}[/yellow]")
    by_path = result.by_path()
    for path, status in result.statuses().items():
        findings = [f for f in by_path.get(path, []) if f.active]
        console.print(f"{MARK[status]} [bold]{escape(relative(path))}[/bold]")
        for f in findings:
            icon = "✗" if result.fails(f) else ICON[f.severity]
            console.print(f"    [{COLOR[f.severity]}]{icon} {f.rule} {f.name}[/{COLOR[f.severity]}]: "
                          f"{escape(f.message)}")
            if f.evidence:
                console.print(f"        [dim]evidence: {escape(evidence_text(f))}[/dim]")
            console.print(f"        [dim]fix: {escape(f.fix)}[/dim]")
    for e in result.errors:
        console.print(f"[red]✗ {escape(relative(e['path']))}: {escape(e['error'])}[/red]")
    console.print(summary(result))


def to_markdown(result: CheckResult) -> str:
    if result.errors:
        head = "❌ **depfree check could not read every input**"
    else:
        head = "✅ **depfree check passed**" if result.passed else "❌ **depfree check failed**"
    lines = [f"{head} — {summary(result, markup=False).split(': ', 1)[1]}", "",
             f"_{result.policy.headline()}_", ""]
    active = [f for f in result.findings if f.active]
    if active:
        lines += ["| | Rule | Binary | Finding | Fix |", "|---|---|---|---|---|"]
        for f in active:
            icon = "✗" if result.fails(f) else ICON[f.severity]
            cells = [icon, f"`{f.rule}` {f.name}", f"`{relative(f.path)}`", f.message, f.fix]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    for e in result.errors:
        lines.append(f"- ✗ `{relative(e['path'])}`: {e['error']}")
    return "\n".join(lines) + "\n"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def to_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands, ``::error file=dist/app,title=…::message``, with paths relative to the
    working directory (the repository root in a workflow); a finding below fail_on is a warning or notice, never an
    error."""
    level = {"error": "error", "warning": "warning", "note": "notice"}
    out = []
    for f in result.findings:
        if not f.active:
            continue
        outer, member = split_member(f.path)
        lvl = "error" if result.fails(f) else level[f.severity] if f.severity != "error" else "warning"
        title = _gh_escape(f"{f.rule} {f.name}", prop=True)
        where = f"{member}: " if member else ""
        out.append(f"::{lvl} file={_gh_escape(relative(outer), prop=True)},title={title}::"
                   + _gh_escape(f"{where}{f.message}. Fix: {f.fix}"))
    for e in result.errors:
        out.append(f"::error file={_gh_escape(relative(split_member(e['path'])[0]), prop=True)},"
                   f"title=depfree input error::{_gh_escape(e['error'])}")
    out.append(f"::notice title=depfree check::{_gh_escape(summary(result, markup=False))}")
    return "\n".join(out) + "\n"
