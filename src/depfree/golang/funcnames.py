"""Import paths from Go function names as the gc linker writes them into the pclntab.

The rules (GOROOT ``src/debug/gosym/symtab.go`` ``Sym.PackageName`` and ``nameWithoutInst``;
``src/cmd/internal/objabi/path.go`` ``PathToPrefix``):

- a name is ``<import path>.<rest>``; the import path ends at the first ``.`` after the last ``/``;
- generic instantiations carry type arguments in brackets (``slices.Sort[go.shape.int]``,
  ``sync/atomic.(*Pointer[go.shape.struct { example.com/x.T }]).Load``) that may hold dots and slashes, so
  bracketed parts are removed first;
- the linker escapes ``.`` in the last path element, ``%``, ``"``, control and non-ASCII bytes as ``%xx``
  (``gopkg.in/yaml%2ev3.Unmarshal`` is package ``gopkg.in/yaml.v3``), so the path is unescaped;
- closures, method values and init functions only add suffixes after the path (``main.main.func1``,
  ``net/http.(*Transport).dialConn.func2``, ``fmt.init.0``, ``p.F.deferwrap1``, ``p.glob..func1``);
- compiler-generated names belong to no package. They are names in the reserved imports ``go`` and ``type``
  (GOROOT ``src/cmd/compile/internal/base/link.go`` ``ReservedImports``, ``PkgLinksym``): Go 1.20+ writes them
  ``go:<name>`` / ``type:<name>`` (``go:buildid``, ``go:itab.*T,I``, ``type:.eq.T``), a form no import path can
  take; before 1.20 ``go.<name>`` / ``type..<name>``, and the compiler's own pseudo-packages ``go.shape`` and
  ``go.builtin`` (``cmd/compile/internal/types`` ``ShapePkg``, ``gc/main.go`` ``BuiltinPkg``) and the linker's
  ``go.buildid``, ``go.itab.``, ``go.link.``, ``go.info.``, ``go.string.``, ``go.func.``, ``go.track.`` …
  (``cmd/link/internal/ld``). A real import path may also start with ``go.`` (``go.uber.org/zap``,
  ``go.etcd.io/etcd/server/v3``): it is told apart by its form — a host name of letters, digits, ``-`` and ``.``
  followed by ``/`` — and by its second label not being one of the reserved names above;
- a method promoted from an embedded type of another package has that package's path in its name:
  ``go.etcd.io/etcd/clientv3.retryOption.google.golang.org/grpc.before`` is package ``go.etcd.io/etcd/clientv3``
  (type ``retryOption``, method ``google.golang.org/grpc.before``; ``cmd/compile`` qualifies unexported method
  names by their package). debug/gosym reads these as package ``…clientv3.retryOption.google.golang.org/grpc``;
  here the path is cut after the last element that has no dot (the linker escapes dots of a last element) when
  what follows is a type name and a path starting with a host name (not a dotted middle element such as
  ``go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc``);
- assembly and C functions without a dot (``_rt0_amd64_linux``, ``x_cgo_init``, ``_cgo_<hash>_Cfunc_getaddrinfo``)
  belong to no package, nor does the blank package ``_`` (``_.goready.func1`` in Go 1.27's runtime).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")
GENERATED_PREFIXES = ("go:", "type:", "type..")
# Second labels of pre-1.20 ``go.<name>`` symbols (the reserved import ``go``, GOROOT 1.19 src/cmd/compile and
# src/cmd/link string literals): a ``go.<label>.…/`` name with one of these is generated, not a host name.
GENERATED_GO_LABELS = frozenset((
    "shape", "builtin", "buildid", "buildinfo", "itab", "link", "info", "string", "func", "funcrel", "track",
    "plugin", "map", "debuglines", "runtime", "importpath", "cuinfo", "typelink", "weak", "dict", "constinfo",
    "loc", "range", "o", "go", "dwarf", "struct", "interface",
))
_HOST_PATH = re.compile(r"go(?:\.[a-z0-9-]+)+/")
CGO_PREFIXES = ("_cgo_", "x_cgo_", "_cgoexp_", "crosscall", "__cgo", "_cgo", "cgo_")


_INNERMOST = re.compile(r"\[[^\[\]]*\]")


def strip_instantiation(name: str) -> str:
    """The name without bracketed type arguments (brackets nest: innermost pairs go first)."""
    for _ in range(64):
        if "[" not in name:
            return name
        stripped = _INNERMOST.sub("", name)
        if stripped == name:  # an unbalanced bracket: drop from it on
            return name[: name.index("[")]
        name = stripped
    return name


def is_generated(name: str) -> bool:
    """A compiler- or linker-generated name (``go:buildid``, ``type:.eq.T``, ``go.shape.int``, Go <= 1.19's
    ``go.buildid`` and ``go.itab.*T,I``), not a function of a package — ``go.uber.org/zap.New`` is not one."""
    if name.startswith(GENERATED_PREFIXES):
        return True
    if not name.startswith("go."):
        return False
    m = _HOST_PATH.match(name)
    return m is None or name[3:].split(".", 1)[0] in GENERATED_GO_LABELS


def package_of(name: str) -> str | None:
    """The import path of the package a function belongs to; None for generated, assembly and C names."""
    if is_generated(name):
        return None
    if "[" in name:
        name = strip_instantiation(name)
    dot = name.find(".", name.rfind("/") + 1)
    if dot <= 0:
        return None
    path = name[:dot]
    if "." in path[path.find("/") + 1 : path.rfind("/")]:
        path = _promoted_owner(name, path)
    if path == "_" or path[-1] == "/" or " " in path or "(" in path:
        return None
    return _ESCAPE.sub(_unescape_one, path) if "%" in path else path


# T.Q.m after P: a type name (or (*T)), then Q, whose first element is a host name (has a dot), then the method.
_PROMOTED = re.compile(r"(?:\(\*[A-Za-z_]\w*\)|[A-Za-z_]\w*)\.[^()\s/.]+\.[^()\s/]*/[^()\s]*\.[^./]+")


def _promoted_owner(name: str, path: str) -> str:
    """For ``P.T.Q.m`` (method m of package Q promoted into type T of package P): P, the longest prefix whose last
    element has no dot and after which comes ``T.Q.m``; else ``path`` unchanged (a dot in a middle element, as in
    ``gopkg.in/src-d/go-git.v4/plumbing``)."""
    i = len(path)
    while True:
        i = name.rfind(".", 0, i)
        if i <= 0:
            return path
        owner = name[:i]
        if "." not in owner[owner.rfind("/") + 1 :] and _PROMOTED.fullmatch(name, i + 1):
            return owner


def package_paths_of(names: Iterable[str]) -> set[str]:
    """The packages of many names: ``{package_of(n) for n in names} - {None}``, with the common case (no brackets,
    no escapes, not generated) done inline, and the checks on the path done once per distinct path."""
    paths: set[str] = set()
    add = paths.add
    for name in names:
        if "[" in name or "%" in name or name.startswith(GENERATED_PREFIXES) or name.startswith("go."):
            path = package_of(name)
            if path:
                add(path)
            continue
        dot = name.find(".", name.rfind("/") + 1)
        if dot > 0:
            path = name[:dot]
            add(_promoted_owner(name, path) if "." in path[path.find("/") + 1 : path.rfind("/")] else path)
    return {p for p in paths if p != "_" and p[-1] != "/" and " " not in p and "(" not in p}


def _unescape_one(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


# What follows the package in the name of a cgo glue function (``main._Cfunc_puts``, ``main._cgo_cmalloc``)
CGO_GLUE_PARTS = ("._Cfunc_", "._C2func_", "._cgo_")
_CFUNC, _C2FUNC, _CGO = CGO_GLUE_PARTS


def is_cgo_name(name: str) -> bool:
    """C and cgo glue functions that the internal linker places in Go's text (``_cgo_…``, ``x_cgo_init``): a name
    with one of :data:`CGO_PREFIXES`, or with one of :data:`CGO_GLUE_PARTS`."""
    return name.startswith(CGO_PREFIXES) or _CFUNC in name or _C2FUNC in name or _CGO in name


def is_std(path: str) -> bool:
    """Standard library: no dot in the first path element (``cmd/go/internal/load`` isStandardImportPath)."""
    first = path.split("/", 1)[0]
    return "." not in first and path != "main" and not path.startswith("main/")
