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
  ``_cgo_<hash>_Cfunc_getaddrinfo``).
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")
GENERATED_PREFIXES = ("go:", "type:", "go.", "type..")
CGO_PREFIXES = ("_cgo_", "x_cgo_", "_cgoexp_", "crosscall", "__cgo", "_cgo", "cgo_")


def strip_instantiation(name: str) -> str:
    """The name without bracketed type arguments (brackets nest)."""
    if "[" not in name:
        return name
    out = []
    depth = 0
    for ch in name:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def unescape(path: str) -> str:
    if "%" not in path:
        return path
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), path)


def package_of(name: str) -> str | None:
    """The import path of the package a function belongs to; None for generated, assembly and C names."""
    if name.startswith(GENERATED_PREFIXES):
        return None
    base = strip_instantiation(name)
    slash = base.rfind("/")
    dot = base.find(".", slash + 1)
    if dot <= 0:
        return None
    path = base[:dot]
    if not path or path.endswith("/") or " " in path or "(" in path:
        return None
    return unescape(path)


def is_cgo_name(name: str) -> bool:
    """C and cgo glue functions that the internal linker places in Go's text (``_cgo_…``, ``x_cgo_init``)."""
    return name.startswith(CGO_PREFIXES) or "._Cfunc_" in name or "._C2func_" in name or "._cgo_" in name


def is_std(path: str) -> bool:
    """Standard library: no dot in the first path element (``cmd/go/internal/load`` isStandardImportPath)."""
    first = path.split("/", 1)[0]
    return "." not in first and path != "main" and not path.startswith("main/")
