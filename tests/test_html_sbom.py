"""``sbom --format html``: the page opens from file:// in headless Chromium with the network blocked and no console
error; its Go module rows are what ``go version -m`` says, its purls are the CycloneDX document's (written by
cyclonedx-python-lib), its hashes are the files' sha256 and its needs are what readelf shows."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from depfree.cli.main import cli
from helpers.browser import browser, chromium_available
from helpers.factory import Factory
from test_sbom import EPOCH, _next_release, go_version_m, readelf_interp, readelf_min_glibc, readelf_needed

pytestmark = pytest.mark.skipif(not chromium_available(), reason="needs /usr/bin/chromium (Debian package chromium)")

ROWS_JS = """rs => rs.map(r => ({ref: r.dataset.ref, role: r.dataset.role,
  name: r.querySelector('th.name').textContent.trim(), version: r.querySelector('td.version').textContent.trim(),
  purl: (r.querySelector('td.purl code') || {textContent: ''}).textContent.trim(),
  path: (r.querySelector('code.path') || {textContent: ''}).textContent.trim(),
  sha256: (r.querySelector('code.sha256') || {textContent: ''}).textContent.trim(),
  needs: r.querySelector('ul.needs') ? r.querySelector('ul.needs').innerText : ''}))"""


def _sbom(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["sbom", "-j", "1", *args], env={"SOURCE_DATE_EPOCH": EPOCH})
    return res.exit_code, res.stdout, res.stderr


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _compiled_in(dep: dict) -> tuple[str, str]:
    """The module a ``go version -m`` dep line compiled in: its replacement when that is a module, not a directory."""
    r = dep["replace"]
    if r and r[1] and r[1] != "(devel)" and not r[0].startswith((".", "/")):
        return r[0], r[1]
    return dep["path"], dep["version"]


def test_sbom_page(factory: Factory, tmp_path: Path) -> None:
    tree = tmp_path / "release"
    tree.mkdir()
    bins = {"withdeps": factory.go("withdeps"), "nettool": factory.go("nettool", cgo=True)}
    for name, path in bins.items():
        shutil.copy(path, tree / name)
    out = tmp_path / "sbom.html"
    code, _, err = _sbom(str(tree), "--format", "html", "-o", str(out))
    assert code == 0, err
    code, text, err = _sbom(str(tree))
    assert code == 0, err
    cdx_purls = {c["bom-ref"]: c.get("purl", "") for c in [json.loads(text)["metadata"]["component"],
                                                           *json.loads(text).get("components", [])]}
    truth = {name: go_version_m(factory, tree / name) for name in bins}
    with browser() as new:
        s = new(1280, 800)
        s.open(out)
        page = s.page
        rows = page.eval_on_selector_all("#sbom tbody tr", ROWS_JS)
        # every row is a CycloneDX component with the same purl, and every component is a row
        assert {r["ref"]: r["purl"] for r in rows} == cdx_purls
        # the Go modules compiled in, as go version -m lists them
        modules = {(r["name"], r["version"]) for r in rows if r["role"] == "go module"}
        assert modules == {_compiled_in(d) for t in truth.values() for d in t["deps"]} and modules
        assert {r["name"] for r in rows if r["role"] == "go main module"} == {t["main"] for t in truth.values()}
        assert {r["version"] for r in rows if r["role"] == "go stdlib"} == \
            {t["go"].removeprefix("go") for t in truth.values()}
        # each binary: its path and sha256; the cgo one: PT_INTERP and the minimum glibc readelf shows
        binaries = {r["path"]: r for r in rows if r["role"] == "binary"}
        assert {p: r["sha256"] for p, r in binaries.items()} == {f"/{n}": _sha256(tree / n) for n in bins}
        interp = readelf_interp(tree / "nettool")
        assert interp and [r["name"] for r in rows if r["role"] == "interpreter"] == [os.path.basename(interp)]
        glibc = readelf_min_glibc(tree / "nettool")
        assert glibc and f"min glibc: GLIBC_{glibc}" in binaries["/nettool"]["needs"]
        assert "min glibc" not in binaries["/withdeps"]["needs"]
        # evidence opens from the keyboard
        summary = page.locator("#sbom tbody tr[data-path*='/nettool'] ul.needs details.evidence summary").first
        summary.focus()
        page.keyboard.press("Enter")
        assert summary.locator("xpath=..").get_attribute("open") is not None
        assert "GLIBC_" + glibc in summary.locator("xpath=..").inner_text()
        # filter by role and by text; the count is announced
        page.select_option("#f-role", "go module")
        visible = page.locator("#sbom tbody tr:not([hidden])")
        assert visible.count() == len(modules)
        assert page.locator("#shown").inner_text() == f"{len(modules)} shown"
        page.select_option("#f-role", "")
        page.fill("#f-text", "pkg:golang/stdlib")
        assert [visible.nth(i).get_attribute("data-role") for i in range(visible.count())] == ["go stdlib"]
        page.fill("#f-text", "")
        # sort by name from the keyboard
        page.locator("#sbom thead th[data-col='1'] button").focus()
        page.keyboard.press("Enter")
        names = page.eval_on_selector_all("#sbom tbody tr th.name", "ts => ts.map(t => t.textContent.trim())")
        assert names == page.evaluate("ns => ns.slice().sort((a, b) => a.localeCompare(b))", names) and \
            page.locator("#sbom thead th[data-col='1']").get_attribute("aria-sort") == "ascending"
        # readable without colour: roles and needs are words, not colours
        page.emulate_media(forced_colors="active")
        assert "go module" in page.locator("#sbom").inner_text()
        page.emulate_media(forced_colors="none")
        page.screenshot(path=str(Path(os.environ.get("DEPFREE_ARTIFACTS") or tmp_path) / "sbom.png"))
        s.assert_clean()


def test_sbom_page_of_a_debian_image(factory: Factory, tmp_path: Path) -> None:
    from helpers import debian

    image = str(debian.image(factory))
    out = tmp_path / "image.html"
    code, _, err = _sbom(image, "--format", "html", "-o", str(out))
    assert code == 0, err
    code, text, err = _sbom(image)
    assert code == 0, err
    doc = json.loads(text)
    comps = [doc["metadata"]["component"], *doc.get("components", [])]
    with browser() as new:
        s = new(1280, 800)
        s.open(out)
        rows = s.page.eval_on_selector_all("#sbom tbody tr", ROWS_JS)
        assert {r["ref"]: r["purl"] for r in rows} == {c["bom-ref"]: c.get("purl", "") for c in comps}
        # the loader the binaries name is a file of the image, owned by a dpkg package (its purl on the row)
        loader = [r for r in rows if r["name"] == "ld-linux-x86-64.so.2"]
        assert loader and all(r["purl"].startswith("pkg:deb/debian/libc6@") for r in loader)
        s.assert_clean()


def test_sbom_html_refuses_validate_and_diff(factory: Factory, tmp_path: Path) -> None:
    exe = str(factory.go("plain"))
    code, _, err = _sbom(exe, "--format", "html", "--validate", "-o", str(tmp_path / "x.html"))
    assert code == 2 and "not html" in err and "Traceback" not in err and not (tmp_path / "x.html").exists()
    code, _, err = _sbom("--diff", exe, exe, "--format", "spdx-json")
    assert code == 2 and "--diff writes text or json (or html), not spdx-json" in err


def test_sbom_diff_page(factory: Factory, tmp_path: Path) -> None:
    old_exe, new_exe = factory.go("withdeps"), _next_release(factory)
    for d, exe in (("v1", old_exe), ("v2", new_exe)):
        (tmp_path / d).mkdir()
        shutil.copy2(exe, tmp_path / d / "app")
    out = tmp_path / "diff.html"
    code, _, err = _sbom("--diff", str(tmp_path / "v1" / "app"), str(tmp_path / "v2" / "app"), "--format", "html",
                         "-o", str(out))
    assert code == 0, err
    old_v = {_compiled_in(m)[0]: _compiled_in(m)[1] for m in go_version_m(factory, old_exe)["deps"]}
    new_v = {_compiled_in(m)[0]: _compiled_in(m)[1] for m in go_version_m(factory, new_exe)["deps"]}
    with browser() as new:
        s = new(1280, 800)
        s.open(out)
        page = s.page
        rows = page.eval_on_selector_all("#sbom tbody tr", """rs => rs.map(r => [r.dataset.role,
            r.querySelector('th.name').textContent.trim(), r.querySelector('td.old').textContent.trim(),
            r.querySelector('td.new').textContent.trim()])""")
        changed = {n: (o, v) for role, n, o, v in rows if role == "changed" and n in old_v.keys() | new_v.keys()}
        assert changed == {p: (old_v[p], new_v[p]) for p in old_v.keys() & new_v.keys() if old_v[p] != new_v[p]}
        assert changed  # the next release moves a module
        added = {n for role, n, _, _ in rows if role == "added"}
        assert new_v.keys() - old_v.keys() <= added
        text = page.locator("main").inner_text()
        for lib in readelf_needed(new_exe):
            assert f"+ NEEDED {lib}" in text
        page.select_option("#f-role", "changed")
        assert page.locator("#sbom tbody tr:not([hidden])").count() == sum(1 for r in rows if r[0] == "changed")
        page.screenshot(path=str(Path(os.environ.get("DEPFREE_ARTIFACTS") or tmp_path) / "sbom-diff.png"))
        s.assert_clean()
