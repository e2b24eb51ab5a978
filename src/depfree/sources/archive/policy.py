"""The member policy that every archive reader (tar, zip, ar) applies to each entry before it reads a byte of it.

A reader describes an entry as a :class:`Member` — its name, its type, its declared size and, where the format says,
its compressed size and where its data ends — and :func:`admit` judges it, in this order: the name (absolute, ``..``,
NUL, empty), the type (directories and symbolic links are recorded, a hard link's target is judged like a name,
devices and FIFOs are recorded as such and never read, other types are refused), the reader's own refusal (a tar
sparse map too large), the declared size (``max_member``), the compression ratio (``max_ratio`` past
``ratio_floor``), data that runs past the end of the archive, and a member the reader cannot decode (an encrypted zip
member). Each refusal is one per-entry error on the :class:`Sink`; the walk goes on. What survives is read by the
reader and handed over by :func:`hand_over`: to the sink when its first bytes say program or archive, and kept in the
index when the resolver needs its content later (:func:`keep_limit`).

Member names that are not UTF-8 leave as their own bytes (:func:`member_name`), as ``tarfile`` reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Protocol

from depfree.dataclass import dataclass
from depfree.sources.archive.kinds import classify
from depfree.sources.archive.limits import Limits
from depfree.sources.blob import Blob
from depfree.sources.fsview import DIR, FILE, OTHER, SYMLINK, Node, norm

HARDLINK = "hardlink"  # a Member type; in the index, a FILE node whose token is "hardlink" until it is resolved
DEVICE = "device"  # a character or block device or a FIFO: recorded, never read
UNSUPPORTED = "unsupported"  # a member type the readers do not know

# Files whose content the resolver needs later (the loader's search path), kept while streaming; and the files that
# name the distribution and the owner of each file (os-release, the dpkg database) for ``sbom``.
KEEP_CONTENT = ("/etc/ld.so.conf", "/etc/os-release", "/usr/lib/os-release", "/var/lib/dpkg/status")
KEEP_CONTENT_DIRS = ("/etc/ld.so.conf.d/", "/var/lib/dpkg/info/", "/var/lib/dpkg/status.d/")
KEEP_LIMIT = 64 * 1024
KEEP_LIMIT_DPKG = 16 << 20  # a status file of thousands of packages, the file list of a large package
KEEP_DPKG_INFO = (".list", ".shlibs", ".symbols")  # of var/lib/dpkg/info/, only these (not md5sums or scripts)
KEEP_BUDGET = 256 << 20  # all content kept from one archive or image together (a hostile image of huge lists)


class Sink(Protocol):
    """The scan side of a reader: where found members and per-entry errors go."""

    @property
    def limits(self) -> Limits: ...

    def error(self, name: str, message: str) -> None: ...

    def wants(self, kind: str) -> bool: ...

    def found(self, name: str, blob: Blob, kind: str) -> object: ...

    def capture(self, fh: IO[bytes], size: int) -> Blob: ...


@dataclass
class Member:
    """One archive entry as the policy judges it, whatever format it was read from."""

    name: str  # as the archive spells it
    type: str  # FILE, DIR, SYMLINK, HARDLINK, DEVICE or UNSUPPORTED
    size: int = 0  # the declared (uncompressed) size
    link: str = ""  # a symbolic or hard link's target
    what: str = ""  # DEVICE, UNSUPPORTED: what it is, in the words of the error ("character device", ...)
    refused: str | None = None  # the reader's own reason not to read it (a tar sparse map too large)
    packed: int | None = None  # its compressed size, when the format compresses members one by one (zip)
    data_end: int | None = None  # where its data ends in an archive read with random access
    unreadable: str | None = None  # why the reader cannot decode it once its sizes are fine (an encrypted member)


@dataclass
class Admitted:
    """What the index records for an entry, and whether the reader goes on to read its data."""

    path: str  # the normalised absolute path in the index
    shown: str  # the name errors and found members show
    node: Node | None  # None: the index records nothing
    read: bool = False  # a regular file that passed every check: read its first bytes


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


def member_name(raw: bytes) -> str:
    """A name as the archive stores it: UTF-8, with the bytes that are not leaving as their own (surrogateescape,
    as ``tarfile`` decodes tar names and as cli/streams.py writes file names)."""
    return raw.decode("utf-8", "surrogateescape")


def admit(m: Member, sink: Sink, archive_size: int, *, absolute_names: bool = False) -> Admitted:
    """Judge one entry (see the module docstring for the order); refusals go to ``sink.error``."""
    shown = norm(display_name(m.name)) if absolute_names else display_name(m.name)
    bad = check_name(m.name)
    if bad:
        sink.error(m.name, bad)
        return Admitted("", shown, None)
    path = norm(m.name)
    if m.type != FILE:
        return _special(m, sink, path, shown)
    refusal = m.refused or _size_refusal(m, sink.limits)
    if refusal:
        sink.error(shown, refusal)
        return Admitted(path, shown, Node(FILE, size=m.size))
    if m.data_end is not None and m.data_end > archive_size:
        if m.packed is not None:  # the compressed data is not there: nothing of the member to record
            sink.error(shown, f"member data runs past the end of the archive ({archive_size:,} bytes): skipped")
            return Admitted(path, shown, None)
        sink.error(shown, f"declared size {m.size:,} bytes runs past the end of the archive "
                          f"({archive_size:,} bytes): truncated or hostile, skipped")
        return Admitted(path, shown, Node(FILE, size=m.size))
    if m.unreadable:
        sink.error(shown, m.unreadable)
        return Admitted(path, shown, Node(FILE, size=m.size))
    return Admitted(path, shown, Node(FILE, size=m.size), read=True)


def _special(m: Member, sink: Sink, path: str, shown: str) -> Admitted:
    """Directories, links, devices and unknown types: recorded or refused, never read."""
    if m.type == DIR:
        return Admitted(path, shown, Node(DIR))
    if m.type == SYMLINK:
        return Admitted(path, shown, Node(SYMLINK, target=m.link))
    if m.type == HARDLINK:
        bad = check_name(m.link)
        if bad:
            sink.error(m.name, f"hard link target {m.link!r}: {bad}")
            return Admitted("", shown, None)
        return Admitted(path, shown, Node(FILE, target=norm(m.link), token="hardlink"))
    if m.type == DEVICE:
        sink.error(shown, f"{m.what} in archive: not a regular file, skipped")
        return Admitted(path, shown, Node(OTHER))
    sink.error(shown, f"unsupported {m.what}, skipped")
    return Admitted(path, shown, None)


def _size_refusal(m: Member, limits: Limits) -> str | None:
    """Why the declared size is refused: above ``max_member``, or a compression ratio of a bomb."""
    if m.size > limits.max_member:
        return f"declared size {m.size:,} bytes exceeds the limit of {limits.max_member:,} (max_member): skipped"
    if m.packed is not None and m.size > limits.ratio_floor and m.size > limits.max_ratio * max(1, m.packed):
        return (f"compression ratio {m.size // max(1, m.packed):,}:1 ({m.packed:,} -> {m.size:,} bytes) looks like "
                "a zip bomb: skipped")
    return None


def hand_over(sink: Sink, shown: str, node: Node, head: bytes, keep: int, member: Blob | Callable[[], Blob]) -> None:
    """A regular member whose first bytes are ``head``: a program or an archive the sink wants goes to
    ``sink.found`` (its token on the node), and the first ``keep`` bytes are kept on the node. ``member``: the
    member's bytes, or a function that gives them, called only when one of the two needs them."""
    kind = classify(head)
    if kind is not None and not sink.wants(kind):
        kind = None
    if kind is None and not keep:
        return
    blob = member if isinstance(member, Blob) else member()
    if keep:
        node.data = blob.read_at(0, keep)
    if kind is not None:
        node.token = sink.found(shown, blob, kind)


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
