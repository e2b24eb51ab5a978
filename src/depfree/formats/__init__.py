"""Readers that turn bytes into structures, behind one small format-neutral interface (:mod:`.base`)."""

from depfree.formats.base import Executable, Section, Segment, Symbol
from depfree.formats.detect import open_executables, sniff

__all__ = ["Executable", "Section", "Segment", "Symbol", "open_executables", "sniff"]
