"""Tar archives, plain (read with random access: a member is a byte range of the file) or compressed (streamed: a
member is held in memory or spooled), walked across corrupt headers as ``tar`` does; every entry judged by the
member policy (:mod:`.policy`)."""

from __future__ import annotations

import tarfile
from collections.abc import Generator, Iterator
from typing import IO, Any

from depfree.dataclass import dataclass
from depfree.sources.archive.kinds import is_tar_header
from depfree.sources.archive.limits import ArchiveError
from depfree.sources.archive.policy import (
    DEVICE,
    HARDLINK,
    UNSUPPORTED,
    Member,
    Sink,
    admit,
    display_name,
    hand_over,
    keep_limit,
)
from depfree.sources.archive.streams import STREAM_ERRORS, Prepend, Tape, decompressed, why
from depfree.sources.blob import Blob
from depfree.sources.fsview import DIR, FILE, SYMLINK, IndexView, Node
from depfree.sources.targuard import TarLimitError, open_tar, skip_to


@dataclass
class TarEntry:
    """One entry of a tar as the index needs it (whiteouts are applied by the image reader)."""

    path: str  # normalised absolute path
    node: Node
    shown: str = ""  # the member name as errors show it (hard links)


def iter_tar(blob: Blob, kind: str, sink: Sink, *, absolute_names: bool = False) -> Iterator[TarEntry]:
    """Every usable entry of a tar (plain or compressed) with its member handed to the sink when it is an executable
    or an archive. Plain tars are read with random access; compressed ones streamed. ``absolute_names``: members of a
    root filesystem (a layer, a .deb) are shown as ``/usr/bin/x``.

    A corrupt header after the first (``tarfile`` would end the walk there without a word) is an error: the walk
    looks for the next valid header, goes on from there, and raises :class:`ArchiveError` naming the damage once
    the rest has been read."""
    seekable = kind == "tar"
    raw: IO[bytes] = blob.open() if seekable else decompressed(blob, kind, sink.limits)
    walk = _TarWalk(blob, raw, seekable, sink, absolute_names)
    try:
        yield from walk.run()
    finally:
        walk.close()
        raw.close()


