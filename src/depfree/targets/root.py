"""``--root DIR`` for inspect and targets: each file's interpreter, libraries (with their own NEEDED, as ld.so
follows them) and runtime files looked up in a root filesystem, the same way ``scan --root`` does; never executing
anything. A file inside the root is resolved where it sits; one outside is laid over the root at ``/NAME``."""

from __future__ import annotations

import os

from depfree.analysis.resolution import Resolver
from depfree.analysis.rootlibs import library_loader
from depfree.errors import UsageError
from depfree.model import Binary
from depfree.model_verdicts import TargetReason, TargetVerdict
from depfree.sources.fsview import DirView, FsView, SingleFileView
from depfree.sources.rootview import LayeredView, inside
from depfree.targets.context import Package, judge_in_package, rules


def check_root(root: str) -> str:
    if not os.path.isdir(root):
        raise UsageError(f"--root {root}: expected a directory (a root filesystem), found "
                         f"{'a file' if os.path.exists(root) else 'nothing'}")
    return os.path.abspath(root)


def resolve_in_root(binaries: list[Binary], root: str) -> None:
    """Fill ``resolution`` (context ``root``) of every binary read from a file on disk."""
    lower = DirView(check_root(root))
    loader = library_loader(lower)
    from depfree.sources.dpkg import DpkgOwners, LazyShlibs

    pkg = Package(rules()["root"], owners=DpkgOwners(lower), shlibs=LazyShlibs(lower, lower.root))
    for b in binaries:
        at = inside(b.path, lower.root)
        view: FsView
        if at is not None:
            view, vpath = lower, at
        else:
            name = os.path.basename(b.path)
            view, vpath = LayeredView(SingleFileView(name, b.size), lower), "/" + name
        b.resolution = Resolver(view, {vpath: b}, loader=loader).resolve(b, vpath)
        judge_in_package(b, pkg)


def root_cell(b: Binary, root: str) -> TargetVerdict:
    """The ``targets`` cell of a binary on ``root`` (after :func:`resolve_in_root`)."""
    cell = f"root:{root}"
    if b.os != "linux":  # a root filesystem is a Linux machine's
        return TargetVerdict(b.path, cell, "fail", [TargetReason(
            "os-mismatch", f"a {b.os} binary cannot run on the Linux root {root}", "build with GOOS=linux", "fail")])
    res = b.resolution
    reasons = [TargetReason(f"{m.kind}-missing", f"{m.name} not in {root}: {m.why}",
                            f"install what provides {m.name} in {root}, or ship it with the program", m.severity)
               for m in (res.missing if res is not None else None) or []]
    return TargetVerdict(b.path, cell, (res.verdict if res is not None else None) or "ok", reasons)
