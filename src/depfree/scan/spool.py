"""Spooling a streamed archive member: its bytes in memory when small, else in a temp file of the scan's private
spool directory; its sha256 computed on the way."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO

from depfree.sources.blob import Blob


def capture(fh: IO[bytes], size: int, spool: str | Callable[[], str], in_memory: bool) -> Blob:
    """Read a streamed member into memory, or into a temp file in the spool directory; its sha256 on the way."""
    import hashlib  # (a scan of files on disk spools nothing and, without --hash, hashes nothing)

    h = hashlib.sha256()
    if in_memory:
        data = _read_exact(fh, size)
        h.update(data)
        return Blob.of_bytes(data, h.hexdigest())
    import tempfile

    fd, path = tempfile.mkstemp(dir=spool if isinstance(spool, str) else spool(), prefix="member-")
    got = 0
    with os.fdopen(fd, "wb") as out:
        while got < size:
            chunk = fh.read(min(1 << 20, size - got))
            if not chunk:
                break
            out.write(chunk)
            h.update(chunk)
            got += len(chunk)
    if got != size:
        os.unlink(path)
        raise EOFError(f"member data ends after {got:,} of {size:,} bytes")
    return Blob(path, 0, size, temporary=True, digest=h.hexdigest())



def _read_exact(fh: IO[bytes], size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = fh.read(size - got)
        if not chunk:
            raise EOFError(f"member data ends after {got:,} of {size:,} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)

