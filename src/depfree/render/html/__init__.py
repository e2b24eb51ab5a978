"""Self-contained HTML reports (``--format html``): one file, CSS, script and SVG inline, nothing fetched.

Each page is built from the same JSON data the ``--json`` output prints (``Report.to_json()``, ``CheckResult.to_json()``,
the size report's ``to_json()`` and ``diff()``), through the Jinja2 templates in ``templates/``:

- :func:`report_page` — ``inspect`` and ``scan``: summary, a binary × target matrix (sortable, filterable), and a
  card per binary with every claim's evidence, built on demand in the browser from the embedded report;
- :func:`check_page` — ``check``: pass/fail, findings grouped by rule with the rule docs, and the matrix;
- :func:`sbom_page` — ``sbom``: every component of the :class:`~depfree.sbom.model.Sbom` the CycloneDX/SPDX writers
  are given (rows by :mod:`depfree.render.html.sbom`), filterable by role, with needs and evidence;
  :func:`sbom_diff_page` — ``sbom --diff``: added, removed, changed components and changed needs;
- :func:`build_page` — ``build``: the recommendation and its go build line, the variant matrix (targets, the four
  sandbox roots, start-up time, peak RSS, build time) and a card per variant (rows by :mod:`depfree.render.html.build`);
- :func:`size_page`, :func:`size_diff_page` — ``size``: zoomable treemaps (module → package, sections) drawn as SVG
  by :mod:`depfree.render.html.treemap`, and the tables.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

from depfree.errors import UsageError
from depfree.render.html.sizes import diff_view, size_view

RANK = {"ok": 0, "warn": 1, "fail": 2}
MARK = {"ok": "✓ ok", "warn": "⚠ warn", "fail": "✗ fail"}


@cache
def _env() -> Any:
    try:
        from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
    except ImportError as exc:
        raise UsageError("--format html needs Jinja2, which is not installed: pip install 'depfree[html]'") from exc

    env = Environment(loader=PackageLoader("depfree.render.html", "templates"), autoescape=select_autoescape(
        ["html", "j2"], default_for_string=True, default=True), undefined=ChainableUndefined, trim_blocks=True,
        lstrip_blocks=True)
    env.filters["bytes"] = human_bytes
    env.filters["num"] = lambda n: f"{n:,}"
    env.filters["signed"] = lambda n: f"{n:+,}"
    env.globals["MARK"] = MARK
    return env


@cache
def _asset(name: str) -> str:
    return resources.files("depfree.render.html").joinpath("assets", name).read_text(encoding="utf-8")


def human_bytes(n: int | float) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _embed(data: Any) -> str:
    """The report as gzip-compressed JSON in base64, for <script type="application/gzip">: the browser inflates it
    with its own DecompressionStream when the first card opens. A 1,400-binary scan's 12 MB of JSON becomes ~1.5 MB,
    which the HTML parser then does not have to read on load (bench/results/html.md)."""
    from depfree.render.json import escape_surrogates  # a file name that is not UTF-8 stays valid JSON

    raw = escape_surrogates(json.dumps(data, ensure_ascii=False, separators=(",", ":"))).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def _render(template: str, **kw: Any) -> str:
    page: str = _env().get_template(template).render(css=_asset("style.css"), js=_asset("app.js"), **kw)
    return page


def _language(b: dict[str, Any]) -> str:
    go = b.get("go")
    if go:
        return "Go (cgo)" if go.get("cgo") else "Go"
    return "native"


def _matrix(report: dict[str, Any]) -> dict[str, Any]:
    """Rows and columns of the binary × target matrix, from ``Report.to_json()``."""
    binaries = report.get("binaries") or []
    targets: list[str] = []
    for b in binaries:
        for t in b.get("targets") or []:
            if t["target"] not in targets:
                targets.append(t["target"])
    rows = []
    worst_counts: Counter[str] = Counter()
    roots = sorted((c["path"] for c in report.get("containers") or [] if c.get("path")), key=len, reverse=True)
    for i, b in enumerate(binaries):
        cells = {t["target"]: t for t in b.get("targets") or []}
        verdicts = [c["verdict"] for c in cells.values()]
        worst = max(verdicts, key=lambda v: RANK.get(v, 0)) if verdicts else ""
        worst_counts[worst or "none"] += 1
        res = b.get("resolution")
        root = next((r for r in roots if b["path"].startswith(r) and b["path"][len(r):][:1] in ("/", "!")), None)
        shown = b["path"][len(root) + 1:] if root else b["path"]
        rows.append({"i": i, "b": b, "shown": shown or b["path"], "cells": [cells.get(t) for t in targets], "worst": worst, "lang": _language(b),
                     "contained": None if res is None else bool(res.get("self_contained"))})
    return {"targets": targets, "rows": rows, "worst": worst_counts,
            "formats": sorted({r["b"]["format"] for r in rows}), "oses": sorted({r["b"]["os"] for r in rows}),
            "langs": sorted({r["lang"] for r in rows}),
            "contained": sum(1 for r in rows if r["contained"])}


def report_page(report: dict[str, Any], verb: str = "inspect") -> str:
    """The ``inspect``/``scan`` page for ``Report.to_json()``."""
    return _render("report.html.j2", verb=verb, report=report, m=_matrix(report), data=_embed(report),
                   title=f"depfree {verb}")


def check_page(result: dict[str, Any], report: dict[str, Any]) -> str:
    """The ``check`` page: ``CheckResult.to_json()`` plus the report it judged."""
    from depfree.policy.catalog import catalog

    cat = catalog()
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in result.get("findings") or []:
        groups.setdefault(f["rule"], []).append(f)
    rules = []
    for rid, findings in sorted(groups.items(), key=lambda kv: (-max(_sev_rank(f["severity"]) for f in kv[1]),
                                                               kv[0])):
        info = cat.get(rid)
        rules.append({"id": rid, "name": findings[0]["name"], "findings": findings,
                      "severity": max((f["severity"] for f in findings), key=_sev_rank),
                      "summary": info.summary if info else "", "fix": info.fix if info else "",
                      "doc": info.doc_path if info else ""})
    return _render("check.html.j2", verb="check", result=result, rules=rules, report=report, m=_matrix(report),
                   data=_embed(report), title="depfree check")


def _sev_rank(sev: str) -> int:
    return {"note": 0, "warning": 1, "error": 2}.get(sev, 0)


def size_page(data: dict[str, Any]) -> str:
    """The ``size`` page for ``{"schema", "binaries": [SizeReport.to_json()...]}``."""
    views = [size_view(b, i) for i, b in enumerate(data.get("binaries") or [])]
    return _render("size.html.j2", verb="size", views=views, title="depfree size")


def size_diff_page(data: dict[str, Any]) -> str:
    """The ``size --diff`` page for ``{"schema", "diffs": [diff()...]}``."""
    views = [diff_view(d, i) for i, d in enumerate(data.get("diffs") or [])]
    return _render("diff.html.j2", verb="size --diff", views=views, title="depfree size --diff")



def sbom_page(sbom: Any) -> str:
    """The ``sbom`` page for a :class:`~depfree.sbom.model.Sbom`."""
    from depfree.render.html.sbom import sbom_view

    return _render("sbom.html.j2", verb="sbom", v=sbom_view(sbom), errors=sbom.errors, serial=sbom.serial,
                   timestamp=sbom.timestamp.isoformat() if sbom.timestamp else "", tool_version=sbom.tool_version,
                   title=f"depfree sbom: {sbom.root.name}")


def sbom_diff_page(d: dict[str, Any]) -> str:
    """The ``sbom --diff`` page for :func:`depfree.sbom.diff.diff`'s result (what ``--diff --json`` prints)."""
    return _render("sbom-diff.html.j2", verb="sbom --diff", d=d, title="depfree sbom --diff")


def build_page(m: dict[str, Any]) -> str:
    """The ``build`` page for ``Matrix.to_json()``: the recommendation, the variant × target/root matrix, a card per
    variant (facts, runs, why it fails a target)."""
    from depfree.render.html.build import build_view

    return _render("build.html.j2", verb="build", m=m, v=build_view(m), title=f"depfree build: {m['module']}")


def size_html(data: dict[str, Any]) -> str:
    """``size`` or ``size --diff`` (``{"schema", "binaries": [...]}`` or ``{"schema", "diffs": [...]}``)."""
    return size_diff_page(data) if "diffs" in data else size_page(data)
