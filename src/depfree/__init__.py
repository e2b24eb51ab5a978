"""depfree: what a compiled program needs from the machine it lands on, whether it will run there, and the proof.

Library use::

    import depfree
    report = depfree.inspect("./app")
    print(report.binaries[0].linkage.min_glibc)
    json_data = report.to_json()
"""

from __future__ import annotations

__version__ = "0.1.0"

from depfree.errors import DepfreeError  # noqa: E402
from depfree.model import Binary, Report  # noqa: E402


def inspect(*args, **kwargs) -> Report:  # type: ignore[no-untyped-def]
    """See :func:`depfree.api.inspect`."""
    from depfree.api import inspect as _inspect

    return _inspect(*args, **kwargs)


__all__ = ["Binary", "DepfreeError", "Report", "__version__", "inspect"]
