"""``depfree.check(paths, policy=..., preset=...)``: a policy applied to binaries, directories, archives and images,
the library's side of ``depfree check`` (``cli/check.py`` parses the flags and renders; this module gathers and
judges). Like :mod:`depfree.scan`, the module is callable: ``depfree.check(paths)``."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from depfree.model import Report
from depfree.options import Options
from depfree.policy.config import Policy, load_policy
from depfree.policy.engine import CheckResult, evaluate


def policy_options(policy: Policy) -> Options:
    """The analysis options a policy asks for: its targets (none: the default set) and its targets file; no sha256
    (no rule reads it; `check --hash` asks for it)."""
    return Options(targets=policy.targets or None, targets_file=policy.targets_file, hash=False)


def gather(paths: list[str], options: Options, progress: Callable[[int, int, str], None] | None = None,
           executor: str = "local", scheduler: str | None = None) -> Report:
    """The report for all PATHs, what a policy judges (its rules read the typed facts): files, directories,
    archives and images (through ``scan``, on the local pool or a Dask cluster)."""
    from depfree.fleet import report

    return report(paths, executor=executor, scheduler=scheduler, options=options, progress=progress)


def check(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, policy: str | None = None,
          preset: str | None = None, executor: str = "local", scheduler: str | None = None) -> CheckResult:
    """Apply a policy (a file path, else ./depfree.toml or [tool.depfree]; a preset name) to binaries, directories,
    archives or images; a :class:`depfree.policy.engine.CheckResult` (``.passed``, ``.findings``, ``.to_json()``)."""
    pol = load_policy(policy, preset)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    report = gather([os.fspath(p) for p in paths], policy_options(pol), executor=executor, scheduler=scheduler)
    return evaluate(report, pol)


class _CallableModule(types.ModuleType):
    """``depfree.check`` is this module and also callable as ``depfree.check(paths)`` (see ``depfree.scan``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> CheckResult:
        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
