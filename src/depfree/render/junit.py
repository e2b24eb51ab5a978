"""JUnit XML: one testsuite per binary, one testcase per binary×rule that ran (failures for active findings)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from depfree.policy.catalog import catalog
from depfree.policy.engine import CheckResult


def to_junit(result: CheckResult) -> str:
    cat = catalog()
    root = ET.Element("testsuites", name="depfree check")
    total = failures = 0
    for path in result.binaries:
        suite = ET.SubElement(root, "testsuite", name=path)
        cases = failed = skipped = 0
        for rid in result.rules_run:
            info = cat[rid]
            case = ET.SubElement(suite, "testcase", classname=path, name=f"{rid} {info.name}", time="0")
            cases += 1
            hits = [f for f in result.findings if f.path == path and f.rule == rid]
            active = [f for f in hits if f.active]
            if active:
                failed += 1
                text = "\n".join(f"{f.message}\nevidence: " + "; ".join(
                    f"{e.get('kind')} {e.get('name')}" + (f" ({e['detail']})" if e.get("detail") else "")
                    for e in f.evidence) + f"\nfix: {f.fix}" for f in active)
                fail = ET.SubElement(case, "failure", message=active[0].message, type=active[0].severity)
                fail.text = text
            elif hits:
                skipped += 1
                why = hits[0].suppressed or "in baseline"
                ET.SubElement(case, "skipped", message=f"suppressed: {why}")
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
            case = ET.SubElement(suite, "testcase", classname="inputs", name=e["path"], time="0")
            err = ET.SubElement(case, "error", message=e["error"], type="input")
            err.text = e["error"]
        total += len(result.errors)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(len(result.errors)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
