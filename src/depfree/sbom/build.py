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
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from depfree.errors import UsageError
from depfree.model import Binary, GoModule
from depfree.model_verdicts import ContainerRecord, ResolvedLibrary
from depfree.sbom import purls
from depfree.sbom.model import APPLICATION, CONTAINER, FILE, LIBRARY, OPERATING_SYSTEM, Component, Edge, Sbom
from depfree.sbom.owners import DpkgOwners
from depfree.scan import KINDS_ROOTFS, ScanResult
from depfree.sources.dpkg import DpkgPackage
from depfree.sources.fsview import DirView, FsView

GO_ENV = ("GOOS", "GOARCH", "CGO_ENABLED")  # settings with a cdx:gomod:build:env name
# https://github.com/CycloneDX/cyclonedx-property-taxonomy/blob/main/cdx/gomod.md
GOMOD_ENV, GOMOD_TAG = "cdx:gomod:build:env:", "cdx:gomod:build:tag"
WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<tag>[^-]+-[^-]+-[^-]+)\.whl$")
UUID_NAMESPACE = uuid.UUID("6f1c2a4e-6d2b-5c1e-9a57-646570667265")  # "depfre" in the last bytes


def source_date(env: dict[str, str] | None = None) -> datetime:
    """``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/) as a UTC time, else now."""
    value = (env if env is not None else os.environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return datetime.now(timezone.utc).replace(microsecond=0)
    if not value.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, found {value!r}")
    return datetime.fromtimestamp(int(value), timezone.utc)


class Builder:
    """Accumulates components and edges over the containers of one scan."""

    def __init__(self, root_view: FsView | None = None, inputs: Iterable[str] = ()) -> None:
        # references name inputs by their base name, so the same release gives the same document wherever it lies
        self.inputs = sorted({os.fspath(p).rstrip("/") or "/" for p in inputs}, key=len, reverse=True)
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
        for p in self.inputs:
            if path == p or path.startswith((p + "!", p + "/", p + "@")):  # '@': one image of several in a layout
                base = os.path.basename(p) or p
                unique = sum(1 for q in self.inputs if (os.path.basename(q) or q) == base) == 1
                return (base if unique else p) + path[len(p):]
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
        box = None if lone else self.add(self._container_component(c))
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
        for b, vpath, comp in placed:
            self._go(b, comp)
            self._needs(b, vpath, comp, path, view, by_vpath, owners)

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

    def _container_component(self, c: ContainerRecord) -> Component:
        path, kind = c.path, c.kind
        name = os.path.basename(path.rstrip("/")) or path
        props = [("depfree:container.kind", kind), ("depfree:container.files", str(c.files))]
        image = c.image
        if image is not None:
            return self._image_component(self.shown(path), name, image, props)
        comp = Component(ref=f"container:{self.shown(path)}", kind=FILE if kind in ("tar", "zip", "ar") else APPLICATION,
                         name=name, key=f"container:{kind}", properties=props)
        if "!" not in path and os.path.isfile(path):
            comp.sha256 = _sha256_file(path)
        wheel = WHEEL.match(name) if kind == "zip" else None
        if wheel:
            comp.kind, comp.name, comp.version = LIBRARY, wheel["name"], wheel["version"]
            comp.purl = purls.pypi(wheel["name"], wheel["version"])
            comp.key = f"pypi:{comp.name.lower()}"
            props.append(("depfree:wheel.tag", wheel["tag"]))
        if kind == "deb" and "!" not in path:
            control = _deb_control(path)
            if control is not None:
                comp.kind, comp.name, comp.version = APPLICATION, control.package, control.version
                comp.purl = purls.deb(control.package, control.version, control.architecture)
                comp.key = f"deb:{control.package}"
                props.append(("depfree:deb.architecture", control.architecture))
        return comp

    @staticmethod
    def _image_component(path: str, name: str, image: dict[str, Any], props: list[tuple[str, str]]) -> Component:
        config = str(image.get("config") or "")
        digest = str(image.get("manifest") or "")
        if not digest and re.fullmatch(r"[0-9a-f]{64}(\.json)?", posixpath.basename(config)):
            digest = "sha256:" + posixpath.basename(config)[:64]  # docker save: the config's name is the image ID
        shown = str(image.get("name") or "")
        if "/" in shown or ":" in shown:  # a reference: [registry/]repository[:tag]
            repo, _, tag = shown.rpartition(":") if ":" in shown.rsplit("/", 1)[-1] else (shown, "", "")
        else:  # an OCI layout's ref name is a tag of the layout itself
            repo, tag = "", shown
        base = repo.rsplit("/", 1)[-1] if repo else posixpath.basename(path.split("!")[-1].split("@")[0].rstrip("/"))
        if shown:
            props.append(("depfree:image.name", shown))
        if config:
            props.append(("depfree:image.config", config))
        for layer in image.get("layers") or []:
            lname = str(layer.get("name", ""))
            m = re.search(r"[0-9a-f]{64}", lname)
            ldigest = lname if lname.startswith("sha256:") else (f"sha256:{m.group(0)}" if m else lname)
            props.append(("depfree:image.layer", f"{layer.get('layer', 0)} {ldigest}"))
        return Component(ref=f"container:{path}", kind=CONTAINER, name=base or name,
                         key=f"image:{repo or base or name}", version=digest or tag,
                         purl=purls.oci(base or name, digest, repo if "/" in repo else "", tag) if digest else None,
                         properties=props)

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
        go = b.go
        if go is None:
            return
        props = comp.properties
        props.append(("depfree:go.source", go.source))
        if go.version:
            props.append((GOMOD_ENV + "GOVERSION", go.version))
        if go.cgo is not None:
            props.append(("depfree:go.cgo", "true" if go.cgo else "false"))
        for key, value in sorted(go.settings.items()):
            if key in GO_ENV:
                props.append((GOMOD_ENV + key, value))
            elif key == "-tags":
                props.extend((GOMOD_TAG, t) for t in value.split(",") if t)
            else:
                props.append((f"depfree:go.setting:{key}", value))
        if go.version:
            version = purls.go_stdlib_version(go.version)
            std = self.add(Component(ref=f"go:stdlib@{version}", kind=LIBRARY, name="stdlib", key="go:stdlib",
                                     version=version, purl=purls.golang_stdlib(go.version),
                                     description="the Go standard library", properties=[("depfree:go.version",
                                                                                           go.version)]))
            self.edge(comp.ref, std.ref, "links-static")
        if go.main is not None and go.main.path:
            main = self.add(self._module(go.main, APPLICATION, "main"))
            self.edge(comp.ref, main.ref, "links-static")
        elif go.path:
            props.append(("depfree:go.path", go.path))
        for dep in go.deps:
            self.edge(comp.ref, self.add(self._module(dep, LIBRARY, "dep")).ref, "links-static")
        if go.source != "buildinfo" and go.packages:
            self._pclntab_modules(comp, go.packages)

    @staticmethod
    def _module(m: GoModule, kind: str, role: str) -> Component:
        path, version = m.path, m.version
        props = [("depfree:go.module", m.path), ("depfree:go.role", role)]
        if m.sum:
            props.append(("depfree:go.sum", m.sum))
        r = m.replace
        if r is not None:
            props.append(("depfree:go.replace", f"{r.path} {r.version}".strip()))
            if r.sum:
                props.append(("depfree:go.replace.sum", r.sum))
            if r.version and r.version != "(devel)" and not r.path.startswith((".", "/")):
                # a module replaced by another module (not a directory): that one is what was compiled in
                path, version = r.path, r.version
        shown = version if version and version != "(devel)" else ""
        return Component(ref=f"go:{m.path}@{m.version}" + (f"=>{r.path}@{r.version}" if r else ""), kind=kind,
                         name=path, key=f"go:{m.path}", version=shown, purl=purls.golang(path, version),
                         properties=props)

    def _pclntab_modules(self, comp: Component, packages: list[Any]) -> None:
        by_module: dict[str, tuple[bool, list[str]]] = {}
        for p in packages:
            if p.kind == "dep":  # a module path when build rules name it (github.com/a/b), else the package path
                by_module.setdefault(p.module or p.path, (p.module is not None, []))[1].append(p.path)
        for module, (known, paths) in sorted(by_module.items()):
            props = [("depfree:go.source", "pclntab"), *(("depfree:go.package", p) for p in sorted(paths))]
            c = self.add(Component(ref=f"go:{module}@pclntab", kind=LIBRARY, name=module, key=f"go:{module}",
                                   purl=purls.golang(module) if known else None, properties=props,
                                   description="named by the pclntab (no build info): version unknown"))
            self.edge(comp.ref, c.ref, "links-static")

    # ---- runtime needs ----------------------------------------------------------------------------------------

    def _needs(self, b: Binary, vpath: str, comp: Component, cpath: str, view: FsView | None,
               by_vpath: dict[str, Component], owners: DpkgOwners | None) -> None:
        r = b.resolution
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
            target = self._library(lib.name, lib.path, cpath, view, by_vpath, owners, "library")
            by_name.setdefault(lib.name, target.ref)
            targets.append((lib, target))
        for lib, target in targets:
            source = by_name.get(lib.needed_by or "", comp.ref)
            self.edge(source, target.ref, "links-dynamic")
        interp = (r.interpreter if r is not None else None) or b.linkage.interpreter
        if interp:
            found = interp if r is not None and r.interpreter_found else None
            target = self._library(posixpath.basename(interp), found, cpath, view, by_vpath, owners, "interpreter")
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

    def _library(self, name: str, path: str | None, cpath: str, view: FsView | None,
                 by_vpath: dict[str, Component], owners: DpkgOwners | None, role: str) -> Component:
        real = view.resolve(path).path if path and view is not None else path
        if real and real in by_vpath:
            comp = by_vpath[real]
            comp.required = True
            return comp
        props = [("depfree:role", role)]
        if path:
            props.append(("depfree:path", path))
        else:
            props.append(("depfree:resolved", "false"))
        comp = Component(ref=f"needs:{self.shown(cpath)}!{path}" if path else f"needs:{name}", kind=LIBRARY, name=name,
                         key=f"needs:{name}", required=True, properties=props)
        if path and isinstance(view, DirView):
            host = view.host_path(view.resolve(path).path)
            if os.path.isfile(host):
                comp.sha256 = _sha256_file(host)
        owner = owners.owner(path) if owners is not None and path else None
        if owner is not None and owners is not None:
            self._own(comp, owner, owners)
        return self.add(comp)

    # ---- the document -----------------------------------------------------------------------------------------

    def finish(self, tool_version: str, timestamp: datetime | None, inputs: Iterable[str]) -> Sbom:
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


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _deb_control(path: str) -> DpkgPackage | None:
    """The package stanza of a .deb's ``control.tar.*`` (None when unreadable: scan reported the broken .deb)."""
    from depfree.sources.blob import Blob
    from depfree.sources.dpkg import DebError, package_of, read_deb_control

    try:
        return package_of(read_deb_control(Blob.of_file(path)).fields)
    except (DebError, OSError):
        return None


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
