"""Which Go package and module each function's code belongs to: the package of a function name (C and cgo glue as
``C``, assembly helpers and generated code by their neighbours), the module of a package from build info or, when
build info is gone, from its code host's path rule."""

from __future__ import annotations

from collections.abc import Iterable

from depfree.dataclass import dataclass
from depfree.golang.funcnames import is_cgo_name, is_generated, is_std, package_of
from depfree.golang.pclntab import Function
from depfree.model import Go, GoModule, GoPackage

CGO_PACKAGE = "C"  # pseudo-package for C code and cgo glue the internal linker put in Go's text

# Module roots by code host (GOROOT src/cmd/go/internal/vcs/vcs.go vcsPaths): how many path elements name the
# repository, used to guess a dependency's module when build info is gone.
HOST_ELEMENTS = {"github.com": 3, "bitbucket.org": 3, "gitlab.com": 3, "golang.org": 3, "go.googlesource.com": 2,
                 "gopkg.in": 2, "google.golang.org": 2, "go.uber.org": 2, "k8s.io": 2, "sigs.k8s.io": 2}


def owner_packages(funcs: list[Function], known: set[str] | None = None) -> list[str]:
    """The package each function's bytes belong to: its own; ``C`` for C and cgo glue; for assembly helpers without a
    package (``cmpbody``, ``_rt0_amd64``) the package of the function before it (the linker lays text out package by
    package), and likewise for functions of a package not in ``known`` (code the runtime implements for a package
    that is not linked); for compiler-generated ``type:.eq.T`` the package of ``T``, else ``runtime``."""
    out: list[str] = []
    prev = "runtime"
    for f in funcs:
        name = f.name
        pkg = package_of(name)
        if pkg is not None and known is not None and pkg not in known and pkg != "main":
            pkg = prev
        elif pkg is None:
            if is_cgo_name(name):
                pkg = CGO_PACKAGE
            elif name.startswith(("type:", "type..")):
                pkg = package_of(name.split(".", 2)[-1] if name.startswith("type:") else name[6:].split(".", 1)[-1])
                pkg = pkg or "runtime"
            elif is_generated(name):
                pkg = "runtime"
            else:
                pkg = prev
        out.append(pkg)
        prev = pkg
    return out


@dataclass
class ModuleMap:
    """Which module of the build info a package path belongs to."""

    main: str | None
    deps: list[str]

    def classify(self, path: str) -> tuple[str, str | None]:
        """(kind, module) of a package path."""
        if path == CGO_PACKAGE:
            return "cgo", None
        if path == "main" or path.startswith("main."):
            return "main", self.main
        if self.main and _under(path, self.main):
            return "main", self.main
        best = max((m for m in self.deps if _under(path, m)), key=len, default=None)
        if best is not None:
            return "dep", best
        if is_std(path):
            return "std", "std"
        return "dep", guess_module(path)


def _under(path: str, module: str) -> bool:
    return path == module or path.startswith(module + "/")


def guess_module(path: str) -> str | None:
    """A dependency's module root from its code host's path rule, with a ``/vN`` major-version suffix; None when the
    host has no known rule."""
    parts = path.split("/")
    n = HOST_ELEMENTS.get(parts[0])
    if parts[0] == "golang.org" and (len(parts) < 2 or parts[1] != "x"):
        n = None
    if n is None or len(parts) < n:
        return None
    root = parts[:n]
    if len(parts) > n and parts[n][:1] == "v" and parts[n][1:].isdigit():
        root.append(parts[n])
    return "/".join(root)


def module_map(main: GoModule | None, deps: Iterable[GoModule], path: str | None = None) -> ModuleMap:
    main_path = main.path if main else None
    if main_path in (None, "", "command-line-arguments") and path and "." in path.split("/", 1)[0]:
        main_path = None
    return ModuleMap(main=main_path or None, deps=[d.path for d in deps])


def attribute_packages(funcs: list[Function], paths: set[str], go: Go | None) -> list[GoPackage]:
    """Every package with compiled functions (count and bytes of code) plus those of ``paths`` whose code is all
    inlined, largest first."""
    mm = module_map(go.main if go else None, go.deps if go else [], go.path if go else None)
    stats: dict[str, list[int]] = {}
    for f, pkg in zip(funcs, owner_packages(funcs, paths | {CGO_PACKAGE}), strict=True):
        s = stats.setdefault(pkg, [0, 0])
        s[0] += 1
        s[1] += f.size
    for pkg in paths:
        stats.setdefault(pkg, [0, 0])
    out = []
    for path, (n, size) in stats.items():
        kind, module = mm.classify(path)
        out.append(GoPackage(path=path, kind=kind, module=module, functions=n, size=size))
    out.sort(key=lambda p: (-p.size, p.path))
    return out
