"""The squarified treemap layout: Bruls, Huizing and van Wijk's worked example, areas in proportion, no overlap."""

from __future__ import annotations

import itertools

from depfree.render.html.treemap import Rect, squarify


def test_paper_example():
    """Figure 2 of "Squarified Treemaps" (2000): 6, 6, 4, 3, 2, 2, 1 in a 6 × 4 rectangle — the two 6s fill the
    left half as a 3 × 2 column each, then 4 and 3 share a row of height 7/3 at the top right."""
    r = squarify([6, 6, 4, 3, 2, 2, 1], Rect(0, 0, 6, 4))
    assert [(q.x, q.y, q.w, q.h) for q in r[:2]] == [(0, 0, 3, 2), (0, 2, 3, 2)]
    assert abs(r[2].h - 7 / 3) < 1e-9 and abs(r[3].h - 7 / 3) < 1e-9
    assert abs(r[2].w + r[3].w - 3) < 1e-9


def test_areas_fill_and_do_not_overlap():
    sizes = [2_726_689, 2_336_063, 2_196_767, 551_848, 482_715, 299_443, 183_801, 8_325, 3_728, 2_354, 1_792, 16]
    box = Rect(0, 0, 960, 440)
    r = squarify(sizes, box)
    total = sum(sizes)
    for s, q in zip(sizes, r, strict=True):
        assert abs(q.w * q.h - s / total * box.w * box.h) < 1e-6 * box.w * box.h
        assert q.x >= -1e-9 and q.y >= -1e-9 and q.x + q.w <= box.w + 1e-6 and q.y + q.h <= box.h + 1e-6
    for a, b in itertools.combinations(r, 2):
        overlap_w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
        overlap_h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
        assert overlap_w <= 1e-6 or overlap_h <= 1e-6
    assert squarify([], box) == [] and squarify([0, 0], box) == []
