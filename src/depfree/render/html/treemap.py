"""A squarified treemap laid out in Python, drawn as inline SVG (no JavaScript library, nothing to fetch).

The layout follows Bruls, Huizing and van Wijk, "Squarified Treemaps" (2000): items sorted by size are laid in rows
along the shorter side of the remaining rectangle, a row growing while its worst aspect ratio improves.
"""

from __future__ import annotations

from collections.abc import Sequence

from depfree.dataclass import dataclass, field


@dataclass
class Node:
    name: str
    size: int
    label: str = ""  # shown in the tooltip besides the name
    kind: str = ""  # a CSS class: module, package, category, unexplained, section, grow, shrink, same
    delta: int | None = None
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float


def _worst(row: Sequence[float], side: float) -> float:
    s = sum(row)
    if s <= 0 or side <= 0:
        return float("inf")
    hi, lo = max(row), min(row)
    return max(side * side * hi / (s * s), (s * s) / (side * side * lo)) if lo > 0 else float("inf")


def squarify(sizes: Sequence[float], rect: Rect) -> list[Rect]:
    """Rectangles for ``sizes`` (sorted largest first, all > 0) filling ``rect`` in proportion to their sizes."""
    total = sum(sizes)
    if total <= 0 or not sizes:
        return []
    scale = rect.w * rect.h / total
    areas = [s * scale for s in sizes]
    out: list[Rect] = []
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        i += 1
        while i < len(areas) and _worst(row + [areas[i]], side) <= _worst(row, side):
            row.append(areas[i])
            i += 1
        vertical = w >= h  # lay the row as a column on the left, else along the top
        side = h if vertical else w
        thick = sum(row) / side if side else 0
        pos = y if vertical else x
        for a in row:
            length = a / thick if thick else 0
            out.append(Rect(x, pos, thick, length) if vertical else Rect(pos, y, length, thick))
            pos += length
        if vertical:
            x, w = x + thick, w - thick
        else:
            y, h = y + thick, h - thick
    return out


def layout(nodes: Sequence[Node], rect: Rect) -> list[tuple[Node, Rect]]:
    """The nodes with a size above zero, largest first, each with its rectangle."""
    items = sorted((n for n in nodes if n.size > 0), key=lambda n: (-n.size, n.name))
    return list(zip(items, squarify([n.size for n in items], rect), strict=True))
