"""``--format html``: every page opens from file:// in headless Chromium with the network blocked, without a console
error, and shows the facts the independent tools give (readelf for the interpreter and sections, the file sizes).

Screenshots of every page land in $DEPFREE_ARTIFACTS (default: pytest's basetemp/html-artifacts)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from depfree.cli.main import cli
from helpers.browser import browser, chromium_available

pytestmark = pytest.mark.skipif(not chromium_available(), reason="needs /usr/bin/chromium (Debian package chromium)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    out = Path(os.environ.get("DEPFREE_ARTIFACTS") or tmp_path_factory.getbasetemp() / "html-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def chrome():
    with browser() as new:
        yield new


@pytest.fixture(scope="module")
def tree(factory, tmp_path_factory) -> Path:
    """A directory of real binaries: static pure-Go, cgo Go, a dynamic C program, a Go .exe."""
    d = tmp_path_factory.mktemp("bins")
    for name, path in (("static-go", factory.go("plain")), ("cgo-go", factory.go("nettool", cgo=True)),
                       ("hello-c", factory.c("hello.c")), ("tool.exe", factory.go("plain", goos="windows"))):
        shutil.copy(path, d / name)
    return d


def _run(*args: str, code: int = 0) -> None:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output


def _interpreter(path: Path) -> str | None:
    """The PT_INTERP path readelf shows, or None."""
    out = subprocess.run(["readelf", "-l", "-W", str(path)], capture_output=True, text=True).stdout
    m = re.search(r"Requesting program interpreter: (\S+)\]", out)
    return m.group(1) if m else None


def _open(chrome, path: Path, width: int = 1280, height: int = 800):
    s = chrome(width, height)
    s.open(path)
    return s


def _row(page, name: str):
    return page.locator(f"#matrix tbody tr[data-path$='/{name}']")


def test_scan_page_matrix_cards_filters(chrome, tree, tmp_path, artifacts):
    out = tmp_path / "scan.html"
    _run("scan", "--format", "html", "-o", str(out), str(tree))
    s = _open(chrome, out)
    page = s.page
    assert page.locator("#matrix tbody tr").count() == 4
    for name in ("static-go", "cgo-go", "hello-c"):
        interp = _interpreter(tree / name)
        cell = _row(page, name).locator("td.cell[data-target='scratch']")
        # scratch has no loader at all: a binary with PT_INTERP cannot start there, one without can
        if interp:
            assert cell.get_attribute("data-verdict") == "fail" and "✗" in cell.inner_text(), name
        else:
            assert cell.get_attribute("data-verdict") == "ok" and "✓" in cell.inner_text(), name
    # evidence on demand: clicking a binary opens its card with the PT_INTERP evidence
    _row(page, "cgo-go").locator("button.bin").click()
    card = page.locator("#card")
    expect(card.locator("h2")).to_contain_text("cgo-go")
    summaries = card.locator("details.evidence summary")
    for i in range(summaries.count()):
        summaries.nth(i).click()
    text = card.inner_text()
    assert _interpreter(tree / "cgo-go") in text and "PT_INTERP" in text and "Go" in text
    # keyboard: focus another binary and press Enter
    _row(page, "hello-c").locator("button.bin").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#card h2")).to_contain_text("hello-c")
    assert page.evaluate("document.activeElement.id") == "card-title"
    # filter by verdict: ✓ everywhere leaves only binaries without a ✗ or ⚠ cell
    page.select_option("#f-verdict", "ok")
    visible = page.locator("#matrix tbody tr:not([hidden])")
    assert visible.count() >= 1
    for i in range(visible.count()):
        assert "✗" not in visible.nth(i).inner_text() and "⚠" not in visible.nth(i).inner_text()
    page.select_option("#f-verdict", "fail")
    names = [visible.nth(i).get_attribute("data-path") for i in range(visible.count())]
    assert any(n.endswith("/cgo-go") for n in names) and not any(n.endswith("/static-go") for n in names)
    page.select_option("#f-verdict", "")
    page.select_option("#f-format", "pe")
    assert [visible.nth(i).get_attribute("data-path") for i in range(visible.count())] == [str(tree / "tool.exe")]
    page.select_option("#f-format", "")
    # sorting by path
    page.locator("#matrix thead th[data-col='0'] button").click()
    paths = page.eval_on_selector_all("#matrix tbody tr", "rs => rs.map(r => r.dataset.path)")
    assert paths == sorted(paths)
    page.screenshot(path=str(artifacts / "scan.png"))
    s.assert_clean()


def test_scan_page_phone_width_and_print(chrome, tree, tmp_path, artifacts):
    out = tmp_path / "scan.html"
    _run("scan", "--format", "html", "-o", str(out), str(tree))
    s = _open(chrome, out, 390, 844)
    page = s.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # the wide table scrolls in its own box
    page.screenshot(path=str(artifacts / "scan-phone.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".filters").evaluate("e => getComputedStyle(e).display") == "none"
    page.pdf(path=str(artifacts / "scan.pdf"))
    s.assert_clean()


def test_inspect_page(chrome, tree, tmp_path, artifacts):
    out = tmp_path / "inspect.html"
    _run("inspect", "--format", "html", "-o", str(out), *(str(p) for p in sorted(tree.iterdir())))
    s = _open(chrome, out)
    page = s.page
    assert page.locator("#matrix tbody tr").count() == 4
    assert page.locator("#matrix thead").inner_text().count("self-contained") == 0
    _row(page, "static-go").locator("button.bin").click()
    expect(page.locator("#card")).to_contain_text("Hardening")
    page.screenshot(path=str(artifacts / "inspect.png"))
    s.assert_clean()


def test_check_page(chrome, tree, tmp_path, artifacts):
    out = tmp_path / "check.html"
    _run("check", "--preset", "scratch", "--format", "html", "-o", str(out), str(tree), code=1)
    s = _open(chrome, out)
    page = s.page
    assert "✗ failed" in page.locator("#check-verdict").inner_text()
    # the interpreter rule lists exactly the binaries readelf shows a PT_INTERP for
    with_interp = {str(tree / n) for n in ("static-go", "cgo-go", "hello-c") if _interpreter(tree / n)}
    rule = page.locator("section.rule", has=page.locator("h3", has_text="interpreter-present"))
    listed = {p for p in rule.locator("li.finding code.path").all_inner_texts()}
    assert listed == with_interp
    rid = rule.get_attribute("id").removeprefix("rule-")
    assert page.locator(f"nav a[href='#rule-{rid}']").count() == 1
    doc = re.search(r"docs/rules/\w+\.md", rule.locator(".doc").inner_text()).group(0)
    assert (Path(__file__).parent.parent / doc).is_file() and rid in doc
    assert page.locator("#matrix tbody tr").count() == 4
    page.screenshot(path=str(artifacts / "check.png"))
    s.assert_clean()


def _readelf_sections(path: Path) -> dict[str, int]:
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return {m.group(1): (0 if m.group(2) == "NOBITS" else int(m.group(3), 16))
            for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", out, re.M)}


def test_size_page_treemap(chrome, factory, tmp_path, artifacts):
    binary = factory.go("withdeps")
    res = CliRunner().invoke(cli, ["size", "--json", str(binary)])
    want = json.loads(res.output)["binaries"][0]
    out = tmp_path / "size.html"
    _run("size", "--format", "html", "-o", str(out), str(binary))
    s = _open(chrome, out)
    page = s.page
    tm = page.locator(".treemap").first
    # a node per package, with the byte count `size --json` gives, each in its module's view
    nodes = dict(tm.locator(".view:not([data-view='top']) g.node").evaluate_all(
        "gs => gs.map(g => [g.dataset.name, +g.dataset.bytes])"))
    assert nodes == {p["name"]: p["size"] for p in want["packages"]}
    top = dict(tm.locator(".view[data-view='top'] g.node").evaluate_all(
        "gs => gs.map(g => [g.dataset.name, +g.dataset.bytes])"))
    assert top == {m["name"]: m["size"] for m in want["modules"]}
    assert sum(top.values()) == binary.stat().st_size
    # readable without colour or a mouse: every node is focusable and says its name and bytes in words
    labels = page.locator("g.node").evaluate_all("gs => gs.map(g => [g.getAttribute('tabindex'), g.ariaLabel])")
    assert all(t == "0" and re.search(r": [\d,]+ bytes", a) for t, a in labels), labels[:3]
    # sections as readelf lists them
    sec = dict(page.locator(".treemap.sections g.node").evaluate_all(
        "gs => gs.map(g => [g.dataset.name, +g.dataset.bytes])"))
    truth = _readelf_sections(binary)
    for name in (".text", ".rodata", ".gopclntab", ".go.type"):
        assert sec[name] == truth[name], name
    # zoom with the keyboard: Enter on std shows its packages, Escape goes back
    std = tm.locator(".view[data-view='top'] g.zoomable[data-name='std']")
    std.focus()
    page.keyboard.press("Enter")
    assert tm.locator(".view[data-view$=':std']").is_visible()
    assert not tm.locator(".view[data-view='top']").is_visible()
    page.screenshot(path=str(artifacts / "size-zoomed.png"))
    page.keyboard.press("Escape")
    assert tm.locator(".view[data-view='top']").is_visible()
    page.screenshot(path=str(artifacts / "size.png"))
    s.assert_clean()


def test_size_diff_page(chrome, factory, tmp_path, artifacts):
    old, new = factory.go("nettool", go="1.24.11"), factory.go("nettool")
    out = tmp_path / "diff.html"
    _run("size", "--format", "html", "-o", str(out), "--diff", str(old), str(new))
    s = _open(chrome, out)
    page = s.page
    delta = new.stat().st_size - old.stat().st_size
    assert f"{delta:+,}" in page.locator("#diff-0-delta").inner_text()
    assert ("grew" if delta > 0 else "shrank") in page.locator("#diff-0-delta").inner_text()
    # the DWARF node moved by the change in .debug_* bytes readelf lists in the two builds
    def dwarf(path: Path) -> int:
        return sum(v for k, v in _readelf_sections(path).items() if k.startswith((".debug_", ".zdebug_")))

    change = dwarf(new) - dwarf(old)
    node = page.locator(".treemap g.node[data-name='DWARF']").first
    assert int(node.get_attribute("data-delta")) == change
    assert ("grew" if change > 0 else "shrank") in node.get_attribute("aria-label")
    # every changed package is a node, with its change
    assert page.locator(".treemap g.node.grow, .treemap g.node.shrink").count() > 10
    rows = page.locator("table.delta[data-part='modules'] tbody tr").evaluate_all(
        "rs => rs.map(r => Math.abs(+r.dataset.delta))")
    assert rows == sorted(rows, reverse=True)
    page.screenshot(path=str(artifacts / "size-diff.png"))
    s.assert_clean()


def test_html_errors(tmp_path, factory, monkeypatch):
    binary = factory.c("hello.c")
    for fmt in ("html", "json"):
        res = CliRunner().invoke(cli, ["size", "--format", fmt, "-o", str(tmp_path / "no" / "x"), str(binary)])
        assert res.exit_code == 2 and "cannot write the output file" in res.output
    _run("inspect", "--format", "json", "-o", str(tmp_path / "r.json"), str(binary))
    assert json.loads((tmp_path / "r.json").read_text())["binaries"][0]["path"] == str(binary)
    from depfree.render import html

    html._env.cache_clear()
    monkeypatch.setitem(sys.modules, "jinja2", None)
    res = CliRunner().invoke(cli, ["inspect", "--format", "html", str(binary)])
    html._env.cache_clear()
    assert res.exit_code == 2 and "needs Jinja2" in res.output


def test_hostile_names_stay_text(chrome, factory, tmp_path):
    """A file name that is markup shows as text: nothing runs, nothing is fetched."""
    name = '<img src=x onerror="console.error(1)">"\'&.bin'
    path = tmp_path / name
    shutil.copy(factory.c("hello.c"), path)
    out = tmp_path / "inspect.html"
    _run("inspect", "--format", "html", "-o", str(out), str(path))
    s = _open(chrome, out)
    assert s.page.locator("button.bin").inner_text() == str(path)
    s.page.locator("button.bin").click()
    expect(s.page.locator("#card h2")).to_have_text(str(path))
    assert s.page.locator("img").count() == 0
    s.assert_clean()
