"""Open one file on disk as a bounded, read-only byte view (mmap), with clear errors for every way it can fail."""

from __future__ import annotations

import errno
import mmap
import os
import stat
from typing import Protocol

from depfree.errors import InputError


class ByteSource(Protocol):
    """Random access to a file's bytes. ``read_at`` never reads past the end and never raises on a short read."""

    name: str
    size: int

    def read_at(self, offset: int, length: int) -> bytes: ...

    def view(self) -> mmap.mmap | bytes: ...  # both have find() and slices; a memoryview would not

    def close(self) -> None: ...


class BytesSource:
    """A byte string as a source (archive members, tests, hand-made hostile inputs)."""

    def __init__(self, data: bytes, name: str = "<bytes>") -> None:
        self._data = data
        self.name = name
        self.size = len(data)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        return self._data[offset : offset + length]

    def view(self) -> bytes:
        return self._data

    def close(self) -> None:
        pass


class FileSource:
    """A file on disk: read in pieces with pread, and mapped read-only when searched or hashed whole (never copied
    into memory whole)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        try:
            st = os.stat(self.name)
        except FileNotFoundError:
            if os.path.islink(self.name):
                raise InputError(f"{self.name}: dangling symbolic link") from None
            raise InputError(f"{self.name}: no such file") from None
        except PermissionError:
            raise InputError(f"{self.name}: permission denied") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(f"{self.name}: too many levels of symbolic links (a link loop)") from None
            if exc.errno == errno.ENAMETOOLONG:
                raise InputError(f"{self.name[:80]}...: file name too long") from None
            raise InputError(f"{self.name}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{self.name}: is a directory, expected a file (use 'depfree scan' for trees)")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{self.name}: not a regular file (a device, FIFO or socket)")
        try:
            self._fh = open(self.name, "rb")  # noqa: SIM115 - closed in close()
        except PermissionError:
            raise InputError(f"{self.name}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{self.name}: {exc.strerror or exc}") from None
        self.size = os.fstat(self._fh.fileno()).st_size
        self._fd = self._fh.fileno()
        self._map: mmap.mmap | None = None  # mapped on the first view(): most reads are a few small pieces
        self._head: bytes | None = None  # the first END_BYTES, read on the first read that lies there
        self._tail: bytes | None = None  # the last END_BYTES, likewise

    # An ELF reader takes ~30 pieces of a small program, nearly all from its first and last few KiB (the headers,
    # .dynstr, the version needs one entry at a time; the section headers and .shstrtab, .dynamic): those two ends
    # are each read once and the pieces cut from them (issue 23: /usr/bin's ls, 30 reads -> 3).
    END_BYTES = 16 << 10

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        if self._map is not None:
            return self._map[offset : offset + length]
        end = min(offset + length, self.size)
        if end <= self.END_BYTES:
            if self._head is None:
                self._head = self._pread(0, min(self.END_BYTES, self.size))
            return self._head[offset:end]
        tail_start = self.size - self.END_BYTES
        if offset >= tail_start > 0:
            if self._tail is None:
                self._tail = self._pread(tail_start, self.END_BYTES)
            return self._tail[offset - tail_start : end - tail_start]
        return self._pread(offset, end - offset)

    def _pread(self, offset: int, length: int) -> bytes:
        # pread rather than a mapping for the pieces a reader takes (headers, tables, strings): no page faults and
        # no munmap for a file read in 30 small pieces (~4 % of a scan's analysis time), and a file truncated
        # meanwhile gives a short read, not a SIGBUS
        try:
            return os.pread(self._fd, length, offset)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from None

    def view(self) -> mmap.mmap | bytes:
        """The whole file mapped (searched and hashed in place, never copied)."""
        if self._map is None and self.size:
            try:
                self._map = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise InputError(f"{self.name}: cannot map file: {exc}") from None
        return self._map if self._map is not None else b""

    def close(self) -> None:
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # a memoryview is still alive; the map goes when it does
            self._map = None
        self._fh.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
