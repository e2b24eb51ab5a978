"""The Go part of a binary's SBOM entry: its build settings under the ``cdx:gomod`` property taxonomy
(https://github.com/CycloneDX/cyclonedx-property-taxonomy/blob/main/cdx/gomod.md), and the components it links
statically: the standard library (``pkg:golang/stdlib@1.x.y``), the main module, every dependency module (the purl
of what was compiled in: a ``replace`` with a version names the replacement), or, with no build info, the modules
the pclntab's packages belong to."""

from __future__ import annotations

from typing import Any

from depfree.model import Binary, GoModule
from depfree.sbom import purls
from depfree.sbom.model import APPLICATION, LIBRARY, Component

GO_ENV = ("GOOS", "GOARCH", "CGO_ENABLED")  # settings with a cdx:gomod:build:env name
GOMOD_ENV, GOMOD_TAG = "cdx:gomod:build:env:", "cdx:gomod:build:tag"


def go_parts(b: Binary, props: list[tuple[str, str]]) -> list[Component]:
    """Append the Go facts of ``b`` to its component's ``props``; the components it links statically, in order."""
    go = b.go
    if go is None:
        return []
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
    linked = []
    if go.version:
        version = purls.go_stdlib_version(go.version)
        linked.append(Component(ref=f"go:stdlib@{version}", kind=LIBRARY, name="stdlib", key="go:stdlib",
                                version=version, purl=purls.golang_stdlib(go.version),
                                description="the Go standard library", properties=[("depfree:go.version",
                                                                                      go.version)]))
    if go.main is not None and go.main.path:
        linked.append(module_component(go.main, APPLICATION, "main"))
    elif go.path:
        props.append(("depfree:go.path", go.path))
    linked.extend(module_component(dep, LIBRARY, "dep") for dep in go.deps)
    if go.source != "buildinfo" and go.packages:
        linked.extend(pclntab_modules(go.packages))
    return linked


def module_component(m: GoModule, kind: str, role: str) -> Component:
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


def pclntab_modules(packages: list[Any]) -> list[Component]:
    """The modules of a build-info-less binary's dependency packages, marked ``depfree:go.source=pclntab``."""
    by_module: dict[str, tuple[bool, list[str]]] = {}
    for p in packages:
        if p.kind == "dep":  # a module path when build rules name it (github.com/a/b), else the package path
            by_module.setdefault(p.module or p.path, (p.module is not None, []))[1].append(p.path)
    return [Component(ref=f"go:{module}@pclntab", kind=LIBRARY, name=module, key=f"go:{module}",
                      purl=purls.golang(module) if known else None,
                      properties=[("depfree:go.source", "pclntab"), *(("depfree:go.package", p) for p in sorted(paths))],
                      description="named by the pclntab (no build info): version unknown")
            for module, (known, paths) in sorted(by_module.items())]
