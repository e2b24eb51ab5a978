"""Load the TOML knowledge files shipped in ``depfree/data`` (cached; they are read-only)."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>`` file."""
    # a path beside this module, not importlib.resources (which imports pathlib, tempfile, shutil and zipfile:
    # ~10 ms of every `depfree inspect`); depfree is installed as files, never imported from a zip
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as fh:
        text = fh.read()
    return tomllib.loads(text)
