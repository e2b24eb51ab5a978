"""A directory tree walked without following symbolic links (so no loops and no escapes), every regular file
classified by its first bytes: executables and archives are kept, the rest only counted."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from depfree.sources.archive import classify

HEAD = 512


@dataclass
class TreeFile:
    path: str  # the host path
    rel: str  # the path inside the tree, '/'-rooted
    size: int
    kind: str  # exe or an archive kind
    inode: tuple[int, int]


def walk(root: str, on_error: Callable[[str, str], None]) -> Iterator[TreeFile | int]:
    """Executables and archives under ``root``, directory by directory in name order; a plain ``int`` (the number
    of other entries seen since the last one) is yielded now and then so callers can count every entry."""
    root = os.path.abspath(root)
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_error(d, exc.strerror or str(exc))
            continue
        subdirs = []
        others = 0
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                on_error(e.path, exc.strerror or str(exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(e.path)
                continue
            kind = None
            if stat.S_ISREG(st.st_mode) and st.st_size >= 4:
                try:
                    fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    try:
                        kind = classify(os.read(fd, HEAD))
                    finally:
                        os.close(fd)
                except OSError as exc:
                    on_error(e.path, exc.strerror or str(exc))
                    continue
            if kind is None:
                others += 1
                continue
            yield TreeFile(e.path, e.path[len(root):], st.st_size, kind, (st.st_dev, st.st_ino))
        stack.extend(reversed(subdirs))
        if others:
            yield others
