"""``depfree rules`` (the rule catalogue) and ``depfree explain DF003`` (one rule in full), from data/rules.toml."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.markup import escape

from depfree.cli.common import EXIT_OK, Output, examples, friendly_errors, output_options
from depfree.datafiles import load
from depfree.errors import UsageError
from depfree.policy.catalog import RuleInfo, catalog, resolve
from depfree.policy.config import NEEDS_SETTING


def rule_json(info: RuleInfo) -> dict[str, Any]:
    presets = {name: p["rules"][info.id] for name, p in load("presets.toml").items() if info.id in p.get("rules", {})}
    return {"id": info.id, "name": info.name, "severity": info.severity, "summary": info.summary, "fix": info.fix,
            "needs_setting": NEEDS_SETTING.get(info.id), "presets": presets, "docs": info.doc_path}


def _rules_text(rules: list[RuleInfo], out: Output) -> None:
    con = out.console()
    width = max(len(r.name) for r in rules)
    for r in rules:
        con.print(f"[bold]{r.id}[/bold]  {escape(r.name.ljust(width))}  {r.severity:<7}  {escape(r.summary)}")


def _explain_text(info: RuleInfo, out: Output) -> None:
    con = out.console()
    j = rule_json(info)
    con.print(f"[bold]{info.id} {escape(info.name)}[/bold] (default severity {info.severity})")
    con.print(escape(info.summary))
    con.print(f"fix: {escape(info.fix)}")
    if j["needs_setting"]:
        con.print(f"runs when the policy sets {j['needs_setting']} (setting it turns the rule on, even under a preset)")
    if j["presets"]:
        con.print("presets: " + ", ".join(f"{k} ({v})" for k, v in j["presets"].items()))
    con.print(escape(f"turn it off or change its severity: [rules] {info.id} = \"off\" | \"note\" | \"warning\" | "
                     f"\"error\" (or {info.name} = …) in depfree.toml"))
    con.print(f"[dim]more: {info.doc_path} in the depfree source[/dim]")


RULES_RENDERERS = {
    "text": _rules_text,
    "json": lambda rules, out: json.dumps({"schema": "depfree.rules/1", "rules": [rule_json(r) for r in rules]},
                                          indent=2, ensure_ascii=False),
}
EXPLAIN_RENDERERS = {
    "text": _explain_text,
    "json": lambda info, out: json.dumps(rule_json(info), indent=2, ensure_ascii=False),
}


@click.command("rules", epilog=examples("depfree rules", "depfree rules --json | jq '.rules[].id'"))
@output_options(RULES_RENDERERS)
@friendly_errors
def rules_cmd(out: Output) -> None:
    """List the rules of depfree check: ID, name, default severity, summary."""
    out.emit(list(catalog().values()))
    sys.exit(EXIT_OK)


@click.command("explain", epilog=examples("depfree explain DF003", "depfree explain cgo-enabled"))
@click.argument("rule")
@output_options(EXPLAIN_RENDERERS)
@friendly_errors
def explain_cmd(rule: str, out: Output) -> None:
    """Explain one rule (by ID or name): what it finds, the fix, the setting it needs, the presets that use it."""
    info = resolve(rule)
    if info is None:
        raise UsageError(f"unknown rule {rule!r}: expected DF001..DF{len(catalog()):03d} or a rule name "
                         "(depfree rules lists them)")
    out.emit(info)
    sys.exit(EXIT_OK)
