"""Zip archives (and jars, wheels, apks) read with random access from their central directory; every entry judged by
the member policy (:mod:`.policy`); members that share bytes (an overlap zip bomb) are refused first."""

from __future__ import annotations

import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Callable

from depfree.sources.archive.kinds import classify, is_java_class
from depfree.sources.archive.limits import ArchiveError
from depfree.sources.archive.policy import (
    DEVICE,
    Member,
    Sink,
    admit,
    display_name,
    hand_over,
    keep_limit,
    member_name,
)
from depfree.sources.archive.streams import Capped, Prepend, why
from depfree.sources.blob import Blob
from depfree.sources.fsview import DIR, FILE, SYMLINK, IndexView, Node

ReadAt = Callable[[int, int], bytes]
MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, zlib.error, lzma.LZMAError)


def index_zip(blob: Blob, sink: Sink, view: IndexView) -> None:
    try:
        zf = zipfile.ZipFile(blob.open())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"not a readable zip archive ({why(exc)})") from None
    fd = os.open(blob.path, os.O_RDONLY) if blob.data is None and blob.path else None

    def read_at(offset: int, size: int) -> bytes:  # one pread per call: no file object in between
        size = min(size, blob.size - offset)
        if size <= 0:
            return b""
        if fd is not None:
            return os.pread(fd, size, blob.offset + offset)
        return blob.read_at(offset, size)

    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > sink.limits.max_entries:
                raise ArchiveError(f"more than {sink.limits.max_entries:,} members: refused")
            overlaps = overlapping(infos)
            for i, info in enumerate(infos):
                if i in overlaps:
                    sink.error(display_name(zip_name(info)), f"member data overlaps member {overlaps[i]!r} "
                                                             "(entries sharing bytes: an overlap zip bomb): skipped")
                    continue
                _zip_entry(zf, info, blob, sink, view, read_at)
    finally:
        if fd is not None:
            os.close(fd)


def overlapping(infos: list[zipfile.ZipInfo]) -> dict[int, str]:
    """Members whose bytes overlap another's (index -> the other's name). A member spans at least its 30-byte local
    header and its compressed data from ``header_offset``; a real zip never puts a header inside that span."""
    out: dict[int, str] = {}
    order = sorted(range(len(infos)), key=lambda i: infos[i].header_offset)
    reach, owner = -1, -1  # the farthest end seen so far and whose it is
    for i in order:
        info = infos[i]
        if info.header_offset < reach:
            out[i] = infos[owner].filename
            out.setdefault(owner, info.filename)
        end = info.header_offset + 30 + info.compress_size
        if end > reach:
            reach, owner = end, i
    return out


def zip_name(info: zipfile.ZipInfo) -> str:
    """The member name as its maker's file system held it. ``zipfile`` decodes a name without the UTF-8 flag as
    cp437, the APPNOTE's default and right for DOS and Windows makers (``create_system`` 0 and 11); a Unix maker
    (Info-ZIP) stores the file name's own bytes, which leave as they are (:func:`member_name`), as in a tar."""
    if info.flag_bits & 0x800 or info.create_system in (0, 11) or info.filename != info.orig_filename:
        return info.filename  # UTF-8, a DOS/Windows name, or one zipfile changed (a NUL cut, a Unicode Path field)
    try:
        return member_name(info.orig_filename.encode("cp437"))
    except UnicodeEncodeError:
        return info.filename


def zip_member(info: zipfile.ZipInfo) -> Member:
    """A central-directory entry as the member policy sees it. A symbolic link is a file whose data is the target:
    the policy judges its sizes, the reader reads the target."""
    mode, name = info.external_attr >> 16, zip_name(info)
    if name.endswith("/"):  # ZipInfo.is_dir(), which fails on an empty name (the policy refuses it)
        return Member(name, DIR)
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
        return Member(name, DEVICE, what="device file")
    return Member(name, FILE, size=info.file_size, packed=info.compress_size,
                  data_end=info.header_offset + info.compress_size,
                  unreadable="encrypted member: cannot be read, skipped" if info.flag_bits & 0x1 else None)


def _zip_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, blob: Blob, sink: Sink, view: IndexView,
               read_at: ReadAt) -> None:
    ok = admit(zip_member(info), sink, blob.size)
    if ok.node is not None and not ok.read:
        view.add(ok.path, ok.node)
    if not ok.read:
        return
    path, shown, size = ok.path, ok.shown, info.file_size
    try:
        mode = info.external_attr >> 16
        if mode and stat.S_ISLNK(mode):
            with zf.open(info) as fh:
                target = member_name(fh.read(4096))
            view.add(path, Node(SYMLINK, target=target))
            return
        keep = keep_limit(path, size, sink)
        head = _zip_head(read_at, info) if not keep else None
        if head is not None:
            kind = classify(head)
            if kind is None or not sink.wants(kind):
                view.add(path, Node(FILE, size=size))  # neither a program nor an archive: indexed only
                return
        with zf.open(info) as fh:
            head = fh.read(512)
            node = Node(FILE, size=size)
            hand_over(sink, shown, node, head, keep, lambda: _stored_slice(info, blob) or sink.capture(
                Prepend(head, Capped(fh, size).as_io()).as_io(), size))
            view.add(path, node)
    except MEMBER_ERRORS as exc:
        sink.error(shown, f"corrupt member ({why(exc)}), skipped")


def _zip_head(read_at: ReadAt, info: zipfile.ZipInfo, n: int = 512) -> bytes | None:
    """The first ``n`` bytes of a stored or deflated member, read straight from its local header and at most 2 KiB
    of its data (a jar holds thousands of members: going through ``ZipFile.open`` for each costs ten times more).
    None when the member needs the full reader (other methods, encryption, an odd header)."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        return None
    chunk = read_at(info.header_offset, 30 + 512 + 2048)  # the local header, a usual name and extra field, data
    if len(chunk) < 30 or chunk[:4] != b"PK\x03\x04":
        return None
    start = 30 + int.from_bytes(chunk[26:28], "little") + int.from_bytes(chunk[28:30], "little")
    data = chunk[start : start + min(info.compress_size, 2048)]
    want = min(n, info.file_size)
    if info.compress_type == zipfile.ZIP_STORED:
        head = data[:want]
    else:
        try:
            inflate = zlib.decompressobj(-15)
            head = inflate.decompress(data, 8)
            if is_java_class(head):
                return head  # most of a jar: 8 bytes tell, the rest is not inflated
            head += inflate.decompress(inflate.unconsumed_tail, want - len(head))
        except zlib.error:
            return None
    return head if len(head) == want else None


def _stored_slice(info: zipfile.ZipInfo, blob: Blob) -> Blob | None:
    """An uncompressed member of a zip on disk is a plain byte range: no copy needed."""
    if info.compress_type != zipfile.ZIP_STORED or blob.data is not None:
        return None
    local = blob.read_at(info.header_offset, 30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return None
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    if start + info.file_size > blob.size:
        return None
    return blob.slice(start, info.file_size)
