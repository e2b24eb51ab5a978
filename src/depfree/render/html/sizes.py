"""Treemap views for the size pages: module → package and section treemaps of one binary, growth of a diff."""

from __future__ import annotations

from typing import Any

from depfree.render.html.treemap import Node, Rect, layout

WIDTH, HEIGHT = 960, 440
PALETTE = ("#c6dbef", "#c7e9c0", "#fdd0a2", "#dadaeb", "#fcbba1", "#d9f0a3", "#fee391", "#bcbddc", "#a1d99b",
           "#9ecae1", "#fdae6b", "#e5e5e5")
CODE = ("#6baed6", "#4292c6", "#9ecae1", "#2171b5")
CHAR = 6.6  # px per character of the 11px label font, for cutting labels to fit


def _rects(nodes: list[Node], total: int, prefix: str, zoomable: set[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for k, (n, r) in enumerate(layout(nodes, Rect(0, 0, WIDTH, HEIGHT))):
        fits = int(r.w // CHAR) - 1
        text = n.name if len(n.name) <= fits else (n.name[: max(fits - 1, 0)] + "…" if fits > 3 else "")
        pct = 100.0 * n.size / total if total else 0.0
        out.append({"x": round(r.x, 2), "y": round(r.y, 2), "w": round(r.w, 2), "h": round(r.h, 2),
                    "name": n.name, "size": n.size, "pct": pct, "kind": n.kind, "label": n.label, "delta": n.delta,
                    "text": text if r.h >= 14 else "", "fill": _fill(n, k), "text2": r.h >= 28 and fits >= 8,
                    "zoom": f"{prefix}:{n.name}" if zoomable and n.name in zoomable else None})
    return out


def size_view(b: dict[str, Any], i: int) -> dict[str, Any]:
    """One binary of ``size --json``: a module treemap that zooms into each Go module's packages, and sections."""
    total = b["size"]
    by_module: dict[str, list[dict[str, Any]]] = {}
    for p in b.get("packages") or []:
        key = "C" if p.get("kind") == "cgo" else (p.get("module") or p["name"])
        by_module.setdefault(key, []).append(p)
    modules = [Node(m["name"], m["size"], m.get("label", ""), m.get("kind") or "category") for m in b["modules"]]
    zoomable = {m.name for m in modules if m.name in by_module}
    prefix = f"b{i}"
    views: list[dict[str, Any]] = [{"name": "top", "rects": _rects(modules, total, prefix, zoomable)}]
    for m in modules:
        if m.name in zoomable:
            pkgs = [Node(p["name"], p["size"], p.get("kind", ""), "package") for p in by_module[m.name]]
            views.append({"name": f"{prefix}:{m.name}", "title": m.name, "size": m.size,
                          "rects": _rects(pkgs, total, prefix)})
    sections = [Node(s["name"], s["size"], "", "section") for s in b["sections"]]
    explained = sum(m["size"] for m in b["modules"] if m.get("kind") != "unexplained")
    return {"i": i, "b": b, "views": views, "sections": _rects(sections, total, prefix), "W": WIDTH, "H": HEIGHT,
            "explained": explained, "other": total - explained}


def diff_view(d: dict[str, Any], i: int) -> dict[str, Any]:
    """One ``size --diff``: module and package treemaps whose areas are the size of each change, coloured by
    growth (red, ▲) or shrinkage (green, ▼)."""
    def nodes(rows: list[dict[str, Any]]) -> list[Node]:
        return [Node(r["name"], abs(r["delta"]), f"{r['old']:,} → {r['new']:,} bytes",
                     "grow" if r["delta"] > 0 else "shrink", r["delta"]) for r in rows]

    def changed(rows: list[dict[str, Any]]) -> int:
        return sum(abs(r["delta"]) for r in rows)

    return {"i": i, "d": d, "W": WIDTH, "H": HEIGHT,
            "modules": _rects(nodes(d["modules"]), changed(d["modules"]), f"d{i}m"),
            "packages": _rects(nodes(d["packages"]), changed(d["packages"]), f"d{i}p")}


def _fill(n: Node, k: int) -> str:
    if n.kind == "unexplained":
        return "#f16913"
    if n.kind in ("grow", "shrink"):
        return "#fb6a4a" if n.kind == "grow" else "#74c476"
    if n.kind == "module":
        return CODE[k % len(CODE)]
    return PALETTE[k % len(PALETTE)]
