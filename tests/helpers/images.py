"""Container images and archives for the scan tests, built with the standard tools and cached by the factory.

``oci_layout(factory)`` is one OCI image layout (built with umoci from real root filesystem directories) holding
these tags, each one layer more than the one before:

* ``static`` — a static Go binary alone at ``/app``;
* ``bare`` — a cgo Go binary alone at ``/app`` (no loader, no libc);
* ``glibc`` — ``bare`` plus a layer with the host's loader and libc.so.6;
* ``deleted`` — ``glibc`` plus a layer deleting libc.so.6 (umoci writes a ``.wh.`` whiteout);
* ``opaque`` — ``glibc`` plus a layer that makes ``/lib/x86_64-linux-gnu`` an opaque, empty directory.

``docker_archive(factory, tag)`` is that tag copied by skopeo into a ``docker save`` tarball.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from helpers.factory import Factory

LOADER = "/lib64/ld-linux-x86-64.so.2"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
TAGS = ("static", "bare", "glibc", "deleted", "opaque")


def run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def binaries(factory: Factory) -> tuple[Path, Path]:
    """(static Go binary, cgo Go binary)."""
    return factory.go("plain"), factory.go("nettool", cgo=True)


def oci_layout(factory: Factory) -> Path:
    static, cgo = binaries(factory)
    umoci = factory.require("umoci")
    host_loader = Path(LOADER).resolve()
    host_libc = Path(LIBC).resolve()

    def build(out: Path) -> None:
        work = out.parent / "work"
        layout = f"{out}"
        run([umoci, "init", "--layout", layout])
        run([umoci, "new", "--image", f"{layout}:empty"])

        def step(base: str, tag: str, change) -> None:  # type: ignore[no-untyped-def]
            bundle = work / tag
            run([umoci, "unpack", "--image", f"{layout}:{base}", str(bundle)])
            change(bundle / "rootfs")
            run([umoci, "repack", "--image", f"{layout}:{tag}", str(bundle)])
            shutil.rmtree(bundle)

        step("empty", "static", lambda root: shutil.copy2(static, root / "app"))
        step("empty", "bare", lambda root: shutil.copy2(cgo, root / "app"))

        def add_glibc(root: Path) -> None:
            for src, dst in ((host_loader, LOADER), (host_libc, LIBC)):
                target = root / dst.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)

        step("bare", "glibc", add_glibc)
        step("glibc", "deleted", lambda root: (root / LIBC.lstrip("/")).unlink())
        # umoci insert writes into the tag it is given: copy the tag first
        run([umoci, "tag", "--image", f"{layout}:glibc", "opaque"])
        empty = work / "empty-dir"
        empty.mkdir(parents=True)
        run([umoci, "insert", "--opaque", "--image", f"{layout}:opaque", str(empty), "/lib/x86_64-linux-gnu"])
        shutil.rmtree(work)

    return factory.cached(("oci-layout", static, cgo, host_loader.stat().st_size, host_libc.stat().st_size),
                          build, name="layout")


def oci_tar(factory: Factory) -> Path:
    layout = oci_layout(factory)

    def build(out: Path) -> None:
        with tarfile.open(out, "w") as tf:
            for p in sorted(layout.rglob("*")):
                tf.add(p, arcname=str(p.relative_to(layout)), recursive=False)

    return factory.cached(("oci-tar", layout), build, name="image-oci.tar")


def docker_archive(factory: Factory, tag: str) -> Path:
    layout = oci_layout(factory)
    skopeo = factory.require("skopeo")

    def build(out: Path) -> None:
        run([skopeo, "copy", "--quiet", f"oci:{layout}:{tag}", f"docker-archive:{out}:depfree/test:{tag}"])

    return factory.cached(("docker-archive", layout, tag), build, name=f"image-{tag}.tar")


def unpack(factory: Factory, tag: str) -> Path:
    """The tag's root filesystem unpacked by umoci: ground truth for what the image holds."""
    layout = oci_layout(factory)
    umoci = factory.require("umoci")

    def build(out: Path) -> None:
        run([umoci, "unpack", "--image", f"{layout}:{tag}", str(out)])

    return factory.cached(("unpacked", layout, tag), build, name="bundle") / "rootfs"
