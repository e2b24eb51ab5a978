"""The byte streams under the archive readers: decompression guarded against bombs, a forward-only stream that
remembers its last bytes (to look back at a corrupt tar header), and the small wrappers that put bytes already read
in front of a stream or cap a stream at a member's declared size."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from typing import IO, cast

import zstandard

from depfree.sources.archive.kinds import COMPRESSED, is_tar_header
from depfree.sources.archive.limits import ArchiveError, Limits
from depfree.sources.blob import Blob

# What reading a damaged tar, gzip, bzip2, xz or zstd stream raises (tarfile's header code also lets IndexError and
# ValueError out of a truncated or garbled numeric field).
STREAM_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, ValueError,
                 IndexError)


def why(exc: BaseException) -> str:
    """An exception as the tail of a one-line error: its message, else its type's name."""
    text = str(exc).strip()
    return text or type(exc).__name__


class _Raw(io.RawIOBase):
    """A readable raw stream whose ``read`` comes from :meth:`readinto` (the io machinery)."""

    def readable(self) -> bool:
        return True

    def as_io(self) -> IO[bytes]:
        """This stream where the standard library asks for a binary file object (a RawIOBase is one at run time)."""
        return cast(IO[bytes], self)


class RangeCounter(_Raw):
    """Counts bytes read from the compressed input."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self.inner, self.count = inner, 0

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.count += n
        return n


class BombGuard(_Raw):
    """A decompressed stream that stops with an error once output exceeds ``max_ratio`` times the input read."""

    def __init__(self, inner: IO[bytes], raw: RangeCounter, limits: Limits) -> None:
        super().__init__()
        self.inner, self.raw, self.limits, self.out = inner, raw, limits, 0

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


class Prepend(_Raw):
    """Bytes already read followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self.head, self.rest = head, rest

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
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


class Capped(_Raw):
    """A member stream that refuses to give more than its declared size (a lying header cannot grow memory)."""

    def __init__(self, inner: IO[bytes], size: int) -> None:
        super().__init__()
        self.inner, self.left = inner, size

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
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


def decompressed(blob: Blob, kind: str, limits: Limits) -> IO[bytes]:
    """A forward-only stream of the decompressed bytes of a gzip/bzip2/xz/zstd blob, guarded against bombs."""
    raw = RangeCounter(blob.open())
    inner: IO[bytes]
    if kind == "gzip":
        inner = cast(IO[bytes], gzip.GzipFile(fileobj=raw.as_io(), mode="rb"))
    elif kind == "bzip2":
        inner = bz2.BZ2File(raw.as_io(), "rb")
    elif kind == "xz":
        inner = lzma.LZMAFile(raw.as_io(), "rb")
    elif kind == "zstd":
        inner = cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(raw.as_io(), read_across_frames=True))
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
