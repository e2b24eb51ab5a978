"""What every analyzer receives: the parsed executable, the facts gathered so far, and the options of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depfree.formats.base import Executable
from depfree.model import Binary
from depfree.options import Options

__all__ = ["Context", "Options"]  # Options lives in depfree.options; imported here for the analyzers


@dataclass
class Context:
    exe: Executable
    binary: Binary
    options: Options
    # Shared, lazily computed things analyzers may reuse (e.g. the pclntab) go here, keyed by name.
    cache: dict[str, Any] = field(default_factory=dict)
