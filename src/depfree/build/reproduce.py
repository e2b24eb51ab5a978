"""``--reproducible``: build a variant twice — in two different directories, with different GOPATHs, GOCACHEs and
source timestamps, one after the other — and say whether the two files are identical; when not, the section-level
diff of :mod:`depfree.build.diff` explains what differs in Go terms.

The first build uses depfree's shared GOCACHE, the second a separate one (``$DEPFREE_CACHE/gocache-repro``), so a
cached result of the first build can never stand in for the second."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from depfree.build.diff import BinaryDiff, diff_binaries
from depfree.build.runner import BuildResult, build_variant
from depfree.build.variants import Variant
from depfree.dataclass import dataclass, field
from depfree.sources.tree import entries
from depfree.toolchains import GoToolchain, cache_root

_IGNORE = shutil.ignore_patterns(".git", ".hg", ".svn", "node_modules")
TIME_SHIFT = 86400 * 400  # the second copy's sources are dated 400 days earlier


@dataclass
class Reproduction:
    variant: str
    identical: bool | None  # None when a build did not succeed
    dirs: tuple[str, str]
    builds: list[BuildResult] = field(default_factory=list)
    diff: BinaryDiff | None = None

    def to_json(self) -> dict[str, Any]:
        return {"variant": self.variant, "identical": self.identical, "dirs": list(self.dirs),
                "builds": [b.to_json() for b in self.builds],
                "causes": [c.to_json() for c in self.diff.causes] if self.diff else [],
                "sections": self.diff.sections if self.diff else []}


def _copy(module: Path, dest: Path, shift: int) -> Path:
    shutil.copytree(module, dest, ignore=_IGNORE, symlinks=True)
    if shift:
        now = time.time() - shift
        for _dir, files, _others in entries(str(dest), _unreadable):  # the one walk (no symlink followed)
            for f in files:
                os.utime(f.path, (now, now), follow_symlinks=False)
    return dest


def _unreadable(path: str, why: str) -> None:
    raise OSError(f"{path}: {why} (in the copy of the module made for the second build)")


def reproduce(v: Variant, tc: GoToolchain, module: Path, pkg: str, *, workdir: Path | None = None,
              extra_env: Mapping[str, str] | None = None) -> Reproduction:
    """Two builds of ``v``; ``workdir`` (default: a temporary directory, removed) keeps the two trees."""
    own = workdir is None
    base = Path(tempfile.mkdtemp(prefix="depfree-repro-")) if workdir is None else workdir
    try:
        name = module.name
        dir_a = _copy(module, base / "a" / name, 0)
        dir_b = _copy(module, base / "second-tree" / "b" / name, TIME_SHIFT)
        exe = Path(pkg.rstrip("/")).name if pkg not in (".", "./") else name
        env_a = {"GOPATH": str(base / "a" / "gopath")}
        env_b = {"GOPATH": str(base / "second-tree" / "gopath"), "GOCACHE": str(cache_root() / "gocache-repro")}
        first = build_variant(v, tc, dir_a, pkg, base / "out-a" / exe, base_env=env_a, extra_env=extra_env)
        second = build_variant(v, tc, dir_b, pkg, base / "out-b" / exe, base_env=env_b, extra_env=extra_env)
        rep = Reproduction(variant=v.name, identical=None, dirs=(str(dir_a), str(dir_b)), builds=[first, second])
        if first.status == "built" and second.status == "built":
            rep.diff = diff_binaries(first.path, second.path, dirs=rep.dirs)
            rep.identical = rep.diff.identical
        return rep
    finally:
        if own:
            shutil.rmtree(base, ignore_errors=True)
