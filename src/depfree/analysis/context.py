"""What every analyzer receives: the parsed executable, the facts gathered so far, and the options of the run."""

from __future__ import annotations

from depfree.analysis.gotables import GoTables
from depfree.dataclass import dataclass, field
from depfree.formats.base import Executable
from depfree.model import Binary
from depfree.options import Options

__all__ = ["Context", "Options"]  # Options lives in depfree.options; imported here for the analyzers


@dataclass
class Context:
    """What every analyzer gets: the executable, the binary it fills, the options, the Go tables."""

    exe: Executable
    binary: Binary
    options: Options
    # The Go tables (pclntab, names, packages, moduledata), read once when an analyzer first asks for them.
    go: GoTables = field(init=False)

    def __post_init__(self) -> None:
        self.go = GoTables(self.exe)
