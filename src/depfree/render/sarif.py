"""SARIF 2.1.0 (OASIS) for GitHub code scanning and other SARIF viewers.

Artifact URIs are relative to the working directory (the repository root in CI) and name ``uriBaseId: %SRCROOT%``,
which ``originalUriBaseIds`` maps to that directory, so code scanning can map a result to a file of the repository
whatever form the argument had (``dist/``, ``./dist``, ``$PWD/dist``). A file outside the working directory gets a
``file://`` URI. A member of an archive or image points at the archive; the member is named in the message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from depfree import __version__
from depfree.policy.catalog import catalog
from depfree.policy.engine import CheckResult
from depfree.render.paths import repo_uri, split_member

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}
SRCROOT = "%SRCROOT%"


def to_sarif(result: CheckResult, cwd: str | None = None) -> dict[str, Any]:
    cat = catalog()
    rule_ids = sorted(set(result.rules_run) | {f.rule for f in result.findings})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [{
        "id": rid,
        "name": cat[rid].name,
        "shortDescription": {"text": cat[rid].summary},
        "fullDescription": {"text": f"{cat[rid].summary} Fix: {cat[rid].fix}"},
        "help": {"text": f"{cat[rid].fix} (depfree explain {rid}; {cat[rid].doc_path} in the depfree source)",
                 "markdown": f"**Fix:** {cat[rid].fix}\n\n`depfree explain {rid}`"},
        "defaultConfiguration": {"level": LEVELS[cat[rid].severity]},
    } for rid in rule_ids]
    results = []
    for f in result.findings:
        if f.baselined:
            continue
        uri, rel = repo_uri(f.path, cwd)
        location: dict[str, Any] = {"uri": uri}
        if rel:
            location["uriBaseId"] = SRCROOT
        member = split_member(f.path)[1]
        entry: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVELS[f.severity],
            "message": {"text": (f"{member}: " if member else "") + f"{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": {"artifactLocation": location}}],
            "partialFingerprints": {"depfree/v1": f.fingerprint},
            "properties": {"evidence": f.evidence, "path": f.path, "fails": result.fails(f)},
        }
        if f.suppressed is not None:
            entry["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
        results.append(entry)
    root = Path(os.path.abspath(cwd or os.getcwd())).as_uri().rstrip("/") + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "depfree", "version": __version__, "semanticVersion": __version__,
                                "rules": rules}},
            "originalUriBaseIds": {SRCROOT: {"uri": root}},
            "results": results,
            "invocations": [{"executionSuccessful": not result.errors,
                             "toolExecutionNotifications": [
                                 {"level": "error", "message": {"text": f"{e['path']}: {e['error']}"}}
                                 for e in result.errors]}],
        }],
    }
