"""SARIF 2.1.0 (OASIS) for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

from typing import Any

from depfree import __version__
from depfree.policy.catalog import catalog
from depfree.policy.engine import CheckResult

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def to_sarif(result: CheckResult) -> dict[str, Any]:
    cat = catalog()
    rule_ids = sorted(set(result.rules_run) | {f.rule for f in result.findings})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [{
        "id": rid,
        "name": cat[rid].name,
        "shortDescription": {"text": cat[rid].summary},
        "fullDescription": {"text": f"{cat[rid].summary} Fix: {cat[rid].fix}"},
        "help": {"text": cat[rid].fix, "markdown": f"**Fix:** {cat[rid].fix}\n\nSee [{rid}]({cat[rid].help_uri})."},
        "helpUri": cat[rid].help_uri,
        "defaultConfiguration": {"level": LEVELS[cat[rid].severity]},
    } for rid in rule_ids]
    results = []
    for f in result.findings:
        if f.baselined:
            continue
        entry: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVELS[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}}}],
            "partialFingerprints": {"depfree/v1": f.fingerprint},
            "properties": {"evidence": f.evidence},
        }
        if f.suppressed is not None:
            entry["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "depfree", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/depfree/depfree", "rules": rules}},
            "results": results,
            "invocations": [{"executionSuccessful": not result.errors,
                             "toolExecutionNotifications": [
                                 {"level": "error", "message": {"text": f"{e['path']}: {e['error']}"}}
                                 for e in result.errors]}],
        }],
    }


def _uri(path: str) -> str:
    """A relative URI for SARIF artifactLocation; container members keep their `archive!member` form."""
    p = path.split(" [", 1)[0]
    return p.lstrip("/").replace(" ", "%20") if not p.startswith("./") else p[2:]
