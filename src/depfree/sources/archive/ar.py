"""Unix ar archives (``!<arch>``: static libraries, GNU and BSD long names) and Debian packages, whose
``data.tar.*`` member is the tree; members are byte ranges of the archive, judged by the member policy
(:mod:`.policy`)."""

from __future__ import annotations

from depfree.sources.archive.kinds import COMPRESSED, classify
from depfree.sources.archive.limits import ArchiveError
from depfree.sources.archive.policy import Member, Sink, admit, hand_over, member_name
from depfree.sources.archive.tar import index_tar
from depfree.sources.blob import Blob
from depfree.sources.fsview import FILE, IndexView

SYMBOL_TABLES = (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED")


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
        if data_at + size > blob.size:  # the next header cannot be found: the walk ends here
            sink.error(member_name(raw_name), f"declared size {size:,} bytes runs past the end of the archive "
                                              f"({blob.size:,} bytes): truncated or hostile")
            break
        body = blob.slice(data_at, size)
        if raw_name == b"//":
            longnames = body.read_at(0, min(size, 1 << 20))
        elif raw_name not in SYMBOL_TABLES:
            out.append(_named(raw_name, body, longnames))
        pos = data_at + size + (size & 1)
    return out


def _named(raw_name: bytes, body: Blob, longnames: bytes) -> tuple[str, Blob]:
    """A member's name (from the header, the GNU ``//`` table or, BSD, before its data) and its data."""
    if raw_name.startswith(b"#1/"):  # BSD: the name precedes the data
        n = int(raw_name[3:] or b"0") if raw_name[3:].isdigit() else 0
        return member_name(body.read_at(0, n).rstrip(b"\0")), body.slice(n, body.size - n)
    if raw_name.startswith(b"/") and raw_name[1:].isdigit():
        off = int(raw_name[1:])
        end = longnames.find(b"/\n", off)
        return member_name(longnames[off : end if end >= 0 else None]), body
    return member_name(raw_name).rstrip("/"), body


def index_ar(blob: Blob, sink: Sink, view: IndexView) -> str:
    """A .deb (its ``data.tar.*`` is the tree, shown with absolute paths) or a plain ar archive (its members are
    the files). Returns the container kind: ``deb`` or ``ar``."""
    members = ar_members(blob, sink)
    if "debian-binary" in (n for n, _ in members):
        _index_deb(members, sink, view)
        return "deb"
    for name, body in members:
        ok = admit(Member(name, FILE, size=body.size), sink, blob.size)
        if ok.node is None:
            continue
        if ok.read:
            hand_over(sink, ok.shown, ok.node, body.head(512), 0, body)
        view.add(ok.path, ok.node)
    return "ar"


def _index_deb(members: list[tuple[str, Blob]], sink: Sink, view: IndexView) -> None:
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
