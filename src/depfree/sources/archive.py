"""Archives read in place: tar (plain, gzip, bzip2, xz, zstd), zip, ar and Debian packages.

Nothing is extracted. A reader walks the members once, records every entry in an :class:`IndexView`, and hands the
members that look like executables or nested archives (by magic) to a :class:`Sink`, which analyses them. Plain
tars and zips on disk are read with random access (a member is a byte range of the file); compressed tars are
streamed, and a member is held in memory or, when large, in a spooled temp file inside the scan's private temp dir.

Every bad entry (a name with ``..`` or an absolute name, a device file, a declared size past the end of the archive
or beyond the limits, a compression ratio of a decompression bomb, a corrupt member) becomes a per-entry error and
the walk goes on where the format allows it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

import zstandard

from depfree.errors import FormatError
from depfree.magic import sniff
from depfree.sources.blob import Blob
from depfree.sources.fsview import DIR, FILE, OTHER, SYMLINK, IndexView, Node, norm
from depfree.sources.targuard import TarLimitError, open_tar, skip_to

# Files whose content the resolver needs later (the loader's search path), kept while streaming; and the files that
# name the distribution and the owner of each file (os-release, the dpkg database) for ``sbom``.
KEEP_CONTENT = ("/etc/ld.so.conf", "/etc/os-release", "/usr/lib/os-release", "/var/lib/dpkg/status")
KEEP_CONTENT_DIRS = ("/etc/ld.so.conf.d/", "/var/lib/dpkg/info/", "/var/lib/dpkg/status.d/")
KEEP_LIMIT = 64 * 1024
KEEP_LIMIT_DPKG = 16 << 20  # a status file of thousands of packages, the file list of a large package
KEEP_DPKG_INFO = (".list", ".shlibs", ".symbols")  # of var/lib/dpkg/info/, only these (not md5sums or scripts)


KEEP_BUDGET = 256 << 20  # all content kept from one archive or image together (a hostile image of huge lists)


def keep_limit(path: str, size: int = 0, sink: object = None) -> int:
    """How many bytes of the member at ``path`` (``size`` bytes) to keep (0: none), within what is left of the
    sink's ``KEEP_BUDGET``."""
    if path in KEEP_CONTENT or path.startswith(KEEP_CONTENT_DIRS):
        if path.startswith("/var/lib/dpkg/info/"):
            limit = KEEP_LIMIT_DPKG if path.endswith(KEEP_DPKG_INFO) else 0
        else:
            limit = KEEP_LIMIT_DPKG if path.startswith("/var/lib/dpkg/") else KEEP_LIMIT
        if limit and sink is not None:
            used = getattr(sink, "kept_bytes", 0)
            limit = max(0, min(limit, KEEP_BUDGET - used))
            setattr(sink, "kept_bytes", used + min(limit, size))  # noqa: B010 - any sink, counted on the side
        return limit
    return 0

COMPRESSED = ("gzip", "bzip2", "xz", "zstd")


@dataclass
class Limits:
    """Bounds that keep hostile archives harmless (docs/limits.md: the defaults and the worst case measured)."""

    max_member: int = 16 << 30  # a declared (or sparse real) member size above this is refused, per member
    max_total: int = 64 << 30  # decompressed bytes of one compressed stream (a tar.gz, a layer, a data.tar.zst)
    max_ratio: int = 200  # uncompressed:compressed above this, once the output passed ratio_floor, is a bomb
    ratio_floor: int = 2 << 30  # below this much output the ratio is not judged: 300 near-identical binaries in a
    #                             tar.xz (665 MB at 500:1) are a real archive, a 2 GiB gzip of zeros is a bomb
    spool_over: int = 64 << 20  # members larger than this go to a temp file instead of memory
    max_entries: int = 2_000_000


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_limits(items: list[str] | tuple[str, ...], base: Limits | None = None) -> Limits:
    """``["max_member=1G", "max_total=8G"]`` (sizes take K/M/G/T, powers of 1024) on top of ``base`` (the defaults);
    a UsageError names the known limits."""
    import dataclasses
    import re

    from depfree.errors import UsageError

    names = [f.name for f in dataclasses.fields(Limits)]
    out = dataclasses.replace(base or Limits())
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise UsageError(f"--limit {item!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)i?[bB]?\s*", value)
        if not m or int(m.group(1)) <= 0:
            raise UsageError(f"--limit {item!r}: expected a positive number (with K, M, G or T), found {value!r}")
        setattr(out, key, int(m.group(1)) * _UNITS[m.group(2).lower()])
    return out


