"""The filesystem of a package or image, as the program would see it from inside: ``exists``, ``readlink``,
``listdir``, ``read_bytes``, with symbolic links resolved the way a chroot would (an absolute target starts at the
root of the tree, ``..`` stops at the root), so nothing outside the tree is ever looked at.

Two views share the resolution logic: :class:`IndexView`, an in-memory index filled while an archive or image is
streamed (nothing is extracted), and :class:`DirView`, a directory on disk examined with ``lstat``/``readlink`` only.
"""

from __future__ import annotations

import os
import posixpath
import stat

from depfree.dataclass import dataclass, field

MAX_LINKS = 40  # the kernel's limit on symbolic links followed while resolving one path (ELOOP)

FILE, DIR, SYMLINK, OTHER = "file", "dir", "symlink", "other"


@dataclass
class Node:
    """One entry: ``type`` is file, dir, symlink or other; ``target`` the link text; ``data`` the content of small
    configuration files the resolver needs (``/etc/ld.so.conf``), kept while streaming; ``token`` identifies which
    archive member (which layer) provided a file."""

    type: str
    size: int = 0
    target: str = ""
    data: bytes | None = None
    token: object = None


@dataclass
class Resolved:
    """Where a path leads: the final normalised path and its node (None: missing), or why resolution stopped."""

    path: str
    node: Node | None
    problem: str | None = None  # "loop" or None
    escapes: list[str] = field(default_factory=list)  # links whose target climbed above the root


