"""Container images read in place: an OCI image layout (a directory or a tar of one) and a ``docker save`` tarball.

Layers are applied in order onto one :class:`IndexView` without extracting anything: a ``.wh.NAME`` entry deletes
``NAME`` (and everything under it) from the layers below, a ``.wh..wh..opq`` entry empties its directory of what the
layers below put there. Each layer is streamed once; its blob digest is checked as it is read.
"""

from __future__ import annotations

import json
import os
import platform
import posixpath
import tarfile
from collections.abc import Callable
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.model_verdicts import LayerFacts
from depfree.sources.archive import (
    COMPRESSED,
    STREAM_ERRORS,
    ArchiveError,
    Sink,
    TarEntry,
    add_entry,
    classify,
    iter_tar,
)
from depfree.sources.blob import Blob
from depfree.sources.fsview import IndexView, norm
from depfree.sources.targuard import open_tar

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_JSON = 8 << 20
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


@dataclass
class Layer:
    name: str  # the digest, or the path of the layer in a docker-save tarball
    blob: Blob
    digest: str | None = None


@dataclass
class Image:
    """One image of an archive: its name (tag), its layers bottom-up, and where it came from."""

    kind: str  # oci | docker-archive
    name: str | None
    layers: list[Layer]
    config: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


BlobGetter = Callable[[str], "Blob | None"]


# ---- finding the images -------------------------------------------------------------------------------------------

def tar_blobs(blob: Blob) -> dict[str, Blob] | None:
    """Every regular member of a plain tar as a byte range (symlinked members resolved), or None when not a tar."""
    members: dict[str, tarfile.TarInfo] = {}
    try:
        with blob.open() as fh, open_tar(fh, seekable=True) as tf:
            for i, ti in enumerate(tf):
                if i > 100_000:
                    break
                members[norm(ti.name).lstrip("/")] = ti
    except STREAM_ERRORS:
        return None
    out: dict[str, Blob] = {}
    for name, ti in members.items():
        target, hops = ti, 0
        while target.issym() or target.islnk():
            hops += 1
            ref = target.linkname if target.islnk() else posixpath.join(posixpath.dirname(name), target.linkname)
            nxt = members.get(norm(ref).lstrip("/"))
            if nxt is None or hops > 40:
                break
            target = nxt
        if target.isreg() and target.offset_data + target.size <= blob.size:
            out[name] = blob.slice(target.offset_data, target.size)
    return out


def dir_blobs(root: str) -> BlobGetter:
    real_root = os.path.realpath(root)

    def get(name: str) -> Blob | None:
        path = os.path.realpath(os.path.join(real_root, norm(name).lstrip("/")))
        if not path.startswith(real_root + os.sep) or not os.path.isfile(path):
            return None
        return Blob.of_file(path)

    return get


def is_image_dir(root: str) -> bool:
    return os.path.isfile(os.path.join(root, "oci-layout")) and os.path.isfile(os.path.join(root, "index.json"))


def is_image_tar(names: set[str] | dict[str, Blob]) -> bool:
    return ("oci-layout" in names and "index.json" in names) or "manifest.json" in names


def read_json(get: BlobGetter, name: str) -> Any:
    blob = get(name)
    if blob is None:
        raise ArchiveError(f"{name}: missing from the image")
    if blob.size > MAX_JSON:
        raise ArchiveError(f"{name}: {blob.size:,} bytes, larger than any real manifest: refused")
    try:
        return json.loads(blob.read_at(0, blob.size))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{name}: not valid JSON ({exc})") from None


def find_images(get: BlobGetter, names: set[str] | dict[str, Blob]) -> list[Image]:
    """The images described by ``manifest.json`` (docker save) or ``index.json`` (OCI layout)."""
    if "manifest.json" in names:
        return _docker_images(get)
    return _oci_images(get)


