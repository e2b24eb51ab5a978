"""JUnit XML: one testsuite per binary, one testcase per binary×rule that ran. A case fails only for a finding at or
above fail_on; a finding below it is a passed case whose ``system-out`` carries the finding; a suppressed or
baselined one is skipped with the reason. Unreadable inputs are ``error`` cases of a suite named "inputs"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from depfree.policy.catalog import catalog
from depfree.policy.engine import CheckResult, Finding
from depfree.render.check_text import evidence_text
from depfree.render.paths import relative


def _text(findings: list[Finding]) -> str:
    return "\n".join(f"{f.severity}: {f.message}\nevidence: {evidence_text(f, limit=20)}\nfix: {f.fix}"
                     for f in findings)


def to_junit(result: CheckResult) -> str:
    cat = catalog()
    root = ET.Element("testsuites", name="depfree check")
    total = failures = 0
    by_path = result.by_path()
    for path in result.paths():
        shown = relative(path)
        suite = ET.SubElement(root, "testsuite", name=shown)
        cases = failed = skipped = 0
        mine = by_path.get(path, [])
        rules = list(dict.fromkeys([*result.rules_run, *(f.rule for f in mine)]))
        for rid in rules:
            case = ET.SubElement(suite, "testcase", classname=shown, name=f"{rid} {cat[rid].name}", time="0")
            cases += 1
            hits = [f for f in mine if f.rule == rid]
            failing = [f for f in hits if result.fails(f)]
            passing = [f for f in hits if f.active and not result.fails(f)]
            if failing:
                failed += 1
                fail = ET.SubElement(case, "failure", message=failing[0].message, type=failing[0].severity)
                fail.text = _text(failing)
            elif passing:
                ET.SubElement(case, "system-out").text = (f"below fail_on={result.policy.fail_on}, not a failure:\n"
                                                          + _text(passing))
            elif hits:
                skipped += 1
                why = hits[0].suppressed or "in baseline"
                ET.SubElement(case, "skipped", message=f"suppressed: {why}" if hits[0].suppressed else why)
        suite.set("tests", str(cases))
        suite.set("failures", str(failed))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        total += cases
        failures += failed
    if result.errors:
        suite = ET.SubElement(root, "testsuite", name="inputs", tests=str(len(result.errors)), failures="0",
                              errors=str(len(result.errors)), skipped="0")
        for e in result.errors:
            case = ET.SubElement(suite, "testcase", classname="inputs", name=relative(e["path"]), time="0")
            err = ET.SubElement(case, "error", message=e["error"], type="input")
            err.text = e["error"]
        total += len(result.errors)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(len(result.errors)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