def norm(path: str) -> str:
    """An absolute, normalised path inside the tree ('/a/b'); '..' never climbs above '/'."""
    clean = "/" + path.lstrip("/")
    if "/." not in clean and "//" not in clean and not clean.endswith("/"):
        return clean  # no '.', '..' or empty component: already normal (most archive member names)
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def climbs_above_root(base_dir: str, target: str) -> bool:
    """Does a relative link ``target`` in ``base_dir`` go above the root on the way?"""
    if target.startswith("/"):
        return False
    depth = len([p for p in base_dir.split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


class FsView:
    """Shared path resolution; subclasses provide ``_lstat``, ``_listdir`` and ``_read``."""

    def _lstat(self, path: str) -> Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _listdir(self, path: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self, path: str, node: Node, limit: int) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def resolve(self, path: str, follow_last: bool = True) -> Resolved:
        """Follow symbolic links component by component, at most ``MAX_LINKS`` of them, never leaving the root."""
        pending = [p for p in path.split("/") if p not in ("", ".")]
        pending.reverse()  # a stack: the next component is pending[-1]
        done: list[str] = []
        links = 0
        escapes: list[str] = []
        node: Node | None = Node(DIR)
        while pending:
            part = pending.pop()
            if part == "..":
                if done:
                    done.pop()
                node = Node(DIR)
                continue
            if node is None or node.type != DIR:
                return Resolved("/" + "/".join([*done, part, *reversed(pending)]), None, escapes=escapes)
            current = "/" + "/".join([*done, part])
            node = self._lstat(current)
            if node is None:
                return Resolved("/" + "/".join([*done, part, *reversed(pending)]), None, escapes=escapes)
            if node.type == SYMLINK and (pending or follow_last):
                links += 1
                if links > MAX_LINKS:
                    return Resolved(current, None, problem="loop", escapes=escapes)
                if climbs_above_root("/" + "/".join(done), node.target):
                    escapes.append(current)
                if node.target.startswith("/"):
                    done = []
                pending.extend(reversed([p for p in node.target.split("/") if p not in ("", ".")]))
                node = Node(DIR)  # the root or the link's directory, from which the target continues
                continue
            done.append(part)
        return Resolved("/" + "/".join(done), node, escapes=escapes)

    def lookup(self, path: str) -> Node | None:
        return self.resolve(path).node

    def exists(self, path: str) -> bool:
        return self.lookup(path) is not None

    def isfile(self, path: str) -> bool:
        node = self.lookup(path)
        return node is not None and node.type == FILE

    def isdir(self, path: str) -> bool:
        node = self.lookup(path)
        return node is not None and node.type == DIR

    def readlink(self, path: str) -> str | None:
        res = self.resolve(path, follow_last=False)
        return res.node.target if res.node is not None and res.node.type == SYMLINK else None

    def listdir(self, path: str) -> list[str]:
        res = self.resolve(path)
        if res.node is None or res.node.type != DIR:
            return []
        return sorted(self._listdir(res.path))

    def read_bytes(self, path: str, limit: int = 1 << 20) -> bytes | None:
        """The content of a small file (None when missing, not a file, or its content was not kept)."""
        res = self.resolve(path)
        if res.node is None or res.node.type != FILE:
            return None
        return self._read(res.path, res.node, limit)


class IndexView(FsView):
    """An in-memory index of a tree built from archive members or image layers (later entries replace earlier ones,
    whiteouts delete). Parent directories are implied by their children."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {"/": Node(DIR)}
        self.children: dict[str, set[str]] = {"/": set()}
        # Entries recorded but not yet placed in the tree: most archives (a jar of classes) are never looked into,
        # so the tree is built on the first lookup, removal or listing.
        self._pending: list[tuple[str, Node]] = []

    def add(self, path: str, node: Node) -> None:
        self._pending.append((path, node))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for path, node in pending:
            self._place(path, node)

    def _place(self, path: str, node: Node) -> None:
        path = norm(path)
        if path == "/":
            return
        parent, _, base = path.rpartition("/")
        parent = parent or "/"
        if parent not in self.children:
            self._ensure_dir(parent)
        old = self.nodes.get(path)
        if old is not None and old.type == DIR and node.type == DIR:
            return  # a directory entry repeated in a later layer keeps its children
        if old is not None and old.type == DIR:
            self._drop_children(path)
            self.children.pop(path, None)
        self.nodes[path] = node
        if node.type == DIR:
            self.children.setdefault(path, set())
        self.children[parent].add(base)

    def remove(self, path: str) -> None:
        """Delete a path and everything under it (a whiteout)."""
        self._flush()
        path = norm(path)
        if path == "/" or path not in self.nodes:
            return
        self._drop_children(path)
        self.children.pop(path, None)
        del self.nodes[path]
        self.children.get(posixpath.dirname(path), set()).discard(posixpath.basename(path))

    def clear_dir(self, path: str) -> None:
        """Remove everything the layers below put under ``path`` (an opaque-directory marker)."""
        self._flush()
        path = norm(path)
        self._ensure_dir(path)
        self._drop_children(path)

    def _drop_children(self, path: str) -> None:
        for name in list(self.children.get(path, ())):
            child = posixpath.join(path, name)
            self._drop_children(child)
            self.children.pop(child, None)
            self.nodes.pop(child, None)
        if path in self.children:
            self.children[path] = set()

    def _ensure_dir(self, path: str) -> None:
        missing = []
        while path not in self.nodes or self.nodes[path].type != DIR:
            missing.append(path)
            path = posixpath.dirname(path)
        for p in reversed(missing):
            self.nodes[p] = Node(DIR)  # a file or link where a directory must be: the directory wins
            self.children[p] = set()
            self.children[posixpath.dirname(p)].add(posixpath.basename(p))

    def lookup_entry(self, path: str) -> Node | None:
        """The entry recorded at exactly ``path`` (no links followed), including ones not placed yet."""
        if self._pending:
            self._flush()
        return self.nodes.get(norm(path))

    def _lstat(self, path: str) -> Node | None:
        if self._pending:
            self._flush()
        return self.nodes.get(path)

    def _listdir(self, path: str) -> list[str]:
        if self._pending:
            self._flush()
        return list(self.children.get(path, ()))

    def _read(self, path: str, node: Node, limit: int) -> bytes | None:
        return node.data[:limit] if node.data is not None else None

    def files(self) -> list[tuple[str, Node]]:
        """Every regular file, sorted by path."""
        self._flush()
        return sorted(((p, n) for p, n in self.nodes.items() if n.type == FILE), key=lambda pn: pn[0])

    def count(self) -> int:
        """Entries other than directories."""
        if self._pending and len(self.nodes) == 1:
            # Nothing placed yet: the last entry recorded for each path decides, as placing them in order would (a
            # path that is both a file and the parent of another entry would count differently; archives don't).
            last = {norm(p): n for p, n in self._pending}
            return sum(1 for n in last.values() if n.type != DIR)
        self._flush()
        return sum(1 for n in self.nodes.values() if n.type != DIR)


class DirView(FsView):
    """A directory on disk taken as the root. Every path is resolved here first, so the host outside ``root`` is
    never touched (the operating system is only asked to ``lstat`` paths that contain no symbolic link)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))

    def host_path(self, path: str) -> str:
        p = norm(path)
        return self.root if p == "/" else self.root + p

    def _lstat(self, path: str) -> Node | None:
        full = self.host_path(path)
        try:
            st = os.lstat(full)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            try:
                return Node(SYMLINK, target=os.readlink(full))
            except OSError:
                return None
        if stat.S_ISDIR(st.st_mode):
            return Node(DIR)
        if stat.S_ISREG(st.st_mode):
            return Node(FILE, size=st.st_size)
        return Node(OTHER)

    def _listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(self.host_path(path))
        except OSError:
            return []

    def _read(self, path: str, node: Node, limit: int) -> bytes | None:
        try:
            with open(self.host_path(path), "rb") as fh:
                return fh.read(limit)
        except OSError:
            return None


class SingleFileView(FsView):
    """A tree holding one file at ``/name``: what a lone binary has inside its own package."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size

    def _lstat(self, path: str) -> Node | None:
        if path == "/" + self.name:
            return Node(FILE, size=self.size)
        return None

    def _listdir(self, path: str) -> list[str]:
        return [self.name] if path == "/" else []

    def _read(self, path: str, node: Node, limit: int) -> bytes | None:
        return None
