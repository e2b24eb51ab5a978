"""Every fact depfree reports on a corpus of real third-party binaries (Debian packages, PyPI wheels, npm packages,
downloaded once into the fixture cache) agrees with an independent tool, except where that tool is known to be
wrong (tests/helpers/compare.py says why and which other tool shows it). bench/compare_corpus.py prints the table."""

from __future__ import annotations

import pytest

from helpers.compare import compare_item
from helpers.corpus import CORPUS


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_item_agrees_with_peers(factory, name):
    rows = compare_item(factory, name)
    assert len(rows) >= 4, f"{name}: only {len(rows)} facts compared"
    disagreements = [r for r in rows if r.verdict == "disagree"]
    assert not disagreements, "\n".join(f"{r.fact} vs {r.peer}: depfree {r.ours!r}, peer {r.theirs!r}"
                                        for r in disagreements)
    for r in rows:
        if r.verdict == "peer-wrong":
            assert r.note, r  # a peer is only overruled with a reason
