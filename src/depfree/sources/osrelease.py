"""``os-release(5)``: the distribution of a root filesystem (``/etc/os-release``, else ``/usr/lib/os-release``)."""

from __future__ import annotations

import shlex

from depfree.sources.fsview import FsView

PATHS = ("/etc/os-release", "/usr/lib/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines, values unquoted as a shell would; comments and malformed lines skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        out[key.strip()] = words[0] if words else ""
    return out


def read_os_release(view: FsView) -> dict[str, str]:
    """The os-release of the tree behind ``view`` (empty when it has none)."""
    for path in PATHS:
        data = view.read_bytes(path, 64 * 1024)
        if data is not None:
            return parse_os_release(data.decode("utf-8", "replace"))
    return {}
