"""A directory tree walked without following symbolic links (so no loops and no escapes), every regular file
classified by its first bytes: executables and archives are kept, the rest only counted."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator

from depfree.dataclass import dataclass
from depfree.sources.archive import classify

HEAD = 512


@dataclass
class TreeFile:
    path: str  # the host path
    rel: str  # the path inside the tree, '/'-rooted
    size: int
    kind: str  # exe or an archive kind
    inode: tuple[int, int]


def entries(root: str, on_error: Callable[[str, str], None], *,
            recursive: bool = True) -> Iterator[tuple[str, list[os.DirEntry[str]], int]]:
    """The one directory walk of depfree: each directory under ``root`` (``root`` first, then its subdirectories
    depth-first, in name order) with its regular files in name order and the number of its other entries (symbolic
    links, devices, sockets; not subdirectories). Symbolic links are never followed, so no loops and no escapes;
    a directory or entry that cannot be read goes to ``on_error(path, why)`` and the walk goes on. The types come
    from the directory entries: no system call per file."""
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                listed = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_error(d, exc.strerror or str(exc))
            continue
        subdirs, files, others = [], [], 0
        for e in listed:
            try:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    files.append(e)
                else:
                    others += 1
            except OSError as exc:
                on_error(e.path, exc.strerror or str(exc))
        yield d, files, others
        if recursive:
            stack.extend(reversed(subdirs))


def walk(root: str, on_error: Callable[[str, str], None]) -> Iterator[TreeFile | int]:
    """Executables and archives under ``root``, directory by directory in name order; a plain ``int`` (the number
    of other entries seen since the last one) is yielded now and then so callers can count every entry."""
    root = os.path.abspath(root)
    for _d, files, others in entries(root, on_error):
        for e in files:
            # Only the files that turn out to be executables or archives are asked for their size and inode, on
            # the descriptor already open.
            try:
                found = _classified(e.path, root)
            except OSError as exc:
                on_error(e.path, exc.strerror or str(exc))
                continue
            if found is None:
                others += 1
            else:
                yield found
        if others:
            yield others


def _classified(path: str, root: str) -> TreeFile | None:
    """The file at ``path`` if its first bytes say executable or archive (and it is still a regular file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        head = os.read(fd, HEAD)
        kind = classify(head) if len(head) >= 4 else None
        if kind is None:
            return None
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        return None
    return TreeFile(path, path[len(root):], st.st_size, kind, (st.st_dev, st.st_ino))
