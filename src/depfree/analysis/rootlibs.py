"""Libraries of a root filesystem read on demand (``--root``): only what the loader's search needs — class,
machine, NEEDED, RPATH, RUNPATH — so a library's own dependencies are followed as ld.so would, without analysing
(or ever running) anything else."""

from __future__ import annotations

from collections.abc import Callable

from depfree.analysis.context import Context, Options
from depfree.analysis.identity import analyze_linkage, identity
from depfree.errors import DepfreeError
from depfree.model import Binary
from depfree.sources.fsview import DirView

MAX_LIBRARIES = 4096


def library_loader(view: DirView, skip: Callable[[str], bool] | None = None) -> Callable[[str], Binary | None]:
    """A cached ``path -> Binary`` reading the ELF at ``path`` inside ``view`` (None if it is not one)."""
    from depfree.formats.detect import open_executables
    from depfree.sources.file import FileSource

    cache: dict[str, Binary | None] = {}

    def load(path: str) -> Binary | None:
        if path in cache:
            return cache[path]
        got: Binary | None = None
        if len(cache) < MAX_LIBRARIES and not (skip and skip(path)):
            try:
                with FileSource(view.host_path(path)) as src:
                    exes = open_executables(src)
                    if exes and exes[0].format == "elf":
                        got = identity(exes[0], path, "")
                        analyze_linkage(Context(exe=exes[0], binary=got, options=Options()))
            except (DepfreeError, OSError, ValueError):
                got = None
        cache[path] = got
        return got

    return load
