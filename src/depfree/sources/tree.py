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
            # The directory entry's type says dir or regular file without a system call; only the files that turn
            # out to be executables or archives are asked for their size and inode, on the descriptor already open.
            try:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(e.path)
                    continue
                regular = e.is_file(follow_symlinks=False)
            except OSError as exc:
                on_error(e.path, exc.strerror or str(exc))
                continue
            kind = st = None
            if regular:
                try:
                    fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    try:
                        head = os.read(fd, HEAD)
                        kind = classify(head) if len(head) >= 4 else None
                        if kind is not None:
                            st = os.fstat(fd)
                    finally:
                        os.close(fd)
                except OSError as exc:
                    on_error(e.path, exc.strerror or str(exc))
                    continue
            if kind is None or st is None or not stat.S_ISREG(st.st_mode):
                others += 1
                continue
            yield TreeFile(e.path, e.path[len(root):], st.st_size, kind, (st.st_dev, st.st_ino))
        stack.extend(reversed(subdirs))
        if others:
            yield others
