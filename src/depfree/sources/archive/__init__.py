"""Archives read in place: tar (plain, gzip, bzip2, xz, zstd), zip, ar and Debian packages.

Nothing is extracted. A reader walks the members once, records every entry in an :class:`IndexView`, and hands the
members that look like executables or nested archives (by magic) to a :class:`Sink`, which analyses them. Plain
tars and zips on disk are read with random access (a member is a byte range of the file); compressed tars are
streamed, and a member is held in memory or, when large, in a spooled temp file inside the scan's private temp dir.

Every bad entry (a name with ``..`` or an absolute name, a device file, a declared size past the end of the archive
or beyond the limits, a compression ratio of a decompression bomb, a corrupt member) becomes a per-entry error and
the walk goes on where the format allows it. One member policy (:mod:`.policy`) judges the entries of every format;
one reader per format (:mod:`.tar`, :mod:`.zips`, :mod:`.ar`) turns its headers into what the policy judges.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from depfree.sources.archive.kinds import COMPRESSED, classify, is_java_class, is_tar_header
from depfree.sources.archive.limits import ArchiveError, Limits, parse_limits

if TYPE_CHECKING:
    from depfree.sources.archive.ar import ar_members, index_ar
    from depfree.sources.archive.policy import (
        KEEP_BUDGET,
        KEEP_CONTENT,
        KEEP_CONTENT_DIRS,
        KEEP_LIMIT,
        Sink,
        check_name,
        display_name,
        keep_limit,
    )
    from depfree.sources.archive.streams import STREAM_ERRORS, decompressed, peek_tar
    from depfree.sources.archive.tar import TarEntry, add_entry, index_tar, iter_tar
    from depfree.sources.archive.zips import index_zip, overlapping

# The readers are imported when first used (zipfile, tarfile and the decompressors cost ~10 ms): a scan of a tree of
# plain files needs only the kinds and the limits (issue 23: a verb imports what it needs).
_LAZY = {
    "ar_members": "ar", "index_ar": "ar",
    "KEEP_BUDGET": "policy", "KEEP_CONTENT": "policy", "KEEP_CONTENT_DIRS": "policy", "KEEP_LIMIT": "policy",
    "Sink": "policy", "check_name": "policy", "display_name": "policy", "keep_limit": "policy",
    "STREAM_ERRORS": "streams", "decompressed": "streams", "peek_tar": "streams",
    "TarEntry": "tar", "add_entry": "tar", "index_tar": "tar", "iter_tar": "tar",
    "index_zip": "zips", "overlapping": "zips",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(f"depfree.sources.archive.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'depfree.sources.archive' has no attribute {name!r}")


__all__ = [
    "COMPRESSED", "KEEP_BUDGET", "KEEP_CONTENT", "KEEP_CONTENT_DIRS", "KEEP_LIMIT", "STREAM_ERRORS", "ArchiveError",
    "Limits", "Sink", "TarEntry", "add_entry", "ar_members", "check_name", "classify", "decompressed", "display_name",
    "index_ar", "index_tar", "index_zip", "is_java_class", "is_tar_header", "iter_tar", "keep_limit", "overlapping",
    "parse_limits", "peek_tar",
]
