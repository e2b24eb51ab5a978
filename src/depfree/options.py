"""The options of an analysis run, shared by every layer that needs them (analysis, targets, scan, the API, the CLI):
a low-level module that imports nothing of depfree."""

from __future__ import annotations

from depfree.dataclass import dataclass


@dataclass
class Options:
    """The options of one analysis run, shared by every layer."""

    deep: bool = False  # packages and functions from pclntab (inspect --deep)
    hash: bool = True  # the file's sha256 (Binary.sha256); scan/check/hardening/targets turn it on with --hash only
    targets: list[str] | None = None  # target names for the short verdict; None = the default set
    targets_file: str | None = None
    # only the facts an inventory reads (depfree sbom): no hardening, debug or packer analysis, no target verdicts,
    # no package judgement of the resolution (``Binary.hardening/debug/packer/targets`` stay None)
    inventory: bool = False
