"""The inputs of a scan: files, directory trees, archives and images read one after another in the main process,
each into :class:`~depfree.scan.container.Container` objects (nested archives right after their parent), emitted
as :class:`ScanResult` in input order."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from typing import Any

from depfree.dataclass import dataclass
from depfree.errors import DepfreeError, strip_name
from depfree.model import Binary, FileError
from depfree.model_verdicts import ContainerRecord, DebInfo, ImageRecord
from depfree.scan.container import Container
from depfree.scan.engine import Engine
from depfree.scan.worker import index_archive, index_into
from depfree.sources import checksums as checksums_mod
from depfree.sources.archive import COMPRESSED, ArchiveError, classify
from depfree.sources.blob import Blob
from depfree.sources.fsview import DirView, FsView, IndexView, SingleFileView


@dataclass
class ScanResult:
    """One container as it comes out of :func:`iter_scan`, in input order."""

    container: ContainerRecord | None  # None for an input that could not be read
    binaries: list[Binary]
    errors: list[FileError]
    view: FsView | None = None  # the container's filesystem (for later stages: sbom reads its dpkg database)


class Scanner:
    def __init__(self, engine: Engine, depth: int, checksums: str | None) -> None:
        self.engine = engine
        self.depth = depth
        self.checksums = checksums
        self.pending: deque[Container | FileError] = deque()  # containers and unreadable inputs, in input order
        self.indexing: deque[Container] = deque()  # archives being indexed in the pool, in the order sent
        self.reading = True  # inputs are still to be read (iter_scan says when the last one was)

    # Each reader fills a Container; nested archives found in it are read right after it.
    def read_input(self, path: str) -> None:
        path = os.fspath(path)
        manifests = [self.checksums] if self.checksums else checksums_mod.find_manifests(path)
        first = len(self.pending)
        if os.path.isdir(path) and not os.path.islink(path):
            image = False
            if os.path.isfile(os.path.join(path, "oci-layout")):  # (the image reader's ~3 ms of imports only then)
                from depfree.sources.image import is_image_dir

                image = is_image_dir(path)
            if image:
                self._read_image_dir(path)
            else:
                self._read_tree(path)
        else:
            blob = self._open_file(path)
            if blob is None:
                return
            self._read_blob(path, blob, self.depth, top=True)
        if manifests:
            try:
                result = checksums_mod.verify(path, manifests)
            except DepfreeError as exc:
                self._error(path, strip_name(str(exc), path))
                result = None
            heads = [c for c in list(self.pending)[first:] if isinstance(c, Container)]
            if result is not None and heads:
                heads[0].checksums = result

    def _open_file(self, path: str) -> Blob | None:
        from depfree.sources.file import FileSource

        try:
            with FileSource(path) as src:
                size = src.size
        except DepfreeError as exc:
            self._error(path, strip_name(str(exc), path))
            return None
        return Blob.of_file(path, size)

    def _error(self, path: str, message: str) -> None:
        self.pending.append(FileError(path=path, error=message))

    def _push(self, c: Container) -> None:
        self.pending.append(c)
        nested, c.nested = c.nested, []
        for name, blob, _kind in nested:
            self._read_blob(f"{c.path}!{name}", blob, c.depth - 1, top=False)

    def _read_tree(self, root: str) -> None:
        from depfree.sources.tree import TreeFile, walk

        c = Container(self.engine, root, "dir", self.depth, view=DirView(root))
        prefix = ""
        if self.engine.root is not None:
            from depfree.sources.rootview import inside

            at = inside(root, self.engine.root)
            if at is not None:  # a tree inside --root: resolved in the root, where it really sits
                c.view, prefix = DirView(self.engine.root), at.rstrip("/")
        archives: list[TreeFile] = []

        def on_error(p: str, msg: str) -> None:
            c.errors.append(FileError(path=p, error=msg))

        for item in walk(root, on_error):
            if isinstance(item, int):
                c.files += item
                continue
            c.files += 1
            if item.kind == "exe":
                task = self.engine.submit(Blob.of_file(item.path, item.size), item.path, ("inode", item.inode))
                task.refs += 1
                c.disk_members.append((prefix + item.rel, item.path, task))
                self.engine.notify(item.path)
            elif self.depth > 0 and item.kind != "ar":
                archives.append(item)
        self.pending.append(c)
        for a in archives:
            self._read_blob(a.path, Blob.of_file(a.path, a.size), self.depth - 1, top=False)

    def _read_blob(self, path: str, blob: Blob, depth: int, top: bool) -> None:
        """One file or member: an executable, an image, an archive, or (at the top only) an error."""
        kind = classify(blob.head(512))
        if kind == "exe":
            self._read_exe(path, blob, depth, top)
            return
        from depfree.sources.archive import peek_tar  # (the decompressors are imported when an archive is met)

        if kind in COMPRESSED and not peek_tar(blob, kind, self.engine.limits):
            if top:
                self._error(path, f"a {kind} stream that does not hold a tar archive")
            return
        if kind is None:
            if top:
                head = blob.head(4).hex(" ") or "an empty file"
                self._error(path, "not an executable (ELF, PE, Mach-O) nor an archive (tar, zip, deb, OCI, "
                                  f"docker-archive): found {head}")
            return
        if kind == "tar" and self._read_image_tar(path, blob, depth):
            return
        self._read_archive(path, blob, kind, depth)

    def _read_exe(self, path: str, blob: Blob, depth: int, top: bool) -> None:
        """A single executable: a container of one file (placed where it sits inside ``--root``, if it does)."""
        c = Container(self.engine, path, "file", depth, view=SingleFileView(os.path.basename(path), blob.size))
        c.files = 1
        key = None
        if blob.path and not blob.temporary and blob.offset == 0:
            st = os.stat(blob.path)
            key = ("inode", (st.st_dev, st.st_ino))
        vpath = "/" + os.path.basename(path)
        if self.engine.root is not None and top:
            from depfree.sources.rootview import inside

            at = inside(path, self.engine.root)
            if at is not None:
                c.view, vpath = DirView(self.engine.root), at
        task = self.engine.submit(blob, path, key)
        task.refs += 1
        c.disk_members.append((vpath, path, task))
        self.pending.append(c)

    def _read_image_tar(self, path: str, blob: Blob, depth: int) -> bool:
        """A tar that is an image (docker save, OCI layout): read as images; False when it is an ordinary tar."""
        from depfree.sources.image import find_images, is_image_tar, tar_blobs

        members = tar_blobs(blob)
        if members is None or not is_image_tar(members):
            return False
        try:
            images = find_images(members.get, members)
        except ArchiveError as exc:
            self._error(path, f"not a usable image: {exc}")
            return True
        self._read_images(path, images, depth)
        return True

    def _read_archive(self, path: str, blob: Blob, kind: str, depth: int) -> None:
        """A tar (any compression), zip or ar/deb: indexed here, or in the pool when it is the last level entered."""
        c = Container(self.engine, path, "tar" if kind in ("tar", *COMPRESSED) else kind, depth)
        if kind == "deb":
            self._read_control(c, blob)
        if kind in COMPRESSED:
            c.compression = kind
        if self.engine.pool is not None and depth == 0 and blob.data is None:
            self._index_in_pool(c, blob, kind)
            return
        assert isinstance(c.view, IndexView)
        try:
            c.kind = index_into(blob, kind, c, c.view)
        except ArchiveError as exc:
            c.errors.append(FileError(path=path, error=str(exc)))
        c.files = c.view.count()
        self._push(c)

    def _index_in_pool(self, c: Container, blob: Blob, kind: str) -> None:
        """The last level entered, on disk (the jars and packages of a tree): indexed in the pool, in parallel with
        everything else; what it holds is taken in when the container is next looked at."""
        if len(self.indexing) >= self.engine.max_inflight:  # bounded like the analyses: take the oldest in
            oldest = self.indexing.popleft()
            if oldest.indexing is not None:
                oldest.settle()
        c.indexing = self.engine.pool.apply_async(index_archive, (blob, kind, self.engine.limits,
                                                                  self.engine.spool_dir))
        self.pending.append(c)
        self.indexing.append(c)

    def _read_control(self, c: Container, blob: Blob) -> None:
        from depfree.sources.dpkg import DebError, read_deb_control

        try:
            c.deb = read_deb_control(blob)
        except DebError as exc:
            c.errors.append(FileError(path=c.path, error=f"control member: {exc}"))
            return
        c.deb_info = DebInfo(package=c.deb.package, version=c.deb.fields.get("Version"),
                             depends=c.deb.fields.get("Depends", ""), pre_depends=c.deb.fields.get("Pre-Depends", ""))

    def read_shlibs(self, paths: list[str]) -> None:
        """The shlibs/symbols of every .deb given, so that packages scanned together satisfy each other's sonames."""
        if not any(os.path.isfile(p) for p in paths):
            return  # (no file, no .deb: the dpkg reader, ~4 ms of imports, is not needed)
        from depfree.sources.dpkg import deb_shlibs

        for so, got in deb_shlibs(paths).items():
            self.engine.deb_shlibs.setdefault(so, got)

    def _read_image_dir(self, root: str) -> None:
        from depfree.sources.image import dir_blobs, find_images

        get = dir_blobs(root)
        names = {n for n in ("manifest.json", "index.json", "oci-layout") if get(n) is not None}
        try:
            images = find_images(get, names)
        except ArchiveError as exc:
            self._error(root, f"not a usable image: {exc}")
            return
        self._read_images(root, images, self.depth)

    def _read_images(self, path: str, images: list[Any], depth: int) -> None:
        from depfree.sources.image import apply_layers

        for i, image in enumerate(images):
            shown = path if len(images) == 1 else f"{path}@{image.name or i}"
            c = Container(self.engine, shown, image.kind, depth)
            assert isinstance(c.view, IndexView)
            self.engine.notify(shown)
            layers = apply_layers(image, c, c.view)
            c.files = c.view.count()
            c.image = ImageRecord(image.name, image.config, layers, tags=image.info.get("tags"),
                                  manifest=image.info.get("manifest"))
            self._push(c)

    def ready(self) -> Iterator[ScanResult]:
        """Finished containers at the head of the queue, in order (does not wait)."""
        self._settle_indexed()
        while self.pending and (isinstance(self.pending[0], FileError) or self.pending[0].ready()):
            yield self._emit(self.pending.popleft())

    def drain(self) -> Iterator[ScanResult]:
        while self.pending:
            self._settle_indexed()
            yield self._emit(self.pending.popleft())

    def _settle_indexed(self) -> None:
        """Take in the archives indexed so far, so that the executables in them go to the pool without waiting for
        the containers before them to be emitted."""
        while self.indexing and (self.indexing[0].indexing is None or self.indexing[0].indexing.ready()):
            c = self.indexing.popleft()
            if c.indexing is not None:
                c.settle()

    def _emit(self, c: Container | FileError) -> ScanResult:
        if isinstance(c, FileError):
            return ScanResult(None, [], [c])
        rec, binaries = c.finish()
        more = self.reading or any(isinstance(p, Container) and p.indexing is not None for p in self.pending)
        for task in c.tasks():  # (more: a later input, or an archive still being indexed, may hold copies)
            task.emitted(more)
        errors = list(c.errors)
        for msg in rec.checksums.errors if rec.checksums else []:
            errors.append(FileError(path=c.path, error=f"checksums: {msg}"))
        return ScanResult(rec, binaries, errors, c.view)
