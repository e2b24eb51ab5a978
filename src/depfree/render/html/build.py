"""Rows of the ``depfree build --format html`` page, from ``Matrix.to_json()`` (what ``--json`` prints): one row
per variant with its facts, each target's verdict joined with the sandbox run standing for it, the runs in the four
roots in a fixed column order, the start-up time and peak RSS."""

from __future__ import annotations

from typing import Any

ROOTS = (("scratch", "empty"), ("scratch+certs", "CA-only"), ("musl", "musl"), ("glibc", "glibc"))
RANK = {"ok": 0, "warn": 1, "fail": 2}


def _row(v: dict[str, Any], targets: list[str], recommended: str | None) -> dict[str, Any]:
    by_target = {t["target"]: t for t in v.get("targets") or []}
    by_root = {r["root"]: r for r in v.get("runs") or []}
    timing = v.get("timing")
    cells = []
    for name in targets:
        t = by_target.get(name)
        cells.append(None if t is None else {**t, "rank": RANK.get(t["verdict"], 0) if t["passes"] else 3})
    return {"name": v["variant"]["name"], "description": v["variant"].get("description", ""),
            "status": v["build"]["status"], "reason": (v["build"].get("reason") or "").strip().splitlines()[-1:],
            "facts": v.get("facts"), "targets": cells, "runs": [by_root.get(root) for root, _ in ROOTS],
            "raw_runs": v.get("runs") or [], "timing": timing,
            "startup_ms": timing["median"] * 1000 if timing else None,
            "spread_ms": (timing["max"] - timing["min"]) * 500 if timing else None,
            "build_seconds": v["build"].get("seconds", 0.0), "seconds": v.get("seconds") or {},
            "passes": bool(v.get("passes_all")), "recommended": v["variant"]["name"] == recommended,
            "command": v.get("command", ""),
            "reasons": [(t["target"], reason) for t in v.get("targets") or [] for reason in t.get("reasons") or []]}


def build_view(m: dict[str, Any]) -> dict[str, Any]:
    recommended = (m.get("recommendation") or {}).get("variant")
    rows = [_row(v, m.get("targets") or [], recommended) for v in m.get("variants") or []]
    for r in rows:
        r["reason"] = r["reason"][0] if r["reason"] else ""
    return {"rows": rows, "roots": ROOTS, "built": sum(1 for r in rows if r["status"] == "built")}
