"""Which blobs hold the same bytes, found without a cryptographic hash unless one is needed anyway (issue 23).

A content hash is identity, not a dependency fact: a scan computes a file's sha256 only when its output asks for it.
Copies (the same binary in two places of a tree, in two layers, in two archives) must still be analysed once, so a
:class:`CopyIndex` tells them apart in steps, each more expensive and each taken only when the cheaper one could not
decide:

1. the size: blobs of different sizes differ (most files have a size no other file has, and stop here);
2. three sampled 4 KiB blocks (start, middle, end: :meth:`Blob.fingerprint`): different samples, different content;
3. for two blobs that can both be read again (files on disk, byte ranges of uncompressed archives): the XXH3-128
   digest of the whole content (``xxhash``; ~20 GB/s, so a list of look-alikes is compared in one pass each) and
   then the bytes themselves, so that a crafted digest collision cannot pass one file off as another;
4. for a blob that cannot be read again (a member of a compressed archive held in memory or spooled to a temp file
   that is deleted once analysed): its sha256, taken while it was read (:func:`depfree.scan` ``capture``) — the one
   case where the cryptographic hash stays, because there is nothing left to compare the bytes with.

Two blobs are reported equal exactly when their bytes are equal (a sha256 match aside), which is what the sha256
cache before issue 23 decided; ``bench/bench_copies.py`` checks it on /usr/lib.

The same file reached twice (a hard link) is found before any of this, by its inode, by the scan itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from depfree.dataclass import dataclass, field
from depfree.sources.blob import Blob

T = TypeVar("T")

CHUNK = 1 << 20


def xxh3_of(blob: Blob) -> str:
    """The XXH3-128 digest of the blob's bytes (hex)."""
    import xxhash

    if blob.data is not None:
        return xxhash.xxh3_128_hexdigest(memoryview(blob.data)[blob.offset : blob.offset + blob.size])
    h = xxhash.xxh3_128()
    for chunk in _chunks(blob):
        h.update(chunk)
    return h.hexdigest()


def same_bytes(a: Blob, b: Blob) -> bool:
    """Whether two blobs hold the same bytes, compared 1 MiB at a time."""
    if a.size != b.size:
        return False
    return all(x == y for x, y in zip(_chunks(a), _chunks(b), strict=True))


def _chunks(blob: Blob) -> Iterator[bytes]:
    with blob.open() as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def rereadable(blob: Blob) -> bool:
    """A blob whose bytes can be read again later: a file on disk or a range of one, never a temp file or memory."""
    return blob.data is None and not blob.temporary and blob.path is not None


@dataclass(eq=False)
class _Entry(Generic[T]):
    value: T | None
    size: int
    origin: Blob | None  # where the bytes can be read again (None: only the sha256 is left)
    sha256: str | None
    sample: int | None = None
    xxh3: str | None = None

    def sample_of(self) -> int | None:
        if self.sample is None and self.origin is not None:
            self.sample = self.origin.fingerprint()
        return self.sample

    def xxh3_of(self) -> str:
        if self.xxh3 is None:
            assert self.origin is not None
            self.xxh3 = xxh3_of(self.origin)
        return self.xxh3

    def sha256_of(self) -> str:
        if self.sha256 is None:
            assert self.origin is not None
            self.sha256 = self.origin.sha256()
        return self.sha256


@dataclass
class CopyIndex(Generic[T]):
    """Blobs seen so far, each with a value (the scan's analysis task); :meth:`find` gives the value of an earlier
    blob with the same bytes. Blobs that can be read again are indexed by (size, sample) once a second blob of their
    size arrives, so a tree of many same-size files costs one sample per file, not one per pair."""

    _unsampled: dict[int, list[_Entry[T]]] = field(default_factory=dict)  # re-readable, alone in their size so far
    _sampled: dict[tuple[int, int | None], list[_Entry[T]]] = field(default_factory=dict)
    _rereadable: dict[int, list[_Entry[T]]] = field(default_factory=dict)  # every re-readable entry by size
    _hashed: dict[int, list[_Entry[T]]] = field(default_factory=dict)  # the others (their sha256 known) by size
    _by_sha256: dict[str, _Entry[T]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {"sampled": 0, "xxh3": 0, "compared": 0, "sha256": 0})
    _last: tuple[Blob, _Entry[T]] | None = None  # the blob find() looked at last, and what it computed of it

    def find(self, blob: Blob) -> T | None:
        """The value of an earlier blob with the same content, or None."""
        if blob.digest is not None and blob.digest in self._by_sha256:
            return self._by_sha256[blob.digest].value
        size = blob.size
        if size not in self._rereadable and size not in self._hashed:
            return None
        new: _Entry[T] = self._entry(blob, None)
        self._last = (blob, new)
        if new.origin is not None:
            for e in self._unsampled.pop(size, []):  # a second blob of their size: now they are worth sampling
                self._sampled.setdefault((size, e.sample_of()), []).append(e)
            self.stats["sampled"] += 1
            for e in self._sampled.get((size, new.sample_of()), []):
                self.stats["xxh3"] += 1
                if new.xxh3_of() == e.xxh3_of():
                    self.stats["compared"] += 1
                    if same_bytes(new.origin, e.origin):  # type: ignore[arg-type]
                        return e.value
            others = self._hashed.get(size, [])
        else:
            others = self._rereadable.get(size, [])
        for e in others:  # one side only has its sha256 left: compare those
            self.stats["sha256"] += 1
            if e.sha256 is None:  # now known: later blobs that come with a sha256 find it directly
                self._by_sha256.setdefault(e.sha256_of(), e)
            if new.sha256_of() == e.sha256_of():
                return e.value
        return None

    def add(self, blob: Blob, value: T) -> None:
        """Remember ``blob`` (not found by :meth:`find`) under ``value``."""
        last, self._last = self._last, None
        if last is not None and last[0] is blob:  # what find() learnt of it (sample, digests) is kept
            e = last[1]
            e.value = value
        else:
            e = self._entry(blob, value)
        if e.origin is not None:
            self._rereadable.setdefault(e.size, []).append(e)
            if e.sample is not None:  # find() sampled it: another blob of its size came first
                self._sampled.setdefault((e.size, e.sample), []).append(e)
            else:  # sampled when the next blob of its size comes (find() moves it)
                self._unsampled.setdefault(e.size, []).append(e)
        else:
            self._hashed.setdefault(e.size, []).append(e)
        if e.sha256 is not None:
            self._by_sha256.setdefault(e.sha256, e)

    @staticmethod
    def _entry(blob: Blob, value: T | None) -> _Entry[T]:
        if rereadable(blob):
            return _Entry(value, blob.size, blob, blob.digest)
        # bytes in memory or a temp file deleted once analysed: the sha256 now, while they can still be read
        return _Entry(value, blob.size, None, blob.digest or blob.sha256())
