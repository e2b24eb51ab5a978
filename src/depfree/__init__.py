"""depfree: what a compiled program needs from the machine it lands on, whether it will run there, and the proof.

Library use::

    import depfree
    report = depfree.inspect("./app")
    print(report.binaries[0].linkage.min_glibc)
    json_data = report.to_json()
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING  # noqa: E402

from depfree.errors import DepfreeError  # noqa: E402

if TYPE_CHECKING:
    from depfree.model import Binary, Report


def inspect(*args, **kwargs) -> Report:  # type: ignore[no-untyped-def]
    """See :func:`depfree.api.inspect`."""
    from depfree.api import inspect as _inspect

    return _inspect(*args, **kwargs)


def verify(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`depfree.sandbox.runner.verify`: run a binary in sandboxed roots and observe it."""
    from depfree.sandbox.runner import verify as _verify

    return _verify(*args, **kwargs)


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """``depfree.scan(paths, ...)`` (see :func:`depfree.scan.scan`), ``depfree.check(paths, policy=...)`` (see
    :func:`depfree.check.check`) and the report's types ``Binary`` and ``Report``, imported on first use (the CLI
    imports this package before it has set itself up: see depfree/cli/main.py)."""
    if name in ("Binary", "Report"):
        from depfree import model

        return getattr(model, name)
    if name == "scan":
        import depfree.scan as scan_module  # binds depfree.scan; the module is callable

        return scan_module
    if name == "check":
        import depfree.check as check_module  # binds depfree.check; the module is callable

        return check_module
    raise AttributeError(f"module 'depfree' has no attribute {name!r}")


__all__ = ["Binary", "DepfreeError", "Report", "__version__", "check", "inspect", "scan", "verify"]
