"""A package laid over a root filesystem (``--root DIR``): paths are looked up in the package first, then in the
root, as if the package had been unpacked onto that machine. Both layers keep their chroot-like resolution, so
nothing outside the package or the root is ever looked at."""

from __future__ import annotations

import os

from depfree.sources.fsview import FsView, Node


class LayeredView(FsView):
    def __init__(self, upper: FsView, lower: FsView) -> None:
        self.upper = upper
        self.lower = lower

    def _lstat(self, path: str) -> Node | None:
        node = self.upper._lstat(path) if path != "/" else None
        return node if node is not None else self.lower._lstat(path)

    def _listdir(self, path: str) -> list[str]:
        return sorted(set(self.upper._listdir(path)) | set(self.lower._listdir(path)))

    def _read(self, path: str, node: Node, limit: int) -> bytes | None:
        if path != "/" and self.upper._lstat(path) is not None:
            return self.upper._read(path, node, limit)
        return self.lower._read(path, node, limit)

    def in_upper(self, path: str) -> bool:
        return path != "/" and self.upper._lstat(path) is not None


def inside(path: str, root: str) -> str | None:
    """``path`` as seen from inside ``root`` ('/usr/bin/ls'), or None when it lies outside."""
    full, base = os.path.realpath(path), os.path.realpath(root)
    if full == base:
        return "/"
    if full.startswith(base.rstrip("/") + "/"):
        return "/" + os.path.relpath(full, base)
    return None
