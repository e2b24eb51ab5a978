"""A minimal Debian root filesystem made by Debian's own bootstrapper, and an image of it, cached under
``$DEPFREE_CACHE/roots`` (beside the toolchains, not among the fixtures: 180 MB of a whole system).

``debian_root(factory)`` is ``mmdebstrap --variant=minbase`` of this machine's release from this machine's apt
sources: every package unpacked and configured by dpkg itself, so ``/var/lib/dpkg`` (status, ``info/*.list``,
``*.shlibs``, ``*.symbols``) is what dpkg wrote. mmdebstrap rather than debootstrap: the same packages and the same
dpkg, in about 1.5 minutes cold instead of several (parallel downloads, no second stage), and it runs as root or in
a user namespace (``--mode=auto``). ``root_image(factory, tag)`` is that tree as an OCI layout (umoci) and a
docker-archive (skopeo); the ``nozstd`` tag adds a layer that deletes libzstd.so.1, which dpkg still lists."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from helpers.factory import Factory, cache_root, missing
from helpers.images import run

SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
ZSTD = "/usr/lib/x86_64-linux-gnu/libzstd.so.1"


@cache
def _roots() -> Factory:
    return Factory(cache_root() / "roots")


def _release() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    missing("/etc/os-release names no VERSION_CODENAME: not a Debian release to bootstrap")
    raise AssertionError("unreachable")


def _libc_candidate() -> str:
    out = subprocess.run(["apt-cache", "policy", "libc6"], capture_output=True, text=True, check=False).stdout
    return next((ln.split()[-1] for ln in out.splitlines() if "Candidate:" in ln), "")


def debian_root(factory: Factory) -> Path:
    tool = factory.require("mmdebstrap")
    if not SOURCES.is_file():
        missing(f"{SOURCES} is missing: mmdebstrap takes this machine's apt sources")
    release = _release()

    def build(out: Path) -> None:
        proc = subprocess.run([tool, "--variant=minbase", "--mode=auto", "--quiet",
                               "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                               "--dpkgopt=path-exclude=/usr/share/locale/*", release, str(out), str(SOURCES)],
                              capture_output=True, text=True, check=False, timeout=1200)
        if proc.returncode != 0:
            missing(f"mmdebstrap {release} failed: {proc.stderr[-2000:]}")

    return _roots().cached(("mmdebstrap", "minbase", release, _libc_candidate(), SOURCES.read_text()), build,
                           name="root")


def root_image(factory: Factory, tag: str = "base") -> dict[str, Path]:
    """``{"oci": the layout (tags ``base`` and ``nozstd``), "docker": the docker-archive of ``tag``}``."""
    tree = debian_root(factory)
    umoci, skopeo = factory.require("umoci"), factory.require("skopeo")

    def build(out: Path) -> None:
        layout = out / "layout"
        out.mkdir()
        run([umoci, "init", "--layout", str(layout)])
        run([umoci, "new", "--image", f"{layout}:empty"])
        bundle = out / "bundle"
        run([umoci, "unpack", "--image", f"{layout}:empty", str(bundle)])
        shutil.rmtree(bundle / "rootfs")
        dev = str(tree / "dev")  # device nodes (mmdebstrap's /dev/null, /dev/zero...): the runtime supplies /dev
        shutil.copytree(tree, bundle / "rootfs", symlinks=True, ignore=lambda d, names: names if d == dev else [])
        run([umoci, "repack", "--image", f"{layout}:base", str(bundle)])
        (bundle / "rootfs" / Path(ZSTD).relative_to("/")).unlink()
        run([umoci, "repack", "--image", f"{layout}:nozstd", str(bundle)])  # a layer with the whiteout
        shutil.rmtree(bundle)
        run([umoci, "rm", "--image", f"{layout}:empty"])
        for t in ("base", "nozstd"):
            run([skopeo, "copy", "--quiet", f"oci:{layout}:{t}", f"docker-archive:{out}/{t}.tar:depfree/debian:{t}"])

    got = _roots().cached(("debian-root-image", str(tree)), build, name="image")
    return {"oci": got / "layout", "docker": got / f"{tag}.tar"}
