"""What every analyzer receives: the parsed executable, the facts gathered so far, and the options of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depfree.analysis.gotables import GoTables
from depfree.formats.base import Executable
from depfree.model import Binary


@dataclass
class Options:
    deep: bool = False  # packages and functions from pclntab (inspect --deep)
    targets: list[str] | None = None  # target names for the short verdict; None = the default set
    targets_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    exe: Executable
    binary: Binary
    options: Options
    # The Go tables (pclntab, names, packages, moduledata), read once when an analyzer first asks for them.
    go: GoTables = field(init=False)

    def __post_init__(self) -> None:
        self.go = GoTables(self.exe)
