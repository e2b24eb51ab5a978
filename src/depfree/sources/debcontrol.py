"""The ``control`` file of a .deb (deb(5): an ar archive whose ``control.tar[.gz|.xz|.zst]`` holds ``./control``),
read in place: the package's name, version and architecture."""

from __future__ import annotations

import tarfile

from depfree.errors import FormatError
from depfree.sources.archive import COMPRESSED, Limits, ar_members, classify, decompressed
from depfree.sources.blob import Blob
from depfree.sources.dpkg import DpkgPackage, parse_status

MAX_CONTROL = 1 << 20


class _Quiet:
    limits = Limits()

    def error(self, name: str, message: str) -> None:
        raise FormatError(f"{name}: {message}")


def read_deb_control(path: str) -> DpkgPackage | None:
    """The stanza of ``./control`` in the .deb at ``path`` (None when it has no control member)."""
    blob = Blob.of_file(path)
    for name, body in ar_members(blob, _Quiet()):  # type: ignore[arg-type]
        if not name.startswith("control.tar"):
            continue
        kind = classify(body.head(512))
        if kind not in ("tar", *COMPRESSED):
            raise FormatError(f"{path}: {name}: expected a tar archive, found {body.head(4).hex(' ')}")
        stream = body.open() if kind == "tar" else decompressed(body, kind, Limits())
        with tarfile.open(fileobj=stream, mode="r|") as tf:
            for ti in tf:
                if ti.isfile() and ti.name.lstrip("./") == "control" and ti.size <= MAX_CONTROL:
                    fh = tf.extractfile(ti)
                    data = fh.read() if fh is not None else b""
                    found = parse_status(data.decode("utf-8", "replace"))
                    return found[0] if found else None
    return None

