"""What every analyzer receives: the parsed executable, the facts gathered so far, and the options of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depfree.formats.base import Executable
from depfree.model import Binary


@dataclass
class Options:
    deep: bool = False  # packages and functions from pclntab (inspect --deep)
    hash: bool = True  # the file's sha256 (Binary.sha256); scan/check/hardening/targets turn it on with --hash only
    targets: list[str] | None = None  # target names for the short verdict; None = the default set
    targets_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    exe: Executable
    binary: Binary
    options: Options
    # Shared, lazily computed things analyzers may reuse (e.g. the pclntab) go here, keyed by name.
    cache: dict[str, Any] = field(default_factory=dict)
