"""Python's ``tarfile`` with its header readers bounded, so that a hostile header cannot make it allocate, loop or
stop without saying so.

``tarfile`` trusts three things a 71-byte file can lie about, and this module checks each of them:

* the size of a GNU long-name / long-link header or a pax extended header: it reads that many bytes into memory in
  one call (:class:`GuardedTarInfo` refuses one above ``MAX_EXT_HEADER``);
* the GNU sparse map: an old-style sparse member may chain any number of 512-byte extension blocks of 21 regions
  each (Go's ``archive/tar/testdata/gnu-sparse-many-zeros.tar.bz2``: 10 million regions from 1,642 bytes, 1.9 GB of
  tuples); a pax 0.1 / 1.0 map may declare any number of regions. The map is read in bounded memory and a member
  with more than ``MAX_SPARSE`` regions is marked ``refused`` (a per-entry error), the walk going on after it;
* a streamed member's declared size: ``tarfile`` skips it in 16 KiB steps without looking for the end of the
  stream (2^62 bytes: forever). :func:`skip_to` skips it here and stops at the end of the stream.

(``sources/archive.py``'s ``Tape`` keeps the last bytes of a stream, so that a header ``tarfile`` rejected can be
looked at again: ``tarfile`` ends the walk without a word on an invalid header after the first one; GNU tar reports
it.)
"""

from __future__ import annotations

import tarfile
from typing import IO, Any

BLOCK = tarfile.BLOCKSIZE
MAX_EXT_HEADER = 1 << 20  # a long name, a long link target or a pax header (xattrs, ACLs) larger than this is refused
MAX_SPARSE = 100_000  # regions of one sparse member's map


class TarLimitError(tarfile.TarError):
    """A header beyond what this module accepts (the message says which)."""


def _octal(field: bytes) -> int:
    try:
        return int(tarfile.nti(field))  # type: ignore[attr-defined]
    except (ValueError, tarfile.HeaderError):  # nti raises InvalidHeaderError, a HeaderError
        return 0


class GuardedTarInfo(tarfile.TarInfo):
    """A TarInfo whose extended headers and sparse maps are read within bounds (see the module docstring)."""

    refused: str | None = None  # why this member is not read (its sparse map is too large)

    def _proc_member(self, tarfile_: Any) -> Any:
        if self.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
                         tarfile.SOLARIS_XHDTYPE) and self.size > MAX_EXT_HEADER:
            raise TarLimitError(f"extended header {self.name!r} of {self.size:,} bytes at offset {self.offset:,} "
                                f"(at most {MAX_EXT_HEADER:,} expected)")
        return super()._proc_member(tarfile_)  # type: ignore[misc]

    def _proc_sparse(self, tarfile_: Any) -> Any:
        """An old GNU sparse member: regions in the header, then extension blocks while the 'extended' flag is
        set. Blocks are consumed to the end (the member data follows them); regions beyond MAX_SPARSE are not kept."""
        structs, isextended, origsize = self._sparse_structs  # type: ignore[attr-defined]
        del self._sparse_structs  # type: ignore[attr-defined]
        regions = len(structs)
        while isextended:
            buf = tarfile_.fileobj.read(BLOCK)
            if len(buf) < BLOCK:
                raise tarfile.ReadError(f"sparse map of {self.name!r} ends with the archive")
            for pos in range(0, 21 * 24, 24):
                offset, numbytes = _octal(buf[pos : pos + 12]), _octal(buf[pos + 12 : pos + 24])
                if offset and numbytes:
                    regions += 1
                    if regions <= MAX_SPARSE:
                        structs.append((offset, numbytes))
            isextended = bool(buf[504])
        if regions > MAX_SPARSE:
            self.refused = f"sparse map of {regions:,} regions (at most {MAX_SPARSE:,} expected): skipped"
            structs = []
        self.sparse = structs
        self.offset_data = tarfile_.fileobj.tell()
        tarfile_.offset = self.offset_data + self._block(self.size)  # type: ignore[attr-defined]
        self.size = origsize
        return self

    def _proc_gnusparse_01(self, next_: Any, pax_headers: dict[str, str]) -> None:
        text = pax_headers["GNU.sparse.map"]
        if text.count(",") > 2 * MAX_SPARSE:
            next_.refused = f"sparse map of {text.count(',') // 2 + 1:,} regions (at most {MAX_SPARSE:,}): skipped"
            next_.sparse = []
            return
        try:
            numbers = [int(x) for x in text.split(",")]
        except ValueError:
            raise TarLimitError(f"GNU.sparse.map of {next_.name!r}: expected comma-separated numbers, found "
                                f"{text[:40]!r}") from None
        next_.sparse = list(zip(numbers[::2], numbers[1::2], strict=False))

    def _proc_gnusparse_10(self, next_: Any, pax_headers: dict[str, str], tarfile_: Any) -> None:
        """Sparse format 1.0: the map is in the member data, one decimal number a line: the count, then pairs."""
        fh = tarfile_.fileobj
        buf = b""
        numbers: list[int] = []
        want: int | None = None
        while want is None or len(numbers) < want:
            if b"\n" not in buf:
                more = fh.read(BLOCK)
                if not more or len(buf) > 64:
                    raise TarLimitError(f"sparse map of {next_.name!r}: expected decimal lines, found "
                                        f"{buf[:40]!r}")
                buf += more
                continue
            line, buf = buf.split(b"\n", 1)
            if not line.isdigit():
                raise TarLimitError(f"sparse map of {next_.name!r}: expected a decimal number, found {line[:40]!r}")
            if want is None:
                want = 2 * int(line)
                if want > 2 * MAX_SPARSE:
                    raise TarLimitError(f"sparse map of {next_.name!r} declares {int(line):,} regions (at most "
                                        f"{MAX_SPARSE:,} expected)")
            else:
                numbers.append(int(line))
        next_.offset_data = fh.tell()  # the map was read in whole blocks: the data starts here
        next_.sparse = list(zip(numbers[::2], numbers[1::2], strict=False))


def open_tar(fileobj: IO[bytes], seekable: bool) -> tarfile.TarFile:
    return tarfile.open(fileobj=fileobj, mode="r:" if seekable else "r|", tarinfo=GuardedTarInfo)


def skip_to(tf: tarfile.TarFile, target: int, name: str) -> None:
    """In a streamed tar, read forward to ``target`` (the end of a member's data), stopping at the end of the stream
    (instead of ``tarfile``'s endless 16 KiB steps over a declared size that is not there)."""
    fh: Any = tf.fileobj
    left = target - fh.tell()
    while left > 0:
        got = len(fh.read(min(left, 1 << 20)))
        if not got:
            raise tarfile.ReadError(f"{name}: the member's declared size runs {left:,} bytes past the end of the "
                                    "stream")
        left -= got
