"""``scan``: every executable in files, directory trees, archives and container images, with what each needs resolved
inside its own package or image, and the release's checksum manifest verified.

How a scan runs:

* Inputs are read one after another in the main process. A directory is walked (symlinks not followed), an archive
  or image is read in place (``sources/``); members are recognised as executables or nested archives by magic.
* Each executable is analysed by the same pipeline as ``inspect``, in a pool of worker processes (``jobs``; 1 runs
  everything here). A content-hash cache (sha256, and the inode first for files on disk) means identical files — hard
  links, the same layer twice, the same binary in two archives — are analysed once.
* At most a few tasks per worker are in flight and member bytes above ``Limits.spool_over`` wait in a temp file in a
  private directory, so memory stays bounded however large the image.
* When a container's analyses are in, each binary's ``resolution`` is computed against the container's filesystem
  view (``analysis/resolution.py``) and the container is emitted; containers come out in input order.

Modules: ``worker.py`` (what a pool process runs), ``spool.py`` (member bytes in memory or a temp file),
``engine.py`` (pool, content cache, in-flight bound), ``container.py`` (resolution and record of one container),
``inputs.py`` (the dispatcher over files, trees, archives and images); this file is the public API.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from depfree.model import Report
from depfree.options import Options
from depfree.scan.container import KINDS_ROOTFS, Container, Member
from depfree.scan.engine import SCAN_GC_THRESHOLD, Engine, Executor, GcThreshold, Progress, Task
from depfree.scan.inputs import Scanner, ScanResult
from depfree.scan.spool import capture
from depfree.scan.worker import Indexed, analyse_blob, index_archive, index_into
from depfree.sources import checksums as checksums_mod
from depfree.sources.archive import Limits

__all__ = ["KINDS_ROOTFS", "Container", "Engine", "Executor", "Indexed", "Member", "Progress", "ScanResult",
           "Scanner", "Task", "analyse_blob", "capture", "index_archive", "index_into", "iter_scan", "scan"]


def iter_scan(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, jobs: int | None = None,
              depth: int = 1, checksums: str | os.PathLike[str] | None = None, options: Options | None = None,
              progress: Progress | None = None, limits: Limits | None = None,
              root: str | os.PathLike[str] | None = None, executor: Executor | None = None,
              shlibs: dict[str, tuple[str, str]] | None = None) -> Iterator[ScanResult]:
    """The containers of :func:`scan` one by one, in input order, as soon as each is complete. Inputs that cannot be
    read come out as a :class:`ScanResult` with no container (``container is None``) and the error. ``root``: judge
    every binary as unpacked onto that root filesystem (libraries, interpreter and files looked up there).
    ``executor`` replaces the local pool (see :class:`Executor`). ``shlibs``: the sonames the .debs of the whole
    scan map (``sources.dpkg.deb_shlibs``; default: read from ``paths``), for a part of a scan run elsewhere.
    Without ``options`` no sha256 is computed (a binary's ``sha256`` is None); ``options=Options(hash=True, ...)`` asks
    for it."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if checksums is not None:
        checksums_mod.parse_manifest(os.fspath(checksums))  # a bad --checksums is a usage error, raised now
    inputs = [os.fspath(p) for p in paths]
    if root is not None and not os.path.isdir(root):
        from depfree.errors import UsageError

        raise UsageError(f"--root {os.fspath(root)}: expected a directory (a root filesystem), found "
                         f"{'a file' if os.path.exists(root) else 'nothing'}")
    # The results pile up here: collect less often meanwhile (set before the workers are forked: theirs too)
    collections = GcThreshold(SCAN_GC_THRESHOLD)
    try:
        engine = Engine(jobs, options or Options(hash=False), limits or Limits(), progress, executor)
    except BaseException:
        collections.restore()
        raise
    engine.root = os.path.abspath(os.fspath(root)) if root is not None else None
    scanner = Scanner(engine, max(0, depth), os.fspath(checksums) if checksums is not None else None)
    try:
        if shlibs is None:
            scanner.read_shlibs(inputs)
        else:
            engine.deb_shlibs.update(shlibs)
        for i, p in enumerate(inputs):
            scanner.read_input(p)
            engine.ship()  # the last files of this input go to the pool now, not with the next input's
            scanner.reading = i + 1 < len(inputs)
            yield from scanner.ready()
        yield from scanner.drain()
    finally:
        engine.close()
        collections.restore()


def scan(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, jobs: int | None = None,
         depth: int = 1, checksums: str | os.PathLike[str] | None = None, options: Options | None = None,
         progress: Progress | None = None, root: str | os.PathLike[str] | None = None) -> Report:
    """Scan files, directories, archives (tar/gz/bz2/xz/zst, zip, deb) and images (OCI layout, docker save) and
    report every executable in them, each with ``resolution`` against its own container; ``report.containers``
    describes each container (see docs/scan.md). Bad inputs and bad entries go to ``report.errors``."""
    from depfree.api import tool_info

    report = Report(tool=tool_info(), containers=[])
    for res in iter_scan(paths, jobs=jobs, depth=depth, checksums=checksums, options=options, progress=progress,
                         root=root):
        if res.container:
            assert report.containers is not None
            report.containers.append(res.container)
        report.binaries.extend(res.binaries)
        report.errors.extend(res.errors)
    return report


class _CallableModule(types.ModuleType):
    """``depfree.scan`` is this module (``from depfree.scan import scan``) and also callable as ``depfree.scan(paths)``:
    importing a submodule binds its name on the package, so a function of the same name could not stay there."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return scan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
