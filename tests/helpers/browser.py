"""Open depfree's HTML reports in Debian's headless Chromium through Playwright, with the network blocked.

Every request other than the page's own ``file://`` URL is aborted and recorded, and every console error and
uncaught exception is recorded, so a test can fail on either. Playwright's own browser download is never used:
the browser is ``/usr/bin/chromium`` (the ``chromium`` Debian package).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
        "--disable-extensions"]


@dataclass
class Session:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path) -> None:
        url = path.resolve().as_uri()
        self.page.goto(url, wait_until="load")

    def assert_clean(self) -> None:
        assert not self.requests, f"the page asked the network for {self.requests}"
        assert not self.errors, f"console errors: {self.errors}"


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("chromium") is not None


@contextmanager
def browser(width: int = 1280, height: int = 800) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield lambda w=width, h=height: _session(b, w, h)
        finally:
            b.close()


def _session(b: Any, width: int, height: int) -> Session:
    ctx = b.new_context(viewport={"width": width, "height": height}, java_script_enabled=True)
    page = ctx.new_page()
    s = Session(page)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("file://") and r.request.resource_type == "document":
            r.continue_()
        else:
            s.requests.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: s.errors.append(str(e)))
    return s
