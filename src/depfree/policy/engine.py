"""Apply a policy to a report: findings with severities, suppressions, baseline, and the pass/fail decision."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.errors import UsageError
from depfree.model import Report, to_json
from depfree.model_verdicts import ContainerRecord
from depfree.policy.catalog import catalog, rank
from depfree.policy.config import Policy
from depfree.policy.rules import RULES

BASELINE_SCHEMA = "depfree.baseline/1"
CHECK_SCHEMA = "depfree.check/1"


@dataclass
class Finding:
    rule: str
    name: str
    severity: str
    path: str
    message: str
    evidence: list[dict[str, str]]
    fix: str
    key: str = ""
    suppressed: str | None = None  # the reason, when a suppression matched
    baselined: bool = False

    @property
    def active(self) -> bool:
        return self.suppressed is None and not self.baselined

    @property
    def fingerprint(self) -> str:
        # surrogateescape: a path that is not valid UTF-8 hashes as its own bytes
        return hashlib.sha256(f"{self.rule}\0{self.path}\0{self.key}".encode("utf-8", "surrogateescape")
                              ).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "name": self.name, "severity": self.severity, "path": self.path,
                "message": self.message, "evidence": self.evidence, "fix": self.fix, "fingerprint": self.fingerprint,
                "suppressed": self.suppressed, "baselined": self.baselined}


@dataclass
class CheckResult:
    policy: Policy
    findings: list[Finding] = field(default_factory=list)
    binaries: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)

    def failing(self) -> list[Finding]:
        threshold = rank(self.policy.fail_on)
        return [f for f in self.findings if f.active and rank(f.severity) >= threshold]

    @property
    def passed(self) -> bool:
        """No active finding at or above fail_on, and every input was read (an unreadable input never passes)."""
        return not self.failing() and not self.errors

    def fails(self, finding: Finding) -> bool:
        return finding.active and rank(finding.severity) >= rank(self.policy.fail_on)

    def statuses(self) -> dict[str, str]:
        """Each path (binaries, then containers with container-level findings such as DF019): ``fail`` (a finding
        at or above fail_on), else the worst active finding's severity, else ``ok``; in one pass."""
        out = dict.fromkeys(self.binaries, "ok")
        for f in self.findings:
            now = out.setdefault(f.path, "ok")
            if not f.active or now == "fail":
                continue
            if self.fails(f):
                out[f.path] = "fail"
            elif now == "ok" or rank(f.severity) > rank(now):
                out[f.path] = f.severity
        return out

    def status(self, path: str) -> str:
        return self.statuses().get(path, "ok")

    def paths(self) -> list[str]:
        return list(self.statuses())

    def failing_binaries(self) -> list[str]:
        return [p for p, st in self.statuses().items() if st == "fail"]

    def by_path(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.path, []).append(f)
        return out

    def to_json(self) -> dict[str, Any]:
        active = [f for f in self.findings if f.active]
        return {
            "schema": CHECK_SCHEMA,
            "policy": self.policy.describe(),
            "passed": self.passed,
            "summary": {"binaries": len(self.binaries), "findings": len(active),
                        "failing": len(self.failing()), "failing_binaries": len(self.failing_binaries()),
                        "by_severity": {s: sum(1 for f in active if f.severity == s) for s in ("error", "warning", "note")},
                        "suppressed": sum(1 for f in self.findings if f.suppressed),
                        "baselined": sum(1 for f in self.findings if f.baselined), "errors": len(self.errors)},
            "findings": [f.to_json() for f in self.findings],
            "errors": self.errors,
        }


def evaluate(report: Report, policy: Policy, baseline: set[str] | None = None) -> CheckResult:
    """Findings for every binary of a report under ``policy``: the rules read the typed facts."""
    cat = catalog()
    result = CheckResult(policy=policy, errors=[{"path": e.path, "error": e.error} for e in report.errors])
    result.rules_run = sorted(rid for rid in cat if policy.severity(rid) or any(o.rules.get(rid) not in (None, "off")
                                                                                for o in policy.overrides))
    for b in report.binaries:
        path = b.path + (f" [{b.slice}]" if b.slice else "")
        result.binaries.append(path)
        local = policy.for_path(b.path)
        for rid, fn in RULES.items():
            sev = local.severity(rid)
            if sev is None:
                continue
            for message, evidence, key in fn(b, local):
                result.findings.append(_finding(rid, sev, path, message, to_json(evidence), key, local, baseline))
    checksum_sev = policy.severity("DF019")
    if checksum_sev:
        for c in report.containers or []:
            _checksum_findings(result, c, checksum_sev, policy, baseline)
    return result


def _checksum_findings(result: CheckResult, c: ContainerRecord, sev: str, policy: Policy,
                       baseline: set[str] | None) -> None:
    """DF019: a container's files whose sha256 does not match its checksum manifest."""
    sums = c.checksums
    for item in sums.mismatched if sums else []:
        name = item.name or item.path
        msg = f"{name}: sha256 {item.actual} does not match the manifest's {item.expected}"
        ev = [{"kind": "file", "name": sums.manifest if sums else "manifest", "detail": name}]
        result.findings.append(_finding("DF019", sev, c.path, msg, ev, name, policy, baseline))


def _finding(rid: str, sev: str, path: str, message: str, evidence: list[dict[str, str]], key: str, policy: Policy,
             baseline: set[str] | None) -> Finding:
    info = catalog()[rid]
    f = Finding(rule=rid, name=info.name, severity=sev, path=path, message=message, evidence=evidence, fix=info.fix,
                key=key)
    sup = policy.suppression_for(rid, path)
    if sup is not None:
        f.suppressed = sup.reason
    if baseline and f.fingerprint in baseline:
        f.baselined = True
    return f


def write_baseline(result: CheckResult, path: str) -> int:
    entries = [{"rule": f.rule, "path": f.path, "key": f.key, "fingerprint": f.fingerprint}
               for f in result.findings if f.suppressed is None]
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"schema": BASELINE_SCHEMA, "findings": entries}, fh, indent=2)
        fh.write("\n")
    return len(entries)


def read_baseline(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: baseline is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA or not isinstance(data.get("findings"), list):
        raise UsageError(f"{path}: not a depfree baseline (expected schema {BASELINE_SCHEMA!r})")
    return {e["fingerprint"] for e in data["findings"] if isinstance(e, dict) and "fingerprint" in e}
