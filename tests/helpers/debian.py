"""Real Debian packages and a Debian root filesystem made of them, for the sbom tests.

``debs(factory)`` downloads the packages with ``apt-get download`` (cached). ``rootfs(factory)`` unpacks them with
``dpkg-deb -x`` and writes the dpkg database dpkg itself would have written — ``var/lib/dpkg/status`` from each
package's control file (``dpkg-deb -f``) plus ``Status: install ok installed``, ``var/lib/dpkg/info/<pkg>[:<arch>]
.list`` from its file list (``dpkg-deb -c``) — so ``dpkg --admindir`` can answer ``dpkg -S`` on it. A cgo Go binary
is added at ``/usr/local/bin/nettool``. ``image(factory)`` is that tree as a one-layer docker-archive (umoci, skopeo).
(debootstrap would need the whole base system, several minutes cold; four packages take seconds.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from helpers.factory import Factory
from helpers.images import run

PACKAGES = ("libc6", "libgcc-s1", "gcc-12-base", "base-files")
APP = "/usr/local/bin/nettool"


def debs(factory: Factory, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    apt = factory.require("apt-get")

    def build(out: Path) -> None:
        out.mkdir()
        run([apt, "download", "-q", *packages], cwd=out)

    d = factory.cached(("apt-download", packages, _candidates(packages)), build, name="debs")
    return {p: next(d.glob(f"{p}_*.deb")) for p in packages}


def _candidates(packages: tuple[str, ...]) -> list[str]:
    """The versions apt would download now (part of the cache key: a point release gives new fixtures)."""
    out = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True, check=False).stdout
    return [line.split()[-1] for line in out.splitlines() if "Candidate:" in line]


def control(deb: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in run(["dpkg-deb", "-f", str(deb)]).splitlines():
        if line and not line[0].isspace() and ":" in line:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def file_list(deb: Path) -> list[str]:
    """The package's paths as dpkg records them (``/.``, ``/lib``, ``/lib/x86_64-linux-gnu/libc.so.6``)."""
    out = []
    for line in run(["dpkg-deb", "-c", str(deb)]).splitlines():
        name = line.split(None, 5)[5].split(" -> ", 1)[0]
        path = "/" + name.removeprefix("./").rstrip("/")
        out.append("/." if path == "/" else path)
    return out


def rootfs(factory: Factory) -> Path:
    packages = debs(factory)
    app = factory.go("nettool", cgo=True)

    def build(out: Path) -> None:
        out.mkdir()
        status = []
        info = out / "var/lib/dpkg/info"
        info.mkdir(parents=True)
        (info / "format").write_text("1\n")  # the multiarch database layout: <pkg>:<arch>.list for Multi-Arch: same
        for name, deb in sorted(packages.items()):
            run(["dpkg-deb", "-x", str(deb), str(out)])
            stanza = run(["dpkg-deb", "-f", str(deb)]).rstrip("\n").splitlines()
            stanza.insert(1, "Status: install ok installed")
            status.append("\n".join(stanza) + "\n")
            c = control(deb)
            list_name = f"{name}:{c['Architecture']}" if c.get("Multi-Arch") == "same" else name
            (info / f"{list_name}.list").write_text("\n".join(file_list(deb)) + "\n")
        (out / "var/lib/dpkg/status").write_text("\n".join(status))
        target = out / APP.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(app, target)

    return factory.cached(("debian-rootfs", 2, [str(p) for p in packages.values()], app), build, name="rootfs")


def dpkg_search(root: Path, path: str) -> str | None:
    """``dpkg -S`` against the tree's own database: the owning package name, or None."""
    proc = subprocess.run(["dpkg", f"--admindir={root}/var/lib/dpkg", "-S", path], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.split(":", 1)[0].strip() if proc.stdout else None


def image(factory: Factory) -> Path:
    tree = rootfs(factory)
    umoci, skopeo = factory.require("umoci"), factory.require("skopeo")

    def build(out: Path) -> None:
        layout = out.parent / "layout"
        run([umoci, "init", "--layout", str(layout)])
        run([umoci, "new", "--image", f"{layout}:debian"])
        bundle = out.parent / "bundle"
        run([umoci, "unpack", "--image", f"{layout}:debian", str(bundle)])
        shutil.copytree(tree, bundle / "rootfs", symlinks=True, dirs_exist_ok=True)
        run([umoci, "repack", "--image", f"{layout}:debian", str(bundle)])
        run([skopeo, "copy", "--quiet", f"oci:{layout}:debian", f"docker-archive:{out}:depfree/debian:sbom"])
        shutil.rmtree(bundle)

    return factory.cached(("debian-image", tree), build, name="debian.tar")
