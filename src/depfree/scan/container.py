"""A container being scanned (a package, archive, image, tree or single file): the sink its reader reports members
to, and, once their analyses are in, the resolution of every binary against the container's filesystem view, the
judgement in its package context, and the container's record."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from depfree.dataclass import dataclass, field
from depfree.model import Binary, FileError
from depfree.model_verdicts import ChecksumResult, ContainerRecord, ContainerSummary, DebInfo, ImageRecord, WheelInfo
from depfree.scan.engine import Engine, Task
from depfree.scan.worker import Indexed
from depfree.sources.archive import Limits
from depfree.sources.blob import Blob
from depfree.sources.fsview import DirView, FsView, IndexView
from depfree.targets.context import judge_in_package

if TYPE_CHECKING:
    from depfree.analysis.resolution import Resolver
    from depfree.targets.context import Package

KINDS_ROOTFS = ("oci", "docker-archive", "deb")  # members shown with absolute paths: they are a root filesystem

# ---- containers ---------------------------------------------------------------------------------------------------

@dataclass
class Member:
    name: str  # as shown after '!'
    task: Task


@dataclass
class Container:
    """One package, archive, image or tree being scanned: the sink its reader reports to."""

    engine: Engine
    path: str  # display path ('release.tar.gz', 'a.tar.gz!inner.zip')
    kind: str
    depth: int  # how many more levels of nested archives may be entered
    view: FsView = field(default_factory=IndexView)
    members: dict[int, Member] = field(default_factory=dict)
    nested: list[tuple[str, Blob, str]] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0
    # (in-view path, display name, task) of a tree's or a single file's executables
    disk_members: list[tuple[str, str, Task]] = field(default_factory=list)
    indexing: Any = None  # the pool's handle while the archive is being indexed in a worker (see Indexed)
    deb: Any = None  # sources.dpkg.DebControl of a .deb
    # what the record says of how the container was read and judged (model_verdicts.ContainerRecord)
    compression: str | None = None
    deb_info: DebInfo | None = None
    image: ImageRecord | None = None
    checksums: ChecksumResult | None = None
    wheel: WheelInfo | None = None
    context: str | None = None
    limits: Limits = field(init=False, repr=False)  # the engine's (what an archive reader asks of its sink)

    def __post_init__(self) -> None:
        self.limits = self.engine.limits

    def error(self, name: str, message: str) -> None:
        self.errors.append(FileError(path=f"{self.path}!{name}", error=message))

    def wants(self, kind: str) -> bool:
        """Executables always; nested archives while depth remains, except static libraries (``.a``: object files
        for a linker, not something that is deployed)."""
        return kind == "exe" or (self.depth > 0 and kind != "ar")

    def found(self, name: str, blob: Blob, kind: str) -> object:
        if kind != "exe":
            self.nested.append((name, blob, kind))
            return None
        token = len(self.members) + 1
        task = self.engine.submit(blob, f"{self.path}!{name}")
        task.refs += 1
        self.members[token] = Member(name, task)
        self.engine.notify(self.path)
        return token

    def capture(self, fh: IO[bytes], size: int) -> Blob:
        return self.engine.capture(fh, size)

    def settle(self) -> None:
        """Take in the index built by a worker (waiting for it): errors, counts, and the executables found, which are
        submitted for analysis now."""
        handle, self.indexing = self.indexing, None
        try:
            got: Indexed = handle.get()
        except Exception as exc:  # noqa: BLE001 - the result could not come back (a worker died): report it
            self.errors.append(FileError(path=self.path, error=f"cannot read the archive ({type(exc).__name__})"))
            return
        self.kind = got.kind
        self.files = got.files
        for name, message in got.errors:
            self.error(name, message)
        if got.failure:
            self.errors.append(FileError(path=self.path, error=got.failure))
        if got.view is not None:
            self.view = got.view
        for i, (name, blob) in enumerate(got.found, 1):
            token = self.found(name, blob, "exe")
            assert token == i  # the worker numbered the executables in the view as found() does

    # ---- results --------------------------------------------------------------------------------------------

    def ready(self) -> bool:
        if self.indexing is not None:
            if not self.indexing.ready():
                return False
            self.settle()
        return all(m.task.ready() for m in self.members.values()) and all(
            t.ready() for _, _, t in self.disk_members)

    def finish(self) -> tuple[ContainerRecord, list[Binary]]:
        """Collect the analyses of the files that are still there in the final view, resolve them, summarise. Each
        binary is resolved as soon as its analysis is in, while the others' are still being made (a library it
        loads from this container is waited for when the resolver first asks for it: :class:`_Placed`)."""
        if self.indexing is not None:
            self.settle()
        placed: list[tuple[str, str, Task]] = list(self.disk_members)
        if isinstance(self.view, IndexView) and self.members:  # (a jar of classes has none: nothing to place)
            rooted = self.kind in KINDS_ROOTFS
            for vpath, node in self.view.files():
                m = self.members.get(node.token) if isinstance(node.token, int) else None
                if m is not None:
                    placed.append((vpath, f"{self.path}!{vpath if rooted else vpath.lstrip('/')}", m.task))
        from depfree.analysis.resolution import adopt_from_loaders

        got = _Placed(self, placed)
        resolver, pkg = self._judgement(got)
        resolved = 0
        while got.take() or resolved < len(got.where):
            while resolved < len(got.where):  # (a lookup may take more of them meanwhile)
                b, vpath = got.where[resolved]
                b.resolution = resolver.resolve(b, vpath)
                resolved += 1
        where = got.where
        adopt_from_loaders([(vpath, b.resolution) for b, vpath in where if b.resolution is not None])
        for b, _ in where if not self.engine.options.inventory else ():  # (an SBOM reads no judgement)
            judge_in_package(b, pkg)
        for link, problem in sorted(resolver.problems.items()):
            self.errors.append(FileError(path=f"{self.path}!{link}", error=problem))
        return self.record(got.binaries), got.binaries

    def tasks(self) -> list[Task]:
        """The analyses of this container's executables."""
        return [t for _, _, t in self.disk_members] + [m.task for m in self.members.values()]

    def context_kind(self) -> str:
        """Which rule of data/contexts.toml judges this container's binaries."""
        from depfree.targets.context import rootfs_markers

        if self.kind in ("oci", "docker-archive", "deb"):
            return self.kind
        if self.engine.root is not None:
            return "root"
        if self.kind in ("dir", "tar", "zip") and any(self.view.exists(m) for m in rootfs_markers()):
            return "rootfs"
        if self.kind == "zip" and self.path.endswith(".whl"):
            from depfree.targets.wheel import parse_wheel_name

            if parse_wheel_name(self.path) is not None:  # (a .whl without PEP 427's name: an ordinary zip)
                return "wheel"
        return self.kind

    def _judgement(self, by_path: Mapping[str, Binary]) -> tuple[Resolver, Package]:
        """The resolver (its view: the package, laid over --root in the root context) and what the judgement knows
        of the package (its context rule, a .deb's Depends and shlibs, a wheel's tag)."""
        from depfree.analysis.resolution import Resolver
        from depfree.targets.context import Package, rule_for, runtime_files

        kind = self.context_kind()
        rule = rule_for(kind)
        pkg = Package(rule, targets_chosen=self.engine.options.targets is not None)
        view = self.view
        loader = None
        root = self.engine.root
        if kind == "root" and root is not None:
            from depfree.analysis.rootlibs import library_loader
            from depfree.sources.rootview import LayeredView

            lower = DirView(root)
            if not (isinstance(view, DirView) and view.root == lower.root):
                view = LayeredView(view, lower)
                loader = library_loader(lower, skip=view.in_upper)
            else:
                loader = library_loader(lower, skip=by_path.__contains__)
        if rule.name in ("image", "root"):  # the image's (or root's) own dpkg database: dpkg -S and shlibs
            from depfree.sources.dpkg import DpkgOwners, LazyShlibs

            pkg.owners = DpkgOwners(view)
            pkg.shlibs = LazyShlibs(view, root if kind == "root" and root is not None else f"{self.path}!")
        if kind == "deb" and self.deb is not None:
            pkg.package_name = self.deb.package
            pkg.depends = self.deb.depends()
            shlibs = dict(self.engine.dpkg_shlibs())
            shlibs.update(self.engine.deb_shlibs)
            shlibs.update({so: (p, f"the shlibs/symbols of {self.deb.package}") for so, p in self.deb.shlibs.items()})
            pkg.shlibs = shlibs
        if kind == "wheel":
            from depfree.targets.wheel import parse_wheel_name

            pkg.wheel = parse_wheel_name(self.path)
            if pkg.wheel is not None:
                self.wheel = WheelInfo(pkg.wheel.tag)
        self.context = rule.name
        provided = runtime_files() if rule.provided else None
        return Resolver(view, by_path, provided, loader=loader), pkg

    def record(self, binaries: list[Binary]) -> ContainerRecord:
        res = [b.resolution for b in binaries]
        contained = sum(1 for r in res if r is not None and r.self_contained)
        verdicts = [(r.verdict if r is not None else None) or "ok" for r in res]
        summary = ContainerSummary(
            self_contained=contained, not_self_contained=len(binaries) - contained,
            missing_interpreter=sum(1 for r in res if r is not None and r.interpreter_found is False),
            missing_libraries=sum(1 for r in res if r is not None and r.missing_libraries),
            missing_files=sum(1 for r in res if r is not None and r.missing_files),
            ok=verdicts.count("ok"), warn=verdicts.count("warn"), fail=verdicts.count("fail"))
        worst = "fail" if summary.fail else "warn" if summary.warn else "ok"
        return ContainerRecord(
            path=self.path, kind=self.kind, files=self.files, binaries=len(binaries),
            self_contained=(contained == len(binaries)) if binaries else None, verdict=worst if binaries else None,
            summary=summary, errors=len(self.errors), compression=self.compression, deb=self.deb_info,
            image=self.image, checksums=self.checksums, wheel=self.wheel, context=self.context)


