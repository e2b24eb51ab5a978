"""``build --format html``: the matrix page opens from file:// in headless Chromium with the network blocked and no
console error. Every cell is checked against an oracle, not against depfree: sizes and sha256 against the kept
files, linkage, interpreter, NEEDED and minimum glibc against readelf, which roots the program started in against a
real run in an empty chroot (and readelf's interpreter for the musl root), the recommendation against the rows that
pass every target (smallest first), and the go build line against the variant table."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from depfree.cli.main import cli
from depfree.render.html import build_page
from helpers.browser import browser, chromium_available
from helpers.truth import readelf
from test_build import PROGRAM, _built, _matrix, empty_root_run

pytestmark = pytest.mark.skipif(not chromium_available(), reason="needs /usr/bin/chromium (Debian package chromium)")

ROWS_JS = """rs => rs.map(r => ({name: r.dataset.variant, passes: r.dataset.passes, status: r.dataset.status,
  size: (r.querySelector('td.size') || {dataset: {}}).dataset.v,
  linkage: (r.querySelector('td.linkage') || {textContent: ''}).textContent.trim(),
  targets: Object.fromEntries(Array.from(r.querySelectorAll('td.target')).map(t => [t.dataset.target, t.textContent.trim()])),
  roots: Object.fromEntries(Array.from(r.querySelectorAll('td.root')).map(t => [t.dataset.root, t.textContent.trim()]))}))"""

CARD_JS = """cs => cs.map(c => ({id: c.id, sha256: (c.querySelector('code.sha256') || {textContent: ''}).textContent,
  interpreter: (c.querySelector('code.interpreter') || {textContent: ''}).textContent,
  needed: Array.from(c.querySelectorAll('dd.needed code')).map(x => x.textContent),
  glibc: (c.querySelector('b.min-glibc') || {textContent: ''}).textContent,
  command: (c.querySelector('code.command') || {textContent: ''}).textContent}))"""


@pytest.fixture(scope="module")
def matrix(factory: Any) -> tuple[dict[str, Any], Path]:
    return _matrix(factory, "1.27.3", None)  # the same cached matrix as tests/test_build.py


def test_build_page(matrix: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    m, _ = matrix
    out = tmp_path / "build.html"
    out.write_text(build_page(m))
    built = _built(m)
    with browser() as new:
        s = new(1280, 900)
        s.open(out)
        page = s.page
        rows = {r["name"]: r for r in page.eval_on_selector_all("#matrix tbody tr", ROWS_JS)}
        cards = {c["id"].removeprefix("variant-"): c for c in page.eval_on_selector_all("section.variant", CARD_JS)}
        assert set(rows) == {v["variant"]["name"] for v in m["variants"]} == set(cards)
        for i, (name, v) in enumerate(built.items()):
            path = v["build"]["path"]
            data = Path(path).read_bytes()
            row, card, truth = rows[name], cards[name], readelf(path)
            assert int(row["size"]) == len(data) and card["sha256"] == hashlib.sha256(data).hexdigest(), name
            assert card["interpreter"] == (truth.interpreter or "") and sorted(card["needed"]) == sorted(truth.needed)
            assert card["glibc"] == (truth.min_glibc or "") and row["linkage"].startswith(
                "dynamic" if truth.interpreter or truth.needed else "static"), name
            empty = empty_root_run(path, tmp_path / str(i))
            assert row["roots"]["scratch"].startswith("✓ started" if empty.returncode == 0 else "✗"), name
            assert row["roots"]["musl"].startswith("✗" if truth.interpreter else "✓ started"), name
            # the empty root stands for the scratch target: its cell fails exactly when the real run could not start
            assert row["targets"]["scratch"].startswith("✗") == (empty.returncode != 0), name
            too_new = truth.min_glibc is not None and tuple(map(int, truth.min_glibc.split("."))) > (2, 17)
            assert row["targets"]["centos-7"].startswith("✗") == too_new, name
        for name, v in {k: x for k, x in ((x["variant"]["name"], x) for x in m["variants"])}.items():
            if v["build"]["status"] != "built":  # skipped or failed: said so, with the reason
                assert rows[name]["status"] == v["build"]["status"]
        # the recommendation: the smallest variant whose row passes every target, and its go build line
        passing = [n for n, r in rows.items() if r["passes"] == "yes"]
        best = min(passing, key=lambda n: len(Path(built[n]["build"]["path"]).read_bytes()))
        rec = page.locator("#recommendation").inner_text()
        assert f"✓ {best}" in rec and page.locator("#rec-command").inner_text() == cards[best]["command"]
        assert "CGO_ENABLED=0" in cards["cgo-off"]["command"] and "-trimpath" in cards["trimpath"]["command"]
        # filter from the keyboard; the count is announced
        page.locator("#f-passes").focus()
        page.select_option("#f-passes", "yes")
        visible = page.locator("#matrix tbody tr:not([hidden])")
        assert visible.count() == len(passing) and page.locator("#shown").inner_text() == f"{len(passing)} shown"
        page.select_option("#f-passes", "")
        # sort by size from the keyboard: ascending sizes
        page.locator("#matrix thead th[data-col='1'] button").focus()
        page.keyboard.press("Enter")
        sizes = page.eval_on_selector_all("#matrix tbody tr td.size", "ts => ts.map(t => +t.dataset.v)")
        assert sizes == sorted(sizes)
        page.emulate_media(forced_colors="active")  # readable without colour: the marks are words and symbols
        assert "started" in page.locator("#matrix").inner_text()
        page.emulate_media(forced_colors="none")
        page.screenshot(path=str(Path(os.environ.get("DEPFREE_ARTIFACTS") or tmp_path) / "build.png"))
        s.assert_clean()


def test_build_cli_writes_the_page(factory: Any, tmp_path: Path) -> None:
    """``depfree build --format html -o FILE`` (one variant, no sandbox runs): the page names the binary --keep kept."""
    factory.toolchain("1.27.3")  # installed
    out, keep = tmp_path / "m.html", tmp_path / "bin"
    res = CliRunner().invoke(cli, ["build", str(PROGRAM), "--go", "1.27.3", "-V", "cgo-off", "-t", "scratch",
                                   "--no-run", "--keep", str(keep), "--format", "html", "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    binary = keep / "cgo-off" / PROGRAM.name
    assert text.startswith("<!doctype html>") and hashlib.sha256(binary.read_bytes()).hexdigest() in text
    res = CliRunner().invoke(cli, ["build", str(PROGRAM), "--go", "1.27.3", "-V", "cgo-off", "-t", "scratch",
                                   "--no-run", "--json"])
    assert json.loads(res.stdout)["variants"][0]["facts"]["size"] == binary.stat().st_size
