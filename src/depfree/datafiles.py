"""Load the TOML knowledge files shipped in ``depfree/data`` (cached; they are read-only)."""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>`` file."""
    text = resources.files("depfree").joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)