class _Placed(Mapping[str, Binary]):
    """A container's binaries by their path in its view, as the resolver asks for them: the analyses are taken in
    order (:meth:`take`), each when first needed, so that resolving one binary waits only for the libraries of the
    container it loads. A copy reached through a second path, or shown under another name than its analysis had,
    is a deep copy named after its place."""

    def __init__(self, container: Container, placed: list[tuple[str, str, Task]]) -> None:
        self.container = container
        self.placed = placed
        self.next = 0
        self.binaries: list[Binary] = []
        self.by_path: dict[str, Binary] = {}
        self.where: list[tuple[Binary, str]] = []

    def take(self) -> bool:
        """Take in the next analysis in order; False when every one was taken."""
        if self.next >= len(self.placed):
            return False
        vpath, shown, task = self.placed[self.next]
        self.next += 1
        bins, err = task.get()
        if err:
            self.container.errors.append(FileError(path=shown, error=err))
        task.uses += 1
        for b in bins:
            if task.uses > 1 or b.path != shown:
                b = copy.deepcopy(b)
                b.path = shown
                for verdict in b.targets or []:  # the target verdicts name the binary too
                    verdict.binary = shown
            self.binaries.append(b)
            self.by_path.setdefault(vpath, b)
            self.where.append((b, vpath))
        return True

    def _upto(self, path: str) -> None:
        while path not in self.by_path and self.take():
            pass

    def __getitem__(self, path: str) -> Binary:
        self._upto(path)
        return self.by_path[path]

    def __contains__(self, path: object) -> bool:
        if isinstance(path, str):
            self._upto(path)
        return path in self.by_path

    def __iter__(self) -> Iterator[str]:
        while self.take():
            pass
        return iter(self.by_path)

    def __len__(self) -> int:
        while self.take():
            pass
        return len(self.by_path)