def _docker_images(get: BlobGetter) -> list[Image]:
    manifest = read_json(get, "manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError("manifest.json: expected a list of images, found none")
    images = []
    for i, entry in enumerate(manifest):
        if not isinstance(entry, dict) or not isinstance(entry.get("Layers"), list):
            raise ArchiveError(f"manifest.json: entry {i} has no 'Layers' list")
        layers = []
        for name in entry["Layers"]:
            if not isinstance(name, str):
                raise ArchiveError(f"manifest.json: entry {i} has a layer that is not a path ({name!r:.40})")
            blob = get(str(name))
            if blob is None:
                raise ArchiveError(f"manifest.json: layer {name} is missing from the archive")
            digest = _digest_from_path(str(name))
            layers.append(Layer(str(name), blob, digest))
        raw_tags = entry.get("RepoTags")
        tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
        config = entry.get("Config") if isinstance(entry.get("Config"), str) else None
        images.append(Image("docker-archive", str(tags[0]) if tags else None, layers, config,
                            {"tags": [str(t) for t in tags]}))
    return images


def _digest_from_path(name: str) -> str | None:
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and len(parts[2]) == 64:
        return f"{parts[1]}:{parts[2]}"
    return None


def _blob_name(digest: str) -> str:
    alg, _, hexd = digest.partition(":")
    if not alg or not hexd or "/" in hexd or ".." in hexd:
        raise ArchiveError(f"malformed digest {digest!r}")
    return f"blobs/{alg}/{hexd}"


def _oci_images(get: BlobGetter) -> list[Image]:
    index = read_json(get, "index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list) or not index["manifests"]:
        raise ArchiveError("index.json: expected a 'manifests' list, found none")
    images = []
    for desc in _dicts(index["manifests"], "index.json: 'manifests'"):
        manifest, digest = _image_manifest(get, desc, 0)
        raw_annotations = desc.get("annotations")
        annotations: dict[str, Any] = raw_annotations if isinstance(raw_annotations, dict) else {}
        name = annotations.get("org.opencontainers.image.ref.name") or annotations.get("io.containerd.image.name")
        name = None if name is None else str(name)
        layers = []
        for layer in _dicts(manifest.get("layers") or [], f"{digest}: 'layers'"):
            ldigest = str(layer.get("digest", ""))
            blob = get(_blob_name(ldigest))
            if blob is None:
                raise ArchiveError(f"layer {ldigest} is missing from the image's blobs")
            layers.append(Layer(ldigest, blob, ldigest))
        raw_cfg = manifest.get("config")
        cfg: dict[str, Any] = raw_cfg if isinstance(raw_cfg, dict) else {}
        images.append(Image("oci", name, layers, None if cfg.get("digest") is None else str(cfg["digest"]),
                            {"manifest": digest}))
    return images


def _dicts(value: Any, what: str) -> list[dict[str, Any]]:
    """A JSON list of objects, as the image specs require; anything else is a clear error."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        found = type(value).__name__ if not isinstance(value, list) else "a list holding something else"
        raise ArchiveError(f"{what}: expected a list of objects, found {found}")
    return value


def _image_manifest(get: BlobGetter, desc: dict[str, Any], depth: int) -> tuple[dict[str, Any], str]:
    if depth > 4:
        raise ArchiveError("image index nested too deep")
    digest = str(desc.get("digest", ""))
    doc = read_json(get, _blob_name(digest))
    if not isinstance(doc, dict):
        raise ArchiveError(f"{digest}: not a manifest")
    if doc.get("mediaType") in INDEX_TYPES or ("manifests" in doc and "layers" not in doc):
        entries = _dicts(doc.get("manifests") or [], f"{digest}: 'manifests'")
        if not entries:
            raise ArchiveError(f"{digest}: an empty image index")
        return _image_manifest(get, _pick_platform(entries), depth + 1)
    return doc, digest


def _pick_platform(entries: list[dict[str, Any]]) -> dict[str, Any]:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    for want in (("linux", machine), ("linux", "amd64")):
        for e in entries:
            raw_platform = e.get("platform")
            p: dict[str, Any] = raw_platform if isinstance(raw_platform, dict) else {}
            if (p.get("os"), p.get("architecture")) == want:
                return e
    return entries[0]


# ---- applying layers ----------------------------------------------------------------------------------------------

def apply_layers(image: Image, sink: Sink, view: IndexView, on_layer: Callable[[int, Layer], None] | None = None
                 ) -> list[LayerFacts]:
    """Apply the layers bottom-up onto ``view``; returns per-layer facts (entries, whiteouts, digest check)."""
    facts: list[LayerFacts] = []
    for i, layer in enumerate(image.layers):
        if on_layer:
            on_layer(i, layer)
        facts.append(_apply_layer(i, layer, sink, view))
    return facts


def _apply_layer(i: int, layer: Layer, sink: Sink, view: IndexView) -> LayerFacts:
    kind = classify(layer.blob.head(512))
    info = LayerFacts(layer=i, name=layer.name, size=layer.blob.size)
    if kind not in ("tar", *COMPRESSED):
        if layer.blob.size == 0:
            info.entries = 0
            return info
        sink.error(f"layer {i} ({layer.name})", f"not a tar layer (found {layer.blob.head(4).hex(' ')}): skipped")
        info.error = "not a tar layer"
        return info
    entries: list[TarEntry] = []
    whiteouts: list[str] = []
    opaque: list[str] = []
    try:
        for entry in iter_tar(layer.blob, kind, sink, absolute_names=True):
            base = posixpath.basename(entry.path)
            if base == OPAQUE:
                opaque.append(posixpath.dirname(entry.path))
            elif base.startswith(WHITEOUT):
                whiteouts.append(posixpath.join(posixpath.dirname(entry.path), base[len(WHITEOUT):]))
            else:
                entries.append(entry)
    except ArchiveError as exc:
        sink.error(f"layer {i} ({layer.name})", str(exc))
        info.error = str(exc)
    # Whiteouts and opaque markers hide what the layers below hold, never what this layer adds.
    for d in opaque:
        view.clear_dir(d)
    for w in whiteouts:
        view.remove(w)
    for entry in entries:
        add_entry(view, entry, sink)
    info.entries, info.whiteouts, info.opaque = len(entries), len(whiteouts), len(opaque)
    if layer.digest and layer.digest.startswith("sha256:") and info.error is None:
        actual = "sha256:" + layer.blob.sha256()
        info.digest_ok = actual == layer.digest
        if actual != layer.digest:
            sink.error(f"layer {i} ({layer.name})", f"blob digest is {actual}, the manifest says {layer.digest}: "
                                                    "corrupt or tampered layer")
    return info