class ArchiveError(FormatError):
    """The archive as a whole cannot be read further (the message says why)."""


# What reading a damaged tar, gzip, bzip2, xz or zstd stream raises (tarfile's header code also lets IndexError and
# ValueError out of a truncated or garbled numeric field).
STREAM_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, ValueError,
                 IndexError)


class Sink(Protocol):
    """The scan side of a reader: where found members and per-entry errors go."""

    limits: Limits

    def error(self, name: str, message: str) -> None: ...

    def wants(self, kind: str) -> bool: ...

    def found(self, name: str, blob: Blob, kind: str) -> object: ...

    def capture(self, fh: IO[bytes], size: int) -> Blob: ...


def classify(head: bytes) -> str | None:
    """``exe`` for an ELF/PE/Mach-O, an archive kind (tar, zip, deb, ar, gzip, bzip2, xz, zstd) or None. A plain
    ``ar`` archive is a static library (``.a``) or a .deb whose first member is not ``debian-binary``."""
    if sniff(head) is not None:
        return "exe"
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return "zip"
    if head[:8] == b"!<arch>\n":
        return "deb" if head[8:21] == b"debian-binary" else "ar"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if is_tar_header(head):
        return "tar"
    return None


def is_tar_header(head: bytes) -> bool:
    """A ustar/GNU magic at 257, or a v7 header whose checksum adds up."""
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    if head[148:156].translate(None, b"01234567 \0"):
        return False  # the checksum field holds something other than octal digits: not a header (cheap test first)
    try:
        chk = int(head[148:156].split(b"\0")[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return chk == sum(head[:148]) + 256 + sum(head[156:512]) and head[0] != 0


class BombGuard(io.RawIOBase):
    """A decompressed stream that stops with an error once output exceeds ``max_ratio`` times the input read."""

    def __init__(self, inner: IO[bytes], raw: RangeCounter, limits: Limits) -> None:
        super().__init__()
        self.inner, self.raw, self.limits, self.out = inner, raw, limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.out += n
        if self.out > self.limits.max_total:
            raise ArchiveError(f"more than {self.limits.max_total:,} bytes decompressed (the max_total limit): "
                               "refused")
        if self.out > self.limits.ratio_floor and self.out > self.limits.max_ratio * max(1, self.raw.count):
            raise ArchiveError(f"decompression bomb: {self.out:,} bytes out of {self.raw.count:,} compressed "
                               f"(ratio above {self.limits.max_ratio}:1)")
        return n


class RangeCounter(io.RawIOBase):
    """Counts bytes read from the compressed input."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self.inner, self.count = inner, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.count += n
        return n


class Tape(RangeCounter):
    """A forward-only stream that remembers its last ``keep`` bytes (see :meth:`recall`)."""

    def __init__(self, inner: IO[bytes], keep: int = 1 << 17) -> None:
        super().__init__(inner)
        self.keep = keep
        self.window = bytearray()  # the bytes just before ``count`` (at least ``keep`` of them, when there were)

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        n = super().readinto(buf)
        self.window += buf[:n]
        if len(self.window) > 2 * self.keep:
            del self.window[: -self.keep]
        return n

    def recall(self, offset: int, n: int) -> bytes | None:
        """The ``n`` bytes at stream offset ``offset`` if still remembered (b"" when past the end), else None."""
        start = self.count - len(self.window)
        if offset < start:
            return None
        return bytes(self.window[offset - start : offset - start + n])


def decompressed(blob: Blob, kind: str, limits: Limits) -> IO[bytes]:
    """A forward-only stream of the decompressed bytes of a gzip/bzip2/xz/zstd blob, guarded against bombs."""
    raw = RangeCounter(blob.open())
    inner: IO[bytes]
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "bzip2":
        inner = bz2.BZ2File(raw, "rb")
    elif kind == "xz":
        inner = lzma.LZMAFile(raw, "rb")
    elif kind == "zstd":
        inner = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    else:
        raise ArchiveError(f"not a compressed stream ({kind})")
    return io.BufferedReader(BombGuard(inner, raw, limits), buffer_size=1 << 20)


def peek_tar(blob: Blob, kind: str, limits: Limits) -> bool:
    """Does this (compressed) blob hold a tar? Decompresses only its first block."""
    if kind == "tar":
        return True
    if kind not in COMPRESSED:
        return False
    try:
        with decompressed(blob, kind, limits) as fh:
            return is_tar_header(fh.read(512))
    except Exception:  # noqa: BLE001 - any decoding failure means "not a tar we can read"
        return False


# ---- member names -------------------------------------------------------------------------------------------------

def check_name(name: str) -> str | None:
    """Why a member name is refused (absolute, or climbing with ``..``), or None when it is fine."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive member name: refused"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        return "path traversal ('..') in archive member name: refused"
    if "\0" in name:
        return "NUL byte in archive member name: refused"
    if not name:
        return "empty archive member name: refused"
    return None


def display_name(name: str) -> str:
    """The member name as shown after ``!``: without ``./`` and trailing slashes."""
    n = name
    while n.startswith("./"):
        n = n[2:]
    return n.rstrip("/") or "."


# ---- tar ----------------------------------------------------------------------------------------------------------

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
        self.fileobj: IO[bytes] = raw if seekable else self.tape  # type: ignore[assignment]
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
                    raise ArchiveError(f"not a readable tar archive ({_why(exc)})") from None
                raise ArchiveError(f"{self._damage()}, but what follows cannot be read ({_why(exc)})") from None
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
                raise ArchiveError(f"{_why(exc)}: refused after {self.count} members") from None
            except tarfile.HeaderError as exc:
                raise ArchiveError(f"corrupt tar header after {self.count} members ({_why(exc)})") from None
            except STREAM_ERRORS as exc:
                end = self.part.size if self.seekable else getattr(tf.fileobj, "pos", -1)  # bytes really there
                if last is not None and 0 <= end - (last.offset_data + last.size) < tarfile.BLOCKSIZE:
                    # The last member's data is all there; only the padding and end-of-archive blocks are missing
                    # (umoci insert writes layers like that). A streamed tar ends there silently too.
                    return None
                raise ArchiveError(f"truncated or corrupt archive after {self.count} members ({_why(exc)})") from None
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
                                       f"({_why(exc)})") from None

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
                self.fileobj = _Prepend(block, stream)  # type: ignore[assignment]
                return True
            pos += tarfile.BLOCKSIZE


def _tar_entry(tf: tarfile.TarFile, ti: tarfile.TarInfo, blob: Blob, seekable: bool, sink: Sink,
               absolute_names: bool) -> TarEntry | None:
    shown = display_name(ti.name)
    if absolute_names:
        shown = norm(shown)
    bad = check_name(ti.name)
    if bad:
        sink.error(ti.name, bad)
        return None
    path = norm(ti.name)
    if ti.isdir():
        return TarEntry(path, Node(DIR))
    if ti.issym():
        return TarEntry(path, Node(SYMLINK, target=ti.linkname))
    if ti.islnk():
        bad = check_name(ti.linkname)
        if bad:
            sink.error(ti.name, f"hard link target {ti.linkname!r}: {bad}")
            return None
        return TarEntry(path, Node(FILE, target=norm(ti.linkname), token="hardlink"), shown)
    if ti.ischr() or ti.isblk() or ti.isfifo():
        what = "character device" if ti.ischr() else "block device" if ti.isblk() else "FIFO"
        sink.error(shown, f"{what} in archive: not a regular file, skipped")
        return TarEntry(path, Node(OTHER))
    if not ti.isreg():
        sink.error(shown, f"unsupported tar member type {ti.type!r}, skipped")
        return None
    refused = getattr(ti, "refused", None)
    if refused:
        sink.error(shown, refused)
        return TarEntry(path, Node(FILE, size=ti.size))
    if ti.size > sink.limits.max_member:
        sink.error(shown, f"declared size {ti.size:,} bytes exceeds the limit of {sink.limits.max_member:,} "
                          "(max_member): skipped")
        return TarEntry(path, Node(FILE, size=ti.size))
    if seekable and ti.offset_data + ti.size > blob.size:
        sink.error(shown, f"declared size {ti.size:,} bytes runs past the end of the archive "
                          f"({blob.size:,} bytes): truncated or hostile, skipped")
        return TarEntry(path, Node(FILE, size=ti.size))
    node = Node(FILE, size=ti.size)
    member: Blob | None = None
    if seekable and not ti.issparse():
        member = blob.slice(ti.offset_data, ti.size)
        head = member.head(512)
    else:
        try:
            fh = tf.extractfile(ti)
            if fh is None:
                return TarEntry(path, node)
            head = fh.read(512)
        except STREAM_ERRORS as exc:
            raise ArchiveError(f"{shown}: corrupt member data ({_why(exc)})") from None
    keep = keep_limit(path, ti.size, sink)
    kind = classify(head)
    if kind is not None and not sink.wants(kind):
        kind = None
    if kind is None and not keep:
        return TarEntry(path, node)
    if member is None:
        rest = fh  # type: ignore[possibly-undefined]
        try:
            member = sink.capture(_Prepend(head, rest), ti.size)
        except STREAM_ERRORS as exc:
            raise ArchiveError(f"{shown}: corrupt member data ({_why(exc)})") from None
    if keep:
        node.data = member.read_at(0, keep)
    if kind is not None:
        node.token = sink.found(shown, member, kind)
    return TarEntry(path, node)


class _Prepend(io.RawIOBase):
    """Bytes already read followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                out, self.head = self.head, b""
                more = self.rest.read(-1 if size < 0 else size - len(out))
                return out + more
            out, self.head = self.head[:size], self.head[size:]
            return out
        return self.rest.read(size)

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


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


# ---- zip ----------------------------------------------------------------------------------------------------------

def index_zip(blob: Blob, sink: Sink, view: IndexView) -> None:
    try:
        zf = zipfile.ZipFile(blob.open())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"not a readable zip archive ({_why(exc)})") from None
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
                    sink.error(display_name(info.filename), f"member data overlaps member {overlaps[i]!r} (entries "
                                                            "sharing bytes: an overlap zip bomb): skipped")
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


def _zip_head(read_at: Callable[[int, int], bytes], info: zipfile.ZipInfo, n: int = 512) -> bytes | None:
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


def is_java_class(head: bytes) -> bool:
    """A Java class file (magic 0xCAFEBABE, then a class-file version of 45 or more where a Mach-O universal header
    has its small slice count): neither a program nor an archive."""
    return head[:4] == b"\xca\xfe\xba\xbe" and int.from_bytes(head[4:8], "big") >= 45


def _zip_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, blob: Blob, sink: Sink, view: IndexView,
               read_at: Callable[[int, int], bytes]) -> None:
    name = info.filename
    shown = display_name(name)
    bad = check_name(name)
    if bad:
        sink.error(name, bad)
        return
    path = norm(name)
    mode = info.external_attr >> 16
    if info.is_dir():
        view.add(path, Node(DIR))
        return
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
        sink.error(shown, "device file in archive: not a regular file, skipped")
        view.add(path, Node(OTHER))
        return
    limits = sink.limits
    if info.file_size > limits.max_member:
        sink.error(shown, f"declared size {info.file_size:,} bytes exceeds the limit of {limits.max_member:,} "
                          "(max_member): skipped")
        view.add(path, Node(FILE, size=info.file_size))
        return
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(1, info.compress_size):
        sink.error(shown, f"compression ratio {info.file_size // max(1, info.compress_size):,}:1 "
                          f"({info.compress_size:,} -> {info.file_size:,} bytes) looks like a zip bomb: skipped")
        view.add(path, Node(FILE, size=info.file_size))
        return
    if info.header_offset + info.compress_size > blob.size:
        sink.error(shown, f"member data runs past the end of the archive ({blob.size:,} bytes): skipped")
        return
    if info.flag_bits & 0x1:
        sink.error(shown, "encrypted member: cannot be read, skipped")
        view.add(path, Node(FILE, size=info.file_size))
        return
    try:
        if mode and stat.S_ISLNK(mode):
            with zf.open(info) as fh:
                target = fh.read(4096).decode("utf-8", "replace")
            view.add(path, Node(SYMLINK, target=target))
            return
        keep = keep_limit(path, info.file_size, sink)
        head = _zip_head(read_at, info) if not keep else None
        if head is not None:
            kind = classify(head)
            if kind is None or not sink.wants(kind):
                view.add(path, Node(FILE, size=info.file_size))  # neither a program nor an archive: indexed only
                return
        with zf.open(info) as fh:
            head = fh.read(512)
            kind = classify(head)
            if kind is not None and not sink.wants(kind):
                kind = None
            node = Node(FILE, size=info.file_size)
            if kind is not None or keep:
                member = _stored_slice(zf, info, blob) or sink.capture(_Prepend(head, _Capped(fh, info.file_size)),
                                                                        info.file_size)
                if keep:
                    node.data = member.read_at(0, keep)
                if kind is not None:
                    node.token = sink.found(shown, member, kind)
            view.add(path, node)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, zlib.error,
            lzma.LZMAError) as exc:
        sink.error(shown, f"corrupt member ({_why(exc)}), skipped")


def _stored_slice(zf: zipfile.ZipFile, info: zipfile.ZipInfo, blob: Blob) -> Blob | None:
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


class _Capped(io.RawIOBase):
    """A member stream that refuses to give more than its declared size (a lying header cannot grow memory)."""

    def __init__(self, inner: IO[bytes], size: int) -> None:
        super().__init__()
        self.inner, self.left = inner, size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if size < 0 else min(size, self.left)
        data = self.inner.read(n)
        self.left -= len(data)
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


# ---- ar and .deb --------------------------------------------------------------------------------------------------

def ar_members(blob: Blob, sink: Sink) -> list[tuple[str, Blob]]:
    """The members of a Unix ar archive (``!<arch>``, GNU and BSD long names) as byte ranges."""
    if blob.head(8) != b"!<arch>\n":
        raise ArchiveError("not an ar archive (no '!<arch>' magic)")
    out: list[tuple[str, Blob]] = []
    pos, longnames = 8, b""
    while pos + 60 <= blob.size:
        hdr = blob.read_at(pos, 60)
        if hdr[58:60] != b"`\n":
            raise ArchiveError(f"corrupt ar header at offset {pos}")
        raw_name = hdr[:16].rstrip(b" ")
        try:
            size = int(hdr[48:58].strip() or b"0")
        except ValueError:
            raise ArchiveError(f"corrupt ar member size at offset {pos}") from None
        data_at = pos + 60
        if data_at + size > blob.size:
            sink.error(raw_name.decode("latin-1"), f"declared size {size:,} bytes runs past the end of the archive "
                                                   f"({blob.size:,} bytes): truncated or hostile")
            break
        name = raw_name.decode("utf-8", "replace")
        body = blob.slice(data_at, size)
        if raw_name == b"//":
            longnames = body.read_at(0, min(size, 1 << 20))
        elif raw_name.startswith(b"#1/"):  # BSD: the name precedes the data
            n = int(raw_name[3:] or b"0") if raw_name[3:].isdigit() else 0
            name = body.read_at(0, n).rstrip(b"\0").decode("utf-8", "replace")
            out.append((name, body.slice(n, size - n)))
        elif raw_name.startswith(b"/") and raw_name[1:].isdigit():
            off = int(raw_name[1:])
            end = longnames.find(b"/\n", off)
            name = longnames[off : end if end >= 0 else None].decode("utf-8", "replace")
            out.append((name, body))
        elif raw_name not in (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
            out.append((name.rstrip("/"), body))
        pos = data_at + size + (size & 1)
    return out


def index_ar(blob: Blob, sink: Sink, view: IndexView) -> str:
    """A .deb (its ``data.tar.*`` is the tree, shown with absolute paths) or a plain ar archive (its members are
    the files). Returns the container kind: ``deb`` or ``ar``."""
    members = ar_members(blob, sink)
    names = [n for n, _ in members]
    if "debian-binary" in names:
        data = [(n, b) for n, b in members if n.startswith("data.tar")]
        if not data:
            raise ArchiveError("Debian package without a data.tar member")
        name, body = data[0]
        kind = classify(body.head(512))
        if kind not in ("tar", *COMPRESSED):
            raise ArchiveError(f"{name}: expected a tar (plain, gz, xz, zst or bz2), found {body.head(4).hex(' ')}")
        try:
            index_tar(body, kind, sink, view, absolute_names=True)
        except ArchiveError as exc:
            raise ArchiveError(f"{name}: {exc}") from None
        return "deb"
    for name, body in members:
        bad = check_name(name)
        if bad:
            sink.error(name, bad)
            continue
        node = Node(FILE, size=body.size)
        kind = classify(body.head(512))
        if kind is not None and sink.wants(kind):
            node.token = sink.found(display_name(name), body, kind)
        view.add(norm(name), node)
    return "ar"
