"""Paths as CI tools want them: relative to the working directory (the repository root in CI) when they are under it,
as given otherwise; ``archive!member`` keeps its member part."""

from __future__ import annotations

import os
from urllib.parse import quote


def split_member(path: str) -> tuple[str, str]:
    """``dist/app.tar.gz!bin/app [arm64]`` -> (``dist/app.tar.gz``, ``bin/app``): the file on disk and the member."""
    path = path.split(" [", 1)[0]
    outer, _, member = path.partition("!")
    return outer, member


def relative(path: str, cwd: str | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the working directory) when it lies under it, else unchanged."""
    cwd = os.path.abspath(cwd or os.getcwd())
    outer, sep, rest = path.partition("!")
    full = os.path.normpath(os.path.join(cwd, outer))
    if full == cwd or full.startswith(cwd.rstrip(os.sep) + os.sep):
        outer = os.path.relpath(full, cwd)
    elif not os.path.isabs(outer):
        outer = os.path.normpath(outer)
    return outer + sep + rest


def repo_uri(path: str, cwd: str | None = None) -> tuple[str, bool]:
    """(URI, is_relative) for a SARIF artifactLocation: a percent-encoded path relative to ``cwd`` (to be resolved
    against %SRCROOT%), or a ``file://`` URI for a file outside it. A container member maps to its container file."""
    outer, _ = split_member(path)
    rel = relative(outer, cwd)
    if os.path.isabs(rel):
        return "file://" + quote(rel), False
    return quote(rel.replace(os.sep, "/")), True
