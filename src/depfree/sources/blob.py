"""A byte range to read without copying it all: part of a file on disk (a tar member, an image layer) or of bytes in
memory (a member of a compressed archive). Blobs pickle cheaply when on disk, so worker processes can open them."""

from __future__ import annotations

import io
import os
from typing import IO, cast

from depfree.dataclass import dataclass
from depfree.sources.file import BytesSource, FileSource


@dataclass(frozen=True)
class Blob:
    """``size`` bytes at ``offset`` of the file ``path``, or of ``data``. ``digest``: its sha256 when known."""

    path: str | None
    offset: int
    size: int
    data: bytes | None = None
    temporary: bool = False  # a spooled temp file the scan deletes when done with it
    digest: str | None = None

    @classmethod
    def of_file(cls, path: str, size: int | None = None) -> Blob:
        return cls(path, 0, os.path.getsize(path) if size is None else size)

    @classmethod
    def of_bytes(cls, data: bytes, digest: str | None = None) -> Blob:
        return cls(None, 0, len(data), data, digest=digest)

    def slice(self, offset: int, size: int) -> Blob:
        offset = max(0, min(offset, self.size))
        size = max(0, min(size, self.size - offset))
        return Blob(self.path, self.offset + offset, size, self.data)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        if self.data is not None:
            return self.data[self.offset + offset : self.offset + offset + length]
        assert self.path is not None
        with open(self.path, "rb") as fh:
            return os.pread(fh.fileno(), length, self.offset + offset)

    def head(self, n: int = 512) -> bytes:
        return self.read_at(0, n)

    def open(self) -> IO[bytes]:
        """A seekable binary file object over the range (a :class:`RangeReader`)."""
        return cast(IO[bytes], RangeReader(self))

    def sha256(self) -> str:
        """The sha256 of the range, read in 1 MiB chunks."""
        import hashlib  # (only --hash and members of compressed archives need it)

        h = hashlib.sha256()
        with self.open() as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    def fingerprint(self) -> int:
        """A cheap content key from three 4 KiB samples (start, middle, end): blobs with different keys differ, so
        only blobs with equal keys need a full hash to tell whether they are copies."""
        k = 4096
        return hash((self.size, self.read_at(0, k), self.read_at(max(0, self.size // 2 - k // 2), k),
                     self.read_at(max(0, self.size - k), k)))

    def detached(self) -> Blob:
        """The same bytes, holding only this range in memory (what a worker process is sent)."""
        if self.data is None or (self.offset == 0 and self.size == len(self.data)):
            return self
        return Blob(None, 0, self.size, self.data[self.offset : self.offset + self.size], self.temporary, self.digest)

    def source(self, name: str) -> FileSource | BytesSource:
        """A ByteSource over the range: the file mapped when the blob is a whole file, else the bytes read."""
        if self.data is None and self.path is not None and self.offset == 0 and self.size == os.path.getsize(self.path):
            src = FileSource(self.path)
            src.name = name
            return src
        return BytesSource(self.read_at(0, self.size) if self.size else b"", name)


class RangeReader(io.RawIOBase):
    """A seekable, read-only file object over a blob (what tarfile and zipfile read from)."""

    def __init__(self, blob: Blob) -> None:
        super().__init__()
        self.blob = blob
        self.pos = 0
        self._fd: int | None = os.open(blob.path, os.O_RDONLY) if blob.data is None and blob.path else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.blob.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.blob.size - self.pos
        size = max(0, min(size, self.blob.size - self.pos))
        if size == 0:
            return b""
        if self._fd is not None:
            data = os.pread(self._fd, size, self.blob.offset + self.pos)
        else:
            data = self.blob.read_at(self.pos, size)
        self.pos += len(data)
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        super().close()
