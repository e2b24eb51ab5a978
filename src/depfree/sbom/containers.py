"""The component of a container as ``scan`` reports it: an image (digest, layers), a wheel (name, version, tag), a
.deb (name, version, arch), any other archive or tree (its sha256 when it is a file)."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from depfree.model_verdicts import ContainerRecord, ImageRecord
from depfree.sbom import purls
from depfree.sbom.model import APPLICATION, CONTAINER, FILE, LIBRARY, Component
from depfree.sources.dpkg import DpkgPackage

WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<tag>[^-]+-[^-]+-[^-]+)\.whl$")


def container_component(c: ContainerRecord, shown: str) -> Component:
    """``c`` is a scan result's ``container``; ``shown`` its path as the document names it."""
    path, kind = c.path, c.kind
    name = os.path.basename(path.rstrip("/")) or path
    props = [("depfree:container.kind", kind), ("depfree:container.files", str(c.files))]
    image = c.image
    if image is not None:
        return image_component(shown, name, image, props)
    comp = Component(ref=f"container:{shown}", kind=FILE if kind in ("tar", "zip", "ar") else APPLICATION,
                     name=name, key=f"container:{kind}", properties=props)
    if "!" not in path and os.path.isfile(path):
        comp.sha256 = sha256_file(path)
    wheel = WHEEL.match(name) if kind == "zip" else None
    if wheel:
        comp.kind, comp.name, comp.version = LIBRARY, wheel["name"], wheel["version"]
        comp.purl = purls.pypi(wheel["name"], wheel["version"])
        comp.key = f"pypi:{comp.name.lower()}"
        props.append(("depfree:wheel.tag", wheel["tag"]))
    if kind == "deb" and "!" not in path:
        control = _deb_control(path)
        if control is not None:
            comp.kind, comp.name, comp.version = APPLICATION, control.package, control.version
            comp.purl = purls.deb(control.package, control.version, control.architecture)
            comp.key = f"deb:{control.package}"
            props.append(("depfree:deb.architecture", control.architecture))
    return comp


def image_component(path: str, name: str, image: ImageRecord, props: list[tuple[str, str]]) -> Component:
    config = image.config or ""
    digest = image.manifest or ""
    if not digest and re.fullmatch(r"[0-9a-f]{64}(\.json)?", posixpath.basename(config)):
        digest = "sha256:" + posixpath.basename(config)[:64]  # docker save: the config's name is the image ID
    shown = image.name or ""
    if "/" in shown or ":" in shown:  # a reference: [registry/]repository[:tag]
        repo, _, tag = shown.rpartition(":") if ":" in shown.rsplit("/", 1)[-1] else (shown, "", "")
    else:  # an OCI layout's ref name is a tag of the layout itself
        repo, tag = "", shown
    base = repo.rsplit("/", 1)[-1] if repo else posixpath.basename(path.split("!")[-1].split("@")[0].rstrip("/"))
    if shown:
        props.append(("depfree:image.name", shown))
    if config:
        props.append(("depfree:image.config", config))
    for layer in image.layers:
        lname = layer.name
        m = re.search(r"[0-9a-f]{64}", lname)
        ldigest = lname if lname.startswith("sha256:") else (f"sha256:{m.group(0)}" if m else lname)
        props.append(("depfree:image.layer", f"{layer.layer} {ldigest}"))
    return Component(ref=f"container:{path}", kind=CONTAINER, name=base or name,
                     key=f"image:{repo or base or name}", version=digest or tag,
                     purl=purls.oci(base or name, digest, repo if "/" in repo else "", tag) if digest else None,
                     properties=props)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _deb_control(path: str) -> DpkgPackage | None:
    """The package stanza of a .deb's ``control.tar.*`` (None when unreadable: scan reported the broken .deb)."""
    from depfree.sources.blob import Blob
    from depfree.sources.dpkg import DebError, package_of, read_deb_control

    try:
        return package_of(read_deb_control(Blob.of_file(path)).fields)
    except (DebError, OSError):
        return None
