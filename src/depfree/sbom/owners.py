"""Which dpkg package owns a file of a root filesystem (what ``dpkg -S`` answers): ``DpkgOwners`` lives in
``sources/dpkg.py`` with the rest of the dpkg database (the verdicts of an image use it too)."""

from __future__ import annotations

from depfree.sources.dpkg import DpkgOwners

__all__ = ["DpkgOwners"]
