"""Signs of a gccgo-built program (GCC's Go front end with libgo as its runtime).

gccgo writes no build info and no pclntab. What it leaves (checked against Debian gccgo 12 output):
- a dynamic dependency on ``libgo.so.N`` (the default; ``-static-libgo`` links it in);
- the ``.go_export`` section with the package export data (GCC ``go/go-backend.cc``, ``GO_EXPORT_SECTION_NAME``);
- symbols of the libgo start-up path: ``__go_init_main`` (``libgo/runtime/go-main.c``), ``runtime_iscgo`` and
  per-package ``<pkg>..import`` / ``<pkg>..types`` symbols (GCC ``go/gofrontend`` names, ``/`` encoded as ``_1``);
- the ``.comment`` section names the GCC release (``GCC: (Debian 12.2.0-14) 12.2.0``).

Package paths come from the ``<pkg>..import`` (init) and ``<pkg>..types`` symbols every compiled or imported package
has, in the static or the dynamic symbol table (undefined there when libgo provides the package). Their path encoding
(GCC ``go/gofrontend/go-encode-id.cc``): ``_0`` is ``.``, ``_1`` is ``/``, ``__`` is ``_``, ``_xNN`` a byte.
"""

from __future__ import annotations

import re

from depfree.dataclass import dataclass, field
from depfree.formats.base import Executable
from depfree.model import Evidence

EXPORT_SECTIONS = (".go_export", "__go_export")
START_SYMBOLS = ("__go_init_main", "runtime_iscgo", "runtime..import")
_LIBGO = re.compile(r"^libgo\.so(\.\d+)*$")
_GCC = re.compile(rb"GCC: \([^)]*\) (\d+\.\d+(?:\.\d+)?)")
_PKG_SYMBOL = re.compile(r"^([A-Za-z0-9_]+)\.\.(?:import|types)$")
_ESCAPE = re.compile(r"_(x[0-9a-fA-F]{2}|[01_])")


@dataclass
class GccgoSigns:
    """What shows a gccgo-built program: libgo, the GCC version, the evidence."""

    libgo: str | None = None  # the NEEDED entry, when dynamic
    gcc_version: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


def gccgo_signs(exe: Executable) -> GccgoSigns | None:
    """The evidence that gccgo built this file, or None. Never fires on gc-built Go or C/C++ programs: it needs
    libgo or the Go export data section; libgo's start-up symbols are added as further evidence."""
    signs = GccgoSigns()
    for lib in exe.needed:
        if _LIBGO.match(lib):
            signs.libgo = lib
            signs.evidence.append(Evidence("dynamic", "NEEDED", f"{lib}: the gccgo runtime library"))
    for name in EXPORT_SECTIONS:
        if exe.section(name) is not None:
            signs.evidence.append(Evidence("section", name, "Go export data written by gccgo"))
    if not signs.evidence:
        return None  # symbols only add evidence: looking them up indexes a whole symbol table
    dyn_defined = {n for n, defined, _ in exe.dynamic_symbol_entries if defined}
    for sym in START_SYMBOLS:
        if exe.symbol(sym) is not None or sym in dyn_defined:
            signs.evidence.append(Evidence("symbol", sym, "libgo start-up"))
            break
    comment = exe.section_data(".comment", 4096) or b""
    m = _GCC.search(comment)
    if m:
        signs.gcc_version = m.group(1).decode()
        signs.evidence.append(Evidence("section", ".comment", f"GCC {signs.gcc_version}"))
    return signs


def decode_package(encoded: str) -> str | None:
    """``golang_0org_1x_1net`` -> ``golang.org/x/net``; None for escapes other than path characters."""
    def sub(m: re.Match[str]) -> str:
        e = m.group(1)
        return {"0": ".", "1": "/", "_": "_"}.get(e) or chr(int(e[1:], 16))

    rest = _ESCAPE.sub("", encoded)
    if re.search(r"_[0-9]", rest):
        return None
    return _ESCAPE.sub(sub, encoded)


def gccgo_packages(exe: Executable) -> set[str]:
    """Import paths from the per-package ``..import`` / ``..types`` symbols (static and dynamic tables)."""
    names = exe.symbol_names()
    names += [n for n, _defined, _v in exe.dynamic_symbol_entries]
    out: set[str] = set()
    for name in names:
        m = _PKG_SYMBOL.match(name)
        if m:
            path = decode_package(m.group(1))
            if path:
                out.add(path)
    return out
