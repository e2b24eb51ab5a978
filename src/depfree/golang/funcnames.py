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
- compiler-generated names start with ``go:`` or ``type:`` (Go 1.20+) / ``go.`` or ``type..`` (before) and belong
  to no package; so do assembly and C functions without a dot (``_rt0_amd64_linux``, ``x_cgo_init``,
  ``_cgo_<hash>_Cfunc_getaddrinfo``), nor does the blank package ``_`` (``_.goready.func1`` in Go 1.27's runtime).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")
GENERATED_PREFIXES = ("go:", "type:", "go.", "type..")
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


def unescape(path: str) -> str:
    return _ESCAPE.sub(_unescape_one, path) if "%" in path else path


def package_of(name: str) -> str | None:
    """The import path of the package a function belongs to; None for generated, assembly and C names."""
    if name.startswith(GENERATED_PREFIXES):
        return None
    if "[" in name:
        name = strip_instantiation(name)
    dot = name.find(".", name.rfind("/") + 1)
    if dot <= 0:
        return None
    path = name[:dot]
    if path == "_" or path[-1] == "/" or " " in path or "(" in path:
        return None
    return _ESCAPE.sub(_unescape_one, path) if "%" in path else path


def package_paths_of(names: Iterable[str]) -> set[str]:
    """The packages of many names: ``{package_of(n) for n in names} - {None}``, with the common case (no brackets,
    no escapes, not generated) done inline, and the checks on the path done once per distinct path."""
    paths: set[str] = set()
    add = paths.add
    for name in names:
        if "[" in name or "%" in name or name.startswith(GENERATED_PREFIXES):
            path = package_of(name)
            if path:
                add(path)
            continue
        dot = name.find(".", name.rfind("/") + 1)
        if dot > 0:
            add(name[:dot])
    return {p for p in paths if p != "_" and p[-1] != "/" and " " not in p and "(" not in p}


def _unescape_one(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


def is_cgo_name(name: str) -> bool:
    """C and cgo glue functions that the internal linker places in Go's text (``_cgo_…``, ``x_cgo_init``)."""
    return name.startswith(CGO_PREFIXES) or "._Cfunc_" in name or "._C2func_" in name or "._cgo_" in name


def is_std(path: str) -> bool:
    """Standard library: no dot in the first path element (``cmd/go/internal/load`` isStandardImportPath)."""
    first = path.split("/", 1)[0]
    return "." not in first and path != "main" and not path.startswith("main/")
