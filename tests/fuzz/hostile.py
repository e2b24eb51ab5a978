"""Hostile archives and images, made in the test run: each function returns the bytes (or writes the tree) of one
input that a real tool would never write but an attacker (or a broken disk) may hand to ``depfree scan``.

The header fields are what is hostile; where a valid structure is needed around them it is written with Python's
``tarfile``/``zipfile``/``gzip`` (the same code path real archives come from), never copied from depfree.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path


def tar_of(members: list[tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def huge_declared_targz(declared: int = 1 << 62) -> bytes:
    """A .tar.gz whose one member declares ``declared`` bytes and holds none (71 bytes for 2^62)."""
    info = tarfile.TarInfo("big.bin")
    info.size = declared
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT), mtime=0)


def corrupt_header_mid_tar(members: list[tuple[str, bytes]], bad: int = 1) -> tuple[bytes, int]:
    """A tar whose ``bad``-th member header has a size field that is not octal (its checksum no longer adds up);
    returns the bytes and the offset of the corrupted header."""
    data = bytearray(tar_of(members, tarfile.USTAR_FORMAT))
    off = 0
    for _ in range(bad):
        size = int(data[off + 124 : off + 136].rstrip(b"\0 ") or b"0", 8)
        off += 512 + (size + 511) // 512 * 512
    data[off + 124 : off + 136] = b"zz" + b"\xff" * 9 + b"\0"
    return bytes(data), off


def hardlink_to_missing(app: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo("bin/app")
        info.size, info.mode = len(app), 0o755
        tf.addfile(info, io.BytesIO(app))
        link = tarfile.TarInfo("bin/ghost")
        link.type, link.linkname = tarfile.LNKTYPE, "bin/not-there"
        tf.addfile(link)
    return buf.getvalue()


def _deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _local_header(name: bytes, crc: int, csize: int, usize: int) -> bytes:
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, csize, usize, len(name), 0) + name


def overlapping_zip(n: int = 200, kernel: bytes = b"\x7fELF" + b"\0" * (1 << 20)) -> bytes:
    """Fifield's non-recursive overlap: member i's deflate stream quotes member i+1's local header in a stored
    block and then runs on into member i+1's data, so ``n`` entries share one kernel (a zip of ~``n`` KB)."""
    names = [f"bin/app{i:03d}".encode() for i in range(n)]
    comp = _deflate_raw(kernel)
    # from the last member back: each member's data is stored(next local header) + the next member's data
    usize, crc, csize = len(kernel), zlib.crc32(kernel), len(comp)
    headers: list[bytes] = [b""] * n
    sizes: list[tuple[int, int, int]] = [(0, 0, 0)] * n
    tail_plain, tail_comp = kernel, comp
    for i in range(n - 1, -1, -1):
        headers[i] = _local_header(names[i], crc, csize, usize)
        sizes[i] = (crc, csize, usize)
        if i:
            lh = headers[i]
            stored = struct.pack("<BHH", 0, len(lh), len(lh) ^ 0xFFFF)
            tail_plain = lh + tail_plain
            tail_comp = stored + lh + tail_comp
            usize, crc, csize = len(tail_plain), zlib.crc32(tail_plain), len(tail_comp)
    body = bytearray()
    offsets = []
    for i in range(n):
        offsets.append(len(body))
        body += headers[i]
        if i < n - 1:
            nxt = headers[i + 1]
            body += struct.pack("<BHH", 0, len(nxt), len(nxt) ^ 0xFFFF)
    body += comp
    central = bytearray()
    for i in range(n):
        crc_i, csize_i, usize_i = sizes[i]
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc_i, csize_i, usize_i,
                               len(names[i]), 0, 0, 0, 0, 0, offsets[i]) + names[i]
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), len(body), 0)
    return bytes(body + central + end)


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def deb_with_corrupt_zst(app: bytes) -> bytes:
    """A .deb whose data.tar.zst is cut and has garbage in the middle of its frame."""
    import zstandard

    data = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(tar_of([("./usr/bin/app", app)]))
    mid = len(data) // 2
    bad = data[:mid] + bytes(b ^ 0x5A for b in data[mid : mid + 64]) + data[mid + 64 :]
    control = gzip.compress(tar_of([("./control", b"Package: x\nVersion: 1\nArchitecture: amd64\n")]), mtime=0)
    return _ar([("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar.zst", bad)])


def oci_layout_tar(manifest: dict[str, object], blobs: dict[str, bytes] | None = None) -> bytes:
    """An OCI image layout in a tar, with ``manifest`` as its one image manifest (hostile fields allowed)."""
    files: dict[str, bytes] = dict(blobs or {})
    raw = json.dumps(manifest).encode()
    digest = hashlib.sha256(raw).hexdigest()
    files[f"blobs/sha256/{digest}"] = raw
    files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{digest}",
         "size": len(raw)}]}).encode()
    return tar_of(sorted(files.items()))


def oci_layers_as_object() -> bytes:
    return oci_layout_tar({"schemaVersion": 2, "config": {"digest": "sha256:" + "0" * 64},
                           "layers": {"digest": "sha256:" + "1" * 64}})


def compressible_binaries_tarxz(app: bytes, n: int = 300) -> bytes:
    """``n`` copies of a real binary, each one byte different (a release of many near-identical tools), in a
    tar.xz: above 500:1, a ratio a bomb check that judges the ratio alone would refuse."""
    import lzma

    raw = tar_of([(f"bin/app{i:03d}", app + i.to_bytes(2, "little")) for i in range(n)])
    return lzma.compress(raw, preset=1)


# name -> (file name, maker(app bytes) -> bytes): the hostile archives the fuzz run also mutates
HOSTILE: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "huge-declared": ("huge.tar.gz", lambda app: huge_declared_targz()),
    "corrupt-header": ("mid.tar", lambda app: corrupt_header_mid_tar([("a", app), ("b", b"x" * 700),
                                                                        ("c", app)])[0]),
    "hardlink-missing": ("link.tar", hardlink_to_missing),
    "overlap-zip": ("overlap.zip", lambda app: overlapping_zip(40, b"\x7fELF" + b"\0" * (64 << 10))),
    "deb-corrupt-zst": ("bad.deb", deb_with_corrupt_zst),
    "oci-layers-object": ("image.tar", lambda app: oci_layers_as_object()),
    "plain-tar": ("plain.tar", lambda app: tar_of([("bin/app", app)])),
    "plain-zip": ("plain.zip", lambda app: _zip_of([("bin/app", app)])),
    "plain-targz": ("plain.tar.gz", lambda app: gzip.compress(tar_of([("bin/app", app)]), mtime=0)),
}


def _zip_of(members: list[tuple[str, bytes]]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def write_all(dest: Path, app: bytes) -> dict[str, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, (name, make) in HOSTILE.items():
        p = dest / name
        p.write_bytes(make(app))
        out[key] = p
    return out