class _TarWalk:
    """One tar read from its first header to its end, across corrupt headers (see :func:`iter_tar`)."""

    MAX_RESYNC = 64

    def __init__(self, blob: Blob, raw: IO[bytes], seekable: bool, sink: Sink, absolute_names: bool) -> None:
        self.blob, self.seekable, self.sink, self.absolute_names = blob, seekable, sink, absolute_names
        self.tape = None if seekable else Tape(raw)
        self.fileobj: IO[bytes] = raw if self.tape is None else self.tape.as_io()
        self.part = blob  # seekable: the byte range the current tarfile reads (the rest after a resync)
        self.base = 0  # where the current tarfile starts in the whole tar
        self.count = 0
        self.damage: list[str] = []
        self.opened: list[tarfile.TarFile] = []
        self.readers: list[IO[bytes]] = []

    def close(self) -> None:
        for tf in reversed(self.opened):
            tf.close()
        for r in self.readers:
            r.close()

    def run(self) -> Iterator[TarEntry]:
        while True:
            try:
                tf = open_tar(self.fileobj, self.seekable)
            except (*STREAM_ERRORS, ArchiveError) as exc:
                if not self.opened:
                    raise ArchiveError(f"not a readable tar archive ({why(exc)})") from None
                raise ArchiveError(f"{self._damage()}, but what follows cannot be read ({why(exc)})") from None
            self.opened.append(tf)
            bad = yield from self._members(tf)
            if bad is None:
                break
            where = f"corrupt tar header at offset {self.base + bad:,} after {self.count} members"
            if len(self.damage) >= self.MAX_RESYNC:
                self.damage.append(f"{where}; too many, the rest is not read")
                break
            before = self.base
            if not self._resync(tf, bad):
                self.damage.append(f"{where}; no valid header after it")
                break
            self.damage.append(f"{where}; read on from the next valid header, at offset {self.base:,} "
                               f"({self.base - before - bad:,} bytes skipped)")
        if self.damage:
            raise ArchiveError(self._damage())

    def _damage(self) -> str:
        more = f" (and {len(self.damage) - 1} more)" if len(self.damage) > 1 else ""
        return f"{self.damage[0]}{more}"

    def _members(self, tf: tarfile.TarFile) -> Generator[TarEntry, None, int | None]:
        """The entries of one tarfile; the offset of a corrupt header that ended it, or None at a proper end."""
        last: tarfile.TarInfo | None = None
        limits = self.sink.limits
        while True:
            try:
                ti = tf.next()
            except TarLimitError as exc:
                raise ArchiveError(f"{why(exc)}: refused after {self.count} members") from None
            except tarfile.HeaderError as exc:
                raise ArchiveError(f"corrupt tar header after {self.count} members ({why(exc)})") from None
            except STREAM_ERRORS as exc:
                end = self.part.size if self.seekable else getattr(tf.fileobj, "pos", -1)  # bytes really there
                if last is not None and 0 <= end - (last.offset_data + last.size) < tarfile.BLOCKSIZE:
                    # The last member's data is all there; only the padding and end-of-archive blocks are missing
                    # (umoci insert writes layers like that). A streamed tar ends there silently too.
                    return None
                raise ArchiveError(f"truncated or corrupt archive after {self.count} members ({why(exc)})") from None
            if ti is None:
                return tf.offset if self._corrupt_at(tf.offset) else None
            last = ti
            self.count += 1
            if self.count > limits.max_entries:
                raise ArchiveError(f"more than {limits.max_entries:,} members: refused")
            entry = _tar_entry(tf, ti, self.part, self.seekable, self.sink, self.absolute_names)
            if entry is not None:
                yield entry
            if not self.seekable:
                try:
                    skip_to(tf, min(tf.offset, ti.offset_data + ti.size), display_name(ti.name))
                except STREAM_ERRORS as exc:
                    raise ArchiveError(f"truncated or corrupt archive after {self.count} members "
                                       f"({why(exc)})") from None

    def _corrupt_at(self, offset: int) -> bool:
        """Is the block where ``tarfile`` stopped something other than the end of the archive (zeros, or nothing)?"""
        if self.seekable:
            block: bytes | None = self.part.read_at(offset, tarfile.BLOCKSIZE)
        else:
            assert self.tape is not None
            block = self.tape.recall(self.base + offset, tarfile.BLOCKSIZE)
        return block is not None and len(block) == tarfile.BLOCKSIZE and block.count(0) != tarfile.BLOCKSIZE

    def _resync(self, tf: tarfile.TarFile, bad: int) -> bool:
        """Go on from the next valid header after the corrupt one at ``bad`` (as ``tar`` does); False if none."""
        if self.seekable:
            start = bad + tarfile.BLOCKSIZE
            while start + tarfile.BLOCKSIZE <= self.part.size:
                chunk = self.part.read_at(start, 1 << 20)
                for i in range(0, len(chunk) - tarfile.BLOCKSIZE + 1, tarfile.BLOCKSIZE):
                    if is_tar_header(chunk[i : i + tarfile.BLOCKSIZE]):
                        at = start + i
                        self.base += at
                        self.part = self.part.slice(at, self.part.size - at)
                        self.fileobj = self.part.open()
                        self.readers.append(self.fileobj)
                        return True
                start += max(tarfile.BLOCKSIZE, len(chunk) // tarfile.BLOCKSIZE * tarfile.BLOCKSIZE)
            return False
        stream: Any = tf.fileobj
        pos = stream.tell()
        while True:
            block = stream.read(tarfile.BLOCKSIZE)
            if len(block) < tarfile.BLOCKSIZE:
                return False
            if is_tar_header(block):
                self.base += pos
                self.fileobj = Prepend(block, stream).as_io()
                return True
            pos += tarfile.BLOCKSIZE


def tar_member(ti: tarfile.TarInfo, seekable: bool) -> Member:
    """A tar header as the member policy sees it."""
    if ti.isdir():
        return Member(ti.name, DIR)
    if ti.issym():
        return Member(ti.name, SYMLINK, link=ti.linkname)
    if ti.islnk():
        return Member(ti.name, HARDLINK, link=ti.linkname)
    if ti.ischr() or ti.isblk() or ti.isfifo():
        what = "character device" if ti.ischr() else "block device" if ti.isblk() else "FIFO"
        return Member(ti.name, DEVICE, what=what)
    if not ti.isreg():
        return Member(ti.name, UNSUPPORTED, what=f"tar member type {ti.type!r}")
    return Member(ti.name, FILE, size=ti.size, refused=getattr(ti, "refused", None),
                  data_end=ti.offset_data + ti.size if seekable else None)


def _tar_entry(tf: tarfile.TarFile, ti: tarfile.TarInfo, blob: Blob, seekable: bool, sink: Sink,
               absolute_names: bool) -> TarEntry | None:
    ok = admit(tar_member(ti, seekable), sink, blob.size, absolute_names=absolute_names)
    if ok.node is None:
        return None
    if not ok.read:
        return TarEntry(ok.path, ok.node, ok.shown if ti.islnk() else "")
    shown, node = ok.shown, ok.node
    member: Blob | None = None
    rest: IO[bytes] | None = None
    if seekable and not ti.issparse():
        member = blob.slice(ti.offset_data, ti.size)
        head = member.head(512)
    else:
        try:
            rest = tf.extractfile(ti)
            if rest is None:
                return TarEntry(ok.path, node)
            head = rest.read(512)
        except STREAM_ERRORS as exc:
            raise ArchiveError(f"{shown}: corrupt member data ({why(exc)})") from None

    def data() -> Blob:
        if member is not None:
            return member
        assert rest is not None  # a streamed or sparse member: read through tarfile above
        try:
            return sink.capture(Prepend(head, rest).as_io(), ti.size)
        except STREAM_ERRORS as exc:
            raise ArchiveError(f"{shown}: corrupt member data ({why(exc)})") from None

    hand_over(sink, shown, node, head, keep_limit(ok.path, ti.size, sink), data)
    return TarEntry(ok.path, node)


def index_tar(blob: Blob, kind: str, sink: Sink, view: IndexView, *, absolute_names: bool = False) -> None:
    """Fill ``view`` from a tar; hard links become copies of their target's node."""
    for entry in iter_tar(blob, kind, sink, absolute_names=absolute_names):
        add_entry(view, entry, sink)


def add_entry(view: IndexView, entry: TarEntry, sink: Sink | None = None) -> None:
    """Add one entry; a hard link takes its target's node, and one to a name the archive never held is an error."""
    node = entry.node
    if node.token == "hardlink":
        target = view.lookup_entry(node.target)
        if target is None and sink is not None:
            sink.error(entry.shown or entry.path, f"hard link to {node.target!r}, which the archive does not hold "
                                                  "before it: broken link")
        if target is None or target.type != FILE:
            node = Node(FILE)  # a link to nothing we kept: the name exists
        else:
            node = target
    view.add(entry.path, node)
