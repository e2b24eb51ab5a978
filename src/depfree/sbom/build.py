"""Scan results -> :class:`~depfree.sbom.model.Sbom`.

Per container (a package, archive, image or tree, as ``scan`` reads it) the SBOM holds:

* the container as a component (image digest and layers; wheel name, version and tag; .deb name, version, arch;
  an archive's sha256), or the binary itself when the input is one file;
* each binary (application, library or file) with its sha256, path in the package, format, arch and OS; its minimum
  glibc, libc flavour and runtime-file needs as properties, each with the evidence ``inspect`` found;
* Go: the main module, every dependency module (the purl of what was compiled in: a ``replace`` with a version
  names the replacement; the original path and the ``replace`` are properties), ``h1:`` sums as properties (an
  ``h1:`` is a hash of a module's file tree, not of any file here), the standard library as
  ``pkg:golang/stdlib@1.x.y``, build settings under ``cdx:gomod:build``; with no build info, the packages the
  pclntab names grouped by module where the module is known, marked ``depfree:go.source=pclntab``;
* each NEEDED library and the interpreter as a required component, resolved to the file in the container (the same
  component as that file's own binary when it was analysed) and, inside a Debian/Ubuntu root filesystem, to the
  owning dpkg package (its purl).

Edges: container -> binary (contains), binary -> Go modules (links-static), binary or library -> library
(links-dynamic), binary -> interpreter (interpreter).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone

from depfree.dataclass import dataclass, field
from depfree.errors import UsageError
from depfree.model import Binary
from depfree.model_verdicts import ContainerRecord, ResolvedLibrary
from depfree.sbom import purls
from depfree.sbom.containers import container_component, sha256_file
from depfree.sbom.golang import go_parts
from depfree.sbom.model import APPLICATION, FILE, LIBRARY, OPERATING_SYSTEM, Component, Edge, Sbom
from depfree.sbom.owners import DpkgOwners
from depfree.scan import KINDS_ROOTFS, ScanResult
from depfree.sources.dpkg import DpkgPackage
from depfree.sources.fsview import DirView, FsView

UUID_NAMESPACE = uuid.UUID("6f1c2a4e-6d2b-5c1e-9a57-646570667265")  # "depfre" in the last bytes


def source_date(env: dict[str, str] | None = None) -> datetime:
    """``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/) as a UTC time, else now."""
    value = (env if env is not None else os.environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return datetime.now(timezone.utc).replace(microsecond=0)
    if not value.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, found {value!r}")
    return datetime.fromtimestamp(int(value), timezone.utc)


@dataclass
class _Place:
    """The container whose binaries' needs are being resolved: its name in references, where its paths resolve
    (its own view, or ``--root``), its dpkg owners, its binaries by path, and the paths already resolved there
    (binaries of one container need the same few libraries)."""

    shown: str
    view: FsView | None
    owners: DpkgOwners | None
    by_vpath: dict[str, Component]
    resolved: dict[str, str] = field(default_factory=dict)

    def real(self, path: str) -> str:
        """``path`` with its symbolic links followed in the view."""
        if self.view is None:
            return path
        real = self.resolved.get(path)
        if real is None:
            real = self.resolved[path] = self.view.resolve(path).path
        return real


class Builder:
    """Accumulates components and edges over the containers of one scan."""

    def __init__(self, root_view: FsView | None = None, inputs: Iterable[str] = ()) -> None:
        # references name inputs by their base name, so the same release gives the same document wherever it lies
        self.inputs = sorted({os.fspath(p).rstrip("/") or "/" for p in inputs}, key=len, reverse=True)
        bases = [os.path.basename(p) or p for p in self.inputs]
        # each input with the name references give it: its base name, or the path as given when two share one
        self.names = [(p, base if bases.count(base) == 1 else p) for p, base in zip(self.inputs, bases, strict=True)]
        self.components: dict[str, Component] = {}
        self.edges: set[tuple[str, str, str]] = set()
        self.tops: list[Component] = []  # the component of each top-level container
        self.container_refs: dict[str, str] = {}  # container path -> ref
        self.root_view = root_view  # --root: where lone binaries are resolved
        self.root_owners = DpkgOwners(root_view) if root_view is not None else None
        self.errors: list[str] = []

    # ---- helpers ----------------------------------------------------------------------------------------------

    def add(self, c: Component) -> Component:
        old = self.components.get(c.ref)
        if old is None:
            self.components[c.ref] = c
            return c
        old.required = old.required or c.required
        if not old.purl and c.purl:
            old.purl, old.version = c.purl, c.version
        return old

    def edge(self, source: str, target: str, how: str) -> None:
        if source != target:
            self.edges.add((source, target, how))

    def shown(self, path: str) -> str:
        """``path`` with its input named by base name (by the path as given when two inputs share a base name)."""
        for p, name in self.names:
            if path == p or path.startswith((p + "!", p + "/", p + "@")):  # '@': one image of several in a layout
                return name + path[len(p):]
        return path

    # ---- containers -------------------------------------------------------------------------------------------

    def add_result(self, res: ScanResult) -> None:
        self.errors.extend(f"{e.path}: {e.error}" for e in res.errors)
        if not res.container:
            return
        c = res.container
        path, kind = c.path, c.kind
        view = res.view
        owners = None
        if view is not None and kind in (*KINDS_ROOTFS, "dir", "tar"):
            owners = DpkgOwners(view)
        own = owners  # the container's own database and os-release (not --root's)
        lone = kind == "file" and len(res.binaries) == 1
        if kind in ("file", "dir") and self.root_view is not None:
            view, owners = self.root_view, self.root_owners
        parent = self._parent_of(path)
        box = None if lone else self.add(container_component(c, self.shown(path)))
        if box is not None:
            self.container_refs[path] = box.ref
            if parent is not None:
                self.edge(parent, box.ref, "contains")
            else:
                self.tops.append(box)
        if box is not None and own is not None and own.os_release.get("ID"):
            osr = own.os_release
            distro = self.add(Component(ref=f"os:{self.shown(path)}", kind=OPERATING_SYSTEM, name=osr["ID"],
                                        key=f"os:{osr['ID']}", version=osr.get("VERSION_ID", ""),
                                        description=osr.get("PRETTY_NAME", ""),
                                        properties=[("depfree:os-release", f"{k}={osr[k]}") for k in sorted(osr)
                                                    if k in ("ID", "ID_LIKE", "VERSION_ID", "VERSION_CODENAME")]))
            self.edge(box.ref, distro.ref, "contains")
        by_vpath: dict[str, Component] = {}
        placed: list[tuple[Binary, str, Component]] = []
        for b in res.binaries:
            vpath = self._vpath(b, c)
            comp = self.add(self._binary_component(b, vpath, owners))
            by_vpath.setdefault(vpath, comp)
            placed.append((b, vpath, comp))
            if box is not None:
                self.edge(box.ref, comp.ref, "contains")
            elif parent is not None:
                self.edge(parent, comp.ref, "contains")
            else:
                self.tops.append(comp)
        at = _Place(self.shown(path), view, owners, by_vpath)
        for b, vpath, comp in placed:
            self._go(b, comp)
            self._needs(b, vpath, comp, at)

    def _parent_of(self, path: str) -> str | None:
        head, sep, _ = path.rpartition("!")
        while sep:
            if head in self.container_refs:
                return self.container_refs[head]
            head, sep, _ = head.rpartition("!")
        return None

    @staticmethod
    def _vpath(b: Binary, c: ContainerRecord) -> str:
        path, kind = c.path, c.kind
        if b.path.startswith(path + "!"):
            return "/" + b.path[len(path) + 1 :].lstrip("/")
        if kind == "dir":
            return "/" + os.path.relpath(b.path, path).replace(os.sep, "/")
        return "/" + os.path.basename(b.path)

    # ---- binaries ---------------------------------------------------------------------------------------------

    def _binary_component(self, b: Binary, vpath: str, owners: DpkgOwners | None) -> Component:
        kind = APPLICATION if b.type in ("exec", "pie") or (b.format == "pe" and b.type == "exe") else \
            LIBRARY if b.type in ("shared", "dylib", "dll", "bundle") else FILE
        if b.type == "pie" and b.linkage.interpreter is None and b.linkage.kind == "dynamic":
            kind = LIBRARY  # a PIE with no PT_INTERP is a shared library (ld -shared -pie output)
        slice_ = f"[{b.slice}]" if b.slice else ""
        props: list[tuple[str, str]] = [("depfree:path", vpath), ("depfree:format", b.format),
                                        ("depfree:arch", b.arch), ("depfree:os", b.os), ("depfree:type", b.type),
                                        ("depfree:linkage", b.linkage.kind)]
        if b.slice:
            props.append(("depfree:slice", b.slice))
        comp = Component(ref=f"file:{self.shown(b.path)}{slice_}", kind=kind, name=posixpath.basename(vpath), key=f"file:{vpath}"
                         f"{slice_}", sha256=b.sha256 or None, properties=props)
        owner = owners.owner(vpath) if owners is not None else None
        if owner is not None and owners is not None:
            self._own(comp, owner, owners)
        lk = b.linkage
        if lk.interpreter:
            props.append(("depfree:interpreter", lk.interpreter))
        props.extend(("depfree:needed", n) for n in lk.needed)
        if lk.libc.flavour not in ("unknown", "none"):
            props.append(("depfree:libc", lk.libc.flavour))
        if lk.min_glibc:
            props.append(("depfree:min_glibc", lk.min_glibc))
            glibc = [v for v in lk.versioned if v.family == "GLIBC"]
            for ev in (glibc[0].evidence if glibc else []) or [e for e in lk.evidence if "GLIBC" in e.name][:1]:
                props.append(("depfree:min_glibc.evidence", str(ev)))
        if b.min_os is not None:
            props.append(("depfree:min_os", f"{b.min_os.os} {b.min_os.version}"))
        return comp

    @staticmethod
    def _own(comp: Component, owner: DpkgPackage, owners: DpkgOwners) -> None:
        comp.purl = purls.deb(owner.package, owner.version, owner.architecture, owners.vendor or "debian",
                              owners.distro)
        comp.version = owner.version
        comp.properties.append(("depfree:dpkg.package", f"{owner.package} {owner.version} {owner.architecture}"))

    def _go(self, b: Binary, comp: Component) -> None:
        for linked in go_parts(b, comp.properties):
            self.edge(comp.ref, self.add(linked).ref, "links-static")

    # ---- runtime needs ----------------------------------------------------------------------------------------

    def _needs(self, b: Binary, vpath: str, comp: Component, at: _Place) -> None:
        r = b.resolution
        view = at.view
        if view is not None and view is self.root_view:
            from depfree.analysis.resolution import Resolver

            r = Resolver(view, {}, None).resolve(b, vpath)
        libs = list(r.libraries) if r is not None else []
        listed = {lib.name for lib in libs}
        # what the resolution does not look for (a PE's system DLLs: KERNEL32.dll) is still needed, unresolved
        libs += [ResolvedLibrary(n, None) for n in b.linkage.needed if n not in listed]
        by_name: dict[str, str] = {}
        targets: list[tuple[ResolvedLibrary, Component]] = []
        for lib in libs:
            target = self._library(lib.name, lib.path, at, "library")
            by_name.setdefault(lib.name, target.ref)
            targets.append((lib, target))
        for lib, target in targets:
            source = by_name.get(lib.needed_by or "", comp.ref)
            self.edge(source, target.ref, "links-dynamic")
        interp = (r.interpreter if r is not None else None) or b.linkage.interpreter
        if interp:
            found = interp if r is not None and r.interpreter_found else None
            target = self._library(posixpath.basename(interp), found, at, "interpreter")
            self.edge(comp.ref, target.ref, "interpreter")
        proofs = {n.what: n.evidence for n in b.needs or [] if n.kind in ("file", "dir")}
        for f in r.files if r is not None else []:
            state = f"found at {f.found}" if f.found else (
                f"provided by {f.provided_by}" if f.provided_by else "not found")
            need = "required" if f.required else "optional"
            ev = "; ".join(str(e) for e in proofs.get(f.path, [])[:3])
            comp.properties.append((f"depfree:needs.{f.kind}",
                                    f"{f.path} ({need}, {state}): {f.why}" + (f" [{ev}]" if ev else "")))
        for n in b.needs or []:
            if n.kind in ("kernel", "cpu", "os", "env"):
                ev = "; ".join(str(e) for e in n.evidence[:3])
                comp.properties.append((f"depfree:needs.{n.kind}", f"{n.what}: {n.why}" + (f" [{ev}]" if ev else "")))

    def _library(self, name: str, path: str | None, at: _Place, role: str) -> Component:
        real = at.real(path) if path else path
        if real and real in at.by_vpath:
            comp = at.by_vpath[real]
            comp.required = True
            return comp
        ref = f"needs:{at.shown}!{path}" if path else f"needs:{name}"
        known = self.components.get(ref)
        if known is not None:  # another binary of the container needs it too: already hashed and owned
            known.required = True
            return known
        props = [("depfree:role", role)]
        if path:
            props.append(("depfree:path", path))
        else:
            props.append(("depfree:resolved", "false"))
        comp = Component(ref=ref, kind=LIBRARY, name=name, key=f"needs:{name}", required=True, properties=props)
        if real and isinstance(at.view, DirView):
            host = at.view.host_path(real)
            if os.path.isfile(host):
                comp.sha256 = sha256_file(host)
        owner = at.owners.owner(path) if at.owners is not None and path else None
        if owner is not None and at.owners is not None:
            self._own(comp, owner, at.owners)
        return self.add(comp)

    # ---- the document -----------------------------------------------------------------------------------------

    def finish(self, tool_version: str, timestamp: datetime | None, inputs: Iterable[str]) -> Sbom:
        from depfree.sbom.render import no_collection

        with no_collection():  # tens of thousands of edges and tuples, no cycles (see no_collection)
            return self._finish(tool_version, timestamp, inputs)

    def _finish(self, tool_version: str, timestamp: datetime | None, inputs: Iterable[str]) -> Sbom:
        if len(self.tops) == 1:
            root = self.tops[0]
            del self.components[root.ref]
        else:
            names = sorted(os.path.basename(str(p).rstrip("/")) or str(p) for p in inputs)
            root = Component(ref="sbom-root", kind=APPLICATION, name=" + ".join(names) or "sbom", key="root")
            for t in self.tops:
                self.edge(root.ref, t.ref, "contains")
        comps = sorted(self.components.values(), key=lambda c: c.ref)
        for c in [root, *comps]:
            c.properties.sort(key=lambda p: p[0])  # by name; values keep their order (NEEDED in load order)
        edges = [Edge(*e) for e in sorted(self.edges)]
        serial = "urn:uuid:" + str(uuid.uuid5(UUID_NAMESPACE, _content_hash(root, comps, edges)))
        return Sbom(root=root, components=comps, edges=edges, serial=serial, timestamp=timestamp,
                    tool_version=tool_version, errors=list(self.errors))


def _content_hash(root: Component, comps: list[Component], edges: list[Edge]) -> str:
    data = [[(c.ref, c.kind, c.name, c.version, c.purl, c.sha256, c.required, c.properties) for c in [root, *comps]],
            [(e.source, e.target, e.how) for e in edges]]
    return hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()


def build_sbom(results: Iterable[ScanResult], inputs: Iterable[str], root: str | None = None,
               timestamp: datetime | None = None) -> Sbom:
    """The SBOM of scan results (consumed one by one: each container's view is dropped once its part is built)."""
    from depfree import __version__

    root_view = DirView(root) if root is not None else None
    inputs = [os.fspath(p) for p in inputs]
    builder = Builder(root_view, inputs)
    for res in results:
        builder.add_result(res)
    return builder.finish(__version__, timestamp, inputs)
