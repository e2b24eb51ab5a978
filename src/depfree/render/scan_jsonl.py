"""``scan --format jsonl``: one JSON line per container as it is done, then one summary line.

A container line is ``{"type": "container", "container": {...}, "binaries": [...], "errors": [...]}`` (the
``container`` object and the binaries as in the ``depfree.report/2`` JSON; ``container`` is null for an input that
could not be read, with its error); the last line is ``{"type": "summary", "schema": ..., "tool": ..., "containers":
N, "binaries": N, "self_contained": N, "errors": N}``. Lines of several runs can be concatenated and merged (each
container line names its path)."""

from __future__ import annotations

from depfree.model import SCHEMA
from depfree.render.json import dumps_model
from depfree.scan import ScanResult


def container_line(res: ScanResult) -> str:
    return dumps_model({"type": "container", "container": res.container or None, "binaries": res.binaries,
                        "errors": res.errors})


def summary_line(tool: dict[str, str], totals: dict[str, int]) -> str:
    return dumps_model({"type": "summary", "schema": SCHEMA, "tool": tool, "containers": totals["containers"],
                        "binaries": totals["binaries"], "ok": totals["ok"], "warn": totals["warn"],
                        "fail": totals["fail"], "errors": totals["errors"]})
