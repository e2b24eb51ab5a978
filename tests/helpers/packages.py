"""Real packages downloaded in the test run with the registries' own clients and cached by the fixture factory:
``.deb`` files with ``apt-get download``, wheels with ``pip download`` (pinned versions, one platform each).

``deb(factory, "zstd")`` is the candidate version of Debian's zstd package; ``wheel(factory, "ruff==0.17.6",
"win_amd64")`` the wheel pip picks for that platform; ``npm(factory, "@esbuild/linux-x64@0.28.2")`` the tarball ``npm
pack`` fetches. Each returns the path of the downloaded file, under the name the registry gave it (a wheel's name
carries its tags)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers.factory import Factory, missing


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        missing(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-1500:]}")


def _only(d: Path, pattern: str) -> Path:
    found = sorted(d.glob(pattern))
    if len(found) != 1:
        raise RuntimeError(f"expected one {pattern} in {d}, found {[p.name for p in found]}")
    return found[0]


def deb(factory: Factory, name: str) -> Path:
    """``apt-get download NAME`` (the candidate version for this machine's architecture)."""
    apt = factory.require("apt-get")

    def build(out: Path) -> None:
        out.mkdir()
        _run([apt, "download", "-q", name], cwd=out)

    return _only(factory.cached(("apt-get download", name), build, name="debs"), f"{name}_*.deb")


def wheel(factory: Factory, requirement: str, platform: str, python: str = "3.11") -> Path:
    """``pip download --no-deps --only-binary :all: --platform PLATFORM REQUIREMENT``."""

    def build(out: Path) -> None:
        out.mkdir()
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "--platform",
              platform, "--python-version", python, "-d", str(out), requirement])

    return _only(factory.cached(("pip download", requirement, platform, python), build, name="wheels"), "*.whl")


def npm(factory: Factory, spec: str) -> Path:
    """``npm pack SPEC``: the package's own tarball, as ``npm install`` would unpack it (pin the version)."""
    tool = factory.require("npm")

    def build(out: Path) -> None:
        out.mkdir()
        _run([tool, "pack", "--silent", spec], cwd=out)

    return _only(factory.cached(("npm pack", spec), build, name="npm"), "*.tgz")
