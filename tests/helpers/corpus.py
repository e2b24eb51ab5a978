"""A small corpus of real third-party binaries, fetched in the test run from the registries the project can reach
(Debian packages with ``apt-get download``, PyPI wheels with ``pip download``, npm packages with ``npm pack``) and
cached under ``$DEPFREE_CACHE/fixtures`` like the toolchains: downloaded once, under a file lock, unpacked, renamed
into place atomically (``Factory.cached``).

``corpus_file(factory, "busybox")`` returns the path of one binary of the corpus. PyPI and npm items are pinned to a
version; Debian items take the candidate version ``apt-cache policy`` names (the archive keeps only the current
one), which is part of the cache key. The whole corpus is about 110 MB; a cold download takes seconds to a minute.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from helpers.factory import Factory, missing


@dataclass(frozen=True)
class Item:
    """One binary of the corpus: where it comes from (``kind`` deb | wheel | npm, ``spec``) and its path inside."""

    kind: str
    spec: str
    member: str
    platform: str = ""  # wheels: the pip --platform tag
    what: str = ""  # what it is an example of


CORPUS: dict[str, Item] = {
    # Debian packages (C, Go, Rust)
    "tmux": Item("deb", "tmux", "usr/bin/tmux", what="C, dynamic glibc, FORTIFY, ncurses version needs"),
    "ssh": Item("deb", "openssh-client", "usr/bin/ssh", what="C, FORTIFY, gssapi_krb5_2_MIT version need"),
    "busybox": Item("deb", "busybox-static", "bin/busybox", what="C, static glibc, stripped, canaries"),
    "shfmt": Item("deb", "shfmt", "usr/bin/shfmt", what="Go, CGO_ENABLED=1 with no C code linked, static"),
    "age-keygen": Item("deb", "age", "usr/bin/age-keygen", what="Go, CGO_ENABLED=1, internal link, no C code"),
    "etcd": Item("deb", "etcd-server", "usr/bin/etcd", what="Go with cgo, go.etcd.io/… packages"),
    "rg": Item("deb", "ripgrep", "usr/bin/rg", what="Rust, dynamic glibc"),
    # PyPI wheels
    "ruff-musl": Item("wheel", "ruff==0.17.6", "ruff-0.17.6.data/scripts/ruff", "musllinux_1_2_x86_64",
                      what="Rust, static-pie musl, stripped"),
    "ruff-win": Item("wheel", "ruff==0.17.6", "ruff-0.17.6.data/scripts/ruff.exe", "win_amd64",
                     what="Rust/MSVC PE"),
    "ruff-mac": Item("wheel", "ruff==0.17.6", "ruff-0.17.6.data/scripts/ruff", "macosx_10_12_x86_64",
                     what="Rust Mach-O"),
    "task-linux": Item("wheel", "go-task-bin==3.54.0", "go_task_bin-3.54.0.data/scripts/task",
                       "manylinux_2_28_x86_64", what="Go, CGO_ENABLED=0, static"),
    "task-win": Item("wheel", "go-task-bin==3.54.0", "go_task_bin-3.54.0.data/scripts/task.exe", "win_amd64",
                     what="Go PE, runtime-loaded DLLs"),
    "numpy-operand-flag": Item("wheel", "numpy==2.5.5", "numpy/_core/_operand_flag_tests.cpython-312-x86_64-linux-gnu.so",
                               "manylinux_2_28_x86_64", what="Python extension with no DT_NEEDED"),
    "numpy-struct-ufunc": Item("wheel", "numpy==2.5.5",
                               "numpy/_core/_struct_ufunc_tests.cpython-312-x86_64-linux-gnu.so",
                               "manylinux_2_28_x86_64", what="Python extension with no DT_NEEDED"),
    "numpy-multiarray": Item("wheel", "numpy==2.5.5",
                             "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so",
                             "manylinux_2_28_x86_64", what="C extension with FORTIFY"),
    # npm per-platform packages (Go, built with -s -w)
    "esbuild-linux": Item("npm", "@esbuild/linux-x64@0.28.2", "package/bin/esbuild", what="Go ELF, static"),
    "esbuild-darwin": Item("npm", "@esbuild/darwin-x64@0.28.2", "package/bin/esbuild", what="Go Mach-O built with -s"),
    "esbuild-win": Item("npm", "@esbuild/win32-x64@0.28.2", "package/esbuild.exe", what="Go PE"),
}

_TIMEOUT = 600


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        missing(f"{' '.join(cmd)}: {exc}")
        raise
    if proc.returncode != 0:
        missing(f"{' '.join(cmd)} failed: {proc.stderr[-1500:]}")


@cache
def debian_version(package: str) -> str:
    """The candidate version of a Debian package (``apt-cache policy``), the one ``apt-get download`` fetches."""
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, check=False,
                         env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}).stdout
    for line in out.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return version
    missing(f"apt-cache policy {package}: no candidate version (run apt-get update)")
    raise AssertionError("unreachable")


def _fetch_deb(package: str, version: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        _run(["apt-get", "download", f"{package}={version}"], Path(tmp))
        debs = list(Path(tmp).glob("*.deb"))
        if len(debs) != 1:
            missing(f"apt-get download {package}: expected one .deb, found {len(debs)}")
        out.mkdir()
        _run(["dpkg-deb", "-R", str(debs[0]), str(out)], Path(tmp))  # the files and DEBIAN/control


def _fetch_wheel(spec: str, platform: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "--platform", platform, "-d", tmp, spec]
        if "numpy" in spec:  # an extension wheel: one CPython ABI
            cmd[-1:-1] = ["--python-version", "3.12", "--implementation", "cp"]
        _run(cmd, Path(tmp))
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            missing(f"pip download {spec} ({platform}): expected one wheel, found {len(wheels)}")
        out.mkdir()
        with zipfile.ZipFile(wheels[0]) as zf:
            zf.extractall(out)
        for p in out.rglob("*"):  # zipfile drops the mode bits; the tests never run these files
            if p.is_file():
                p.chmod(0o644)


def _fetch_npm(spec: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        _run(["npm", "pack", "--silent", spec], Path(tmp))
        tgz = list(Path(tmp).glob("*.tgz"))
        if len(tgz) != 1:
            missing(f"npm pack {spec}: expected one .tgz, found {len(tgz)}")
        out.mkdir()
        with tarfile.open(tgz[0]) as tf:
            tf.extractall(out, filter="data")


def corpus_dir(factory: Factory, item: Item) -> Path:
    """The unpacked package an item comes from, downloaded once."""
    if item.kind == "deb":
        version = debian_version(item.spec)
        return factory.cached(("corpus-deb-R", item.spec, version),
                              lambda out: _fetch_deb(item.spec, version, out), name="root")
    if item.kind == "wheel":
        return factory.cached(("corpus-wheel", item.spec, item.platform),
                              lambda out: _fetch_wheel(item.spec, item.platform, out), name="root")
    if item.kind == "npm":
        return factory.cached(("corpus-npm", item.spec), lambda out: _fetch_npm(item.spec, out), name="root")
    raise ValueError(f"unknown corpus item kind {item.kind!r}")


def deb_control(factory: Factory, name: str) -> dict[str, str]:
    """The DEBIAN/control fields of a Debian corpus item (``Built-Using`` names a static libc's source package)."""
    item = CORPUS[name]
    assert item.kind == "deb", f"{name} is not a Debian package"
    fields: dict[str, str] = {}
    key = ""
    for line in (corpus_dir(factory, item) / "DEBIAN" / "control").read_text().splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def corpus_file(factory: Factory, name: str) -> Path:
    """The path of one binary of the corpus (see :data:`CORPUS`)."""
    item = CORPUS[name]
    path = corpus_dir(factory, item) / item.member
    if not path.is_file():
        missing(f"corpus item {name}: {item.member} is not in {item.spec}")
    return path


# --- Zig (PyPI ziglang): a musl C toolchain without rustup targets ---------------------------------------------------
ZIGLANG = "ziglang==0.17.0"


def zig(factory: Factory) -> Path:
    """The zig compiler from the ``ziglang`` wheel (downloaded once, not installed into the venv)."""
    def fetch(out: Path) -> None:
        _fetch_wheel(ZIGLANG, "manylinux_2_12_x86_64", out)
        (out / "ziglang" / "zig").chmod(0o755)

    root = factory.cached(("zig", ZIGLANG), fetch, name="root")
    return root / "ziglang" / "zig"


def zig_cc(factory: Factory, source: Path, target: str = "x86_64-linux-musl", flags: tuple[str, ...] = ("-O2",)) -> Path:
    """``zig cc -target <target>`` of one C file; zig's own cache (musl built from source on first use, about a
    minute) lives in the fixture cache too."""
    compiler = zig(factory)
    cache_dir = factory.root / "zig-global-cache"

    def build(out: Path) -> None:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(cache_dir), "ZIG_GLOBAL_CACHE_DIR": str(cache_dir),
               "ZIG_LOCAL_CACHE_DIR": str(cache_dir / "local")}
        proc = subprocess.run([str(compiler), "cc", "-target", target, *flags, "-o", str(out), str(source)],
                              capture_output=True, text=True, check=False, env=env, timeout=_TIMEOUT)
        if proc.returncode != 0:
            missing(f"zig cc -target {target} {source.name} failed: {proc.stderr[-1500:]}")

    return factory.cached(("zig-cc", ZIGLANG, source.read_bytes().hex(), target, flags), build, name=source.stem)


def stripped(factory: Factory, binary: Path) -> Path:
    """``strip --strip-all`` of a copy (binutils)."""
    def build(out: Path) -> None:
        proc = subprocess.run(["strip", "--strip-all", "-o", str(out), str(binary)], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            missing(f"strip {binary}: {proc.stderr[-500:]}")

    return factory.cached(("strip-all", binary), build, name=binary.name)
