"""Go packages, functions and build features from the pclntab — for every gc-built Go binary, stripped or not.

Contracts other analyzers rely on:
- :func:`package_paths` — import paths of all Go packages linked in (empty for non-Go files);
- :func:`function_names` — every function in the pclntab's function table;
- ``binary.go.features`` — always filled for Go binaries (see :data:`FEATURES`; values null when unknown);
- ``binary.go.packages`` — only with ``Options.deep`` (``inspect --deep``).
All parses are cached in ``ctx.cache`` so the analyzers share one read of the pclntab.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from depfree.analysis.context import Context
from depfree.formats.base import Executable
from depfree.golang.funcnames import is_cgo_name, is_generated, is_std, package_of, package_paths_of
from depfree.golang.gccgo import gccgo_packages, gccgo_signs
from depfree.golang.pclntab import Function, Pclntab, PclntabError, from_section, from_symbol, validate
from depfree.golang.search import search_pclntab
from depfree.model import Evidence, GoModule, GoPackage

CGO_PACKAGE = "C"  # pseudo-package for C code and cgo glue the internal linker put in Go's text
FEATURES = ("netgo", "netcgo", "osusergo", "tzdata_embedded", "x509_system_roots", "fips140", "boringcrypto", "race")

# Module roots by code host (GOROOT src/cmd/go/internal/vcs/vcs.go vcsPaths): how many path elements name the
# repository, used to guess a dependency's module when build info is gone.
HOST_ELEMENTS = {"github.com": 3, "bitbucket.org": 3, "gitlab.com": 3, "golang.org": 3, "go.googlesource.com": 2,
                 "gopkg.in": 2, "google.golang.org": 2, "go.uber.org": 2, "k8s.io": 2, "sigs.k8s.io": 2}


def load_pclntab(ctx: Context) -> Pclntab | None:
    """The pclntab, found by section name, by symbol, or by a validated search; cached."""
    if "go.pclntab" not in ctx.cache:
        ctx.cache["go.pclntab"] = find_pclntab(ctx.exe)
    return ctx.cache["go.pclntab"]


def find_pclntab(exe: Executable) -> Pclntab | None:
    for finder in (from_section, from_symbol):
        try:
            tab = finder(exe)
        except PclntabError:
            tab = None
        if tab is not None:
            return tab
    return search_pclntab(exe)


def functions(ctx: Context) -> list[Function]:
    """Functions of the pclntab's function table, in text order; empty for non-Go files or unreadable tables."""
    if "go.functions" not in ctx.cache:
        tab = load_pclntab(ctx)
        out: list[Function] = []
        if tab is not None:
            try:
                out = tab.functions()
            except PclntabError as exc:
                ctx.cache["go.pclntab_error"] = str(exc)
        ctx.cache["go.functions"] = out
    return ctx.cache["go.functions"]


def function_names(ctx: Context) -> list[str]:
    if "go.function_names" not in ctx.cache:
        ctx.cache["go.function_names"] = [f.name for f in functions(ctx)]
    return ctx.cache["go.function_names"]


def linked_function_names(ctx: Context) -> set[str]:
    """The names of the functions in the function table, as a set: what :func:`function_names` holds, without
    building a Function for each of tens of thousands of entries (Go 1.16+: the function table's name offsets
    looked up in the name table)."""
    if "go.linked_names" not in ctx.cache:
        tab = load_pclntab(ctx)
        names: set[str] = set()
        if tab is not None and tab.layout != "1.2":
            try:
                table = tab.name_table()
                offsets = set(tab.name_offsets())
                names = set(map(table.get, offsets))
                if None in names or "" in names:  # an offset inside a name, or outside the table
                    names = {table.get(off) or tab.name_at(off) for off in offsets}
            except PclntabError as exc:
                ctx.cache["go.pclntab_error"] = str(exc)
        elif tab is not None:
            names = set(function_names(ctx))
        ctx.cache["go.linked_names"] = names
    return ctx.cache["go.linked_names"]


def table_ok(ctx: Context) -> bool:
    """Whether a pclntab was found and its function table passes :func:`validate` (one pass, no names); cached."""
    if "go.table_ok" not in ctx.cache:
        tab = load_pclntab(ctx)
        ok = False
        if tab is not None:
            try:
                validate(tab)
                ok = True
            except PclntabError as exc:
                ctx.cache["go.pclntab_error"] = str(exc)
        ctx.cache["go.table_ok"] = ok
    return ctx.cache["go.table_ok"]


def all_names(ctx: Context) -> set[str]:
    """Function names including those only referenced by inline trees. From Go 1.16 the name table holds them all
    (one split of one buffer, no function-table walk); the 1.2 layout mixes names with other data, so there the
    function table is walked."""
    if "go.all_names" not in ctx.cache:
        tab = load_pclntab(ctx)
        names: set[str] = set()
        if tab is not None and table_ok(ctx):
            names = set(tab.name_table().values()) if tab.layout != "1.2" else set(function_names(ctx))
        ctx.cache["go.all_names"] = names
    return ctx.cache["go.all_names"]


def package_paths(ctx: Context) -> set[str]:
    """Import paths of every Go package with a function (compiled or inlined) in the binary; for gccgo output, of
    every package with an init or type-descriptor symbol.

    Standard packages are kept only when the file table holds a source file from their directory: the runtime
    implements functions for packages that may not be linked at all (``//go:linkname`` push: ``os/signal.
    signal_enable``, ``runtime/debug.SetTraceback`` live in runtime/*.go), and those names alone prove nothing."""
    if "go.package_paths" not in ctx.cache:
        found = package_paths_of(all_names(ctx))
        dirs = source_dir_suffixes(ctx)
        if dirs:
            found = {p for p in found if not is_std(p) or p in dirs}
        if not found and gccgo_signs(ctx.exe) is not None:
            found = gccgo_packages(ctx.exe)
        ctx.cache["go.package_paths"] = found
    return ctx.cache["go.package_paths"]


def source_dir_suffixes(ctx: Context) -> set[str]:
    """Every trailing run of path elements of every source directory in the file table (``a/b/c`` gives ``c``,
    ``b/c``, ``a/b/c``), with module-cache ``@version`` suffixes removed; cached."""
    if "go.source_dirs" not in ctx.cache:
        tab = load_pclntab(ctx)
        out: set[str] = set()
        if tab is not None and table_ok(ctx):
            try:
                files = tab.file_names()
            except PclntabError:
                files = []
            for d in {f.replace("\\", "/").rpartition("/")[0] for f in files}:
                parts = [e.partition("@")[0] for e in d.split("/") if e]
                for i in range(len(parts)):
                    out.add("/".join(parts[i:]))
        ctx.cache["go.source_dirs"] = out
    return ctx.cache["go.source_dirs"]


# --- attribution -------------------------------------------------------------------------------------------------
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


def packages(ctx: Context) -> list[GoPackage]:
    """Every package with compiled functions (count and bytes of code) plus those whose code is all inlined."""
    if "go.packages" in ctx.cache:
        return ctx.cache["go.packages"]
    go = ctx.binary.go
    mm = module_map(go.main if go else None, go.deps if go else [], go.path if go else None)
    funcs = functions(ctx)
    stats: dict[str, list[int]] = {}
    for f, pkg in zip(funcs, owner_packages(funcs, package_paths(ctx) | {CGO_PACKAGE}), strict=True):
        s = stats.setdefault(pkg, [0, 0])
        s[0] += 1
        s[1] += f.size
    for pkg in package_paths(ctx):
        stats.setdefault(pkg, [0, 0])
    out = []
    for path, (n, size) in stats.items():
        kind, module = mm.classify(path)
        out.append(GoPackage(path=path, kind=kind, module=module, functions=n, size=size))
    out.sort(key=lambda p: (-p.size, p.path))
    ctx.cache["go.packages"] = out
    return out


# --- features ----------------------------------------------------------------------------------------------------
def _feature(value: bool | None, *evidence: Evidence) -> dict[str, object]:
    return {"value": value, "evidence": list(evidence)}


def _first(names: set[str], candidates: Iterable[str]) -> str | None:
    return next((c for c in candidates if c in names), None)


# The packages features() asks about; a function of package P is named "P.…" (package_of returns a prefix of the
# name), so only names with these prefixes can make them linked.
FEATURE_PACKAGE_PREFIXES = ("net.", "os/user.", "time/tzdata.", "crypto/x509.", "crypto/internal/fips140",
                            "runtime/race.")


def feature_packages(ctx: Context) -> set[str]:
    """What :func:`package_paths` holds of the packages :func:`features` looks at (``net``, ``os/user``,
    ``time/tzdata``, ``crypto/x509``, ``crypto/internal/fips140*``, ``runtime/race``), from the names with their
    prefixes only (issue 23: the full set costs ~60 ms on a 40 MB binary, and only ``--deep`` needs it). When none
    is found the full set is taken, so that its fallbacks (gccgo symbols) decide as before."""
    if "go.package_paths" in ctx.cache:
        return ctx.cache["go.package_paths"]
    found = package_paths_of(n for n in all_names(ctx) if n.startswith(FEATURE_PACKAGE_PREFIXES))
    dirs = source_dir_suffixes(ctx)
    if dirs:
        found = {p for p in found if not is_std(p) or p in dirs}
    return found or package_paths(ctx)


def features(ctx: Context) -> dict[str, dict[str, object]]:
    """Build features read from which functions were compiled in (GOROOT build-tagged files named per feature)."""
    names = all_names(ctx)
    pkgs = feature_packages(ctx)
    goos = ctx.exe.os
    settings = ctx.binary.go.settings if ctx.binary.go else {}
    out: dict[str, dict[str, object]] = {}
    fn = "function"

    # net: cgo_unix_cgo.go (cgo && !netgo && unix && !darwin) calls C.getaddrinfo; cgo_unix_syscall.go (!netgo &&
    # darwin) goes through libSystem; cgo_stub.go (netgo || !cgo) leaves only the pure-Go resolver.
    blob = "\0".join(names)  # one search over all the names tells whether a scan of them can find anything
    any_cgo = "_Cfunc_" in blob or "_C2func_" in blob
    cgo_res = sorted((n for n in names if n.startswith("net.") and ("_Cfunc_" in n or "_C2func_" in n)),
                     key=lambda n: ("getaddrinfo" not in n, n)) if any_cgo else []
    darwin_res = _first(names, ("net.cgoLookupIPCNAME", "net.cgoLookupHostIP", "net.cgoLookupAddrPTR"))
    if "net" not in pkgs:
        out["netcgo"] = _feature(False, Evidence("package", "net", "not linked"))
        out["netgo"] = _feature(False, Evidence("package", "net", "not linked"))
    elif goos == "windows":
        ev = Evidence("package", "net", "Windows resolves through GetAddrInfoW (net/lookup_windows.go)")
        out["netcgo"], out["netgo"] = _feature(False, ev), _feature(False, ev)
    elif cgo_res or darwin_res:
        ev = [Evidence(fn, n, "cgo resolver (getaddrinfo from the C library)") for n in cgo_res[:2]]
        if darwin_res and not ev:
            ev = [Evidence(fn, darwin_res, "system resolver through libSystem (net/cgo_unix_syscall.go)")]
        out["netcgo"] = _feature(True, *ev)
        out["netgo"] = _feature(False, *ev)
    else:
        ev = Evidence("package", "net", "linked without the cgo resolver (net/cgo_stub.go: netgo or CGO_ENABLED=0)")
        out["netcgo"] = _feature(False, ev)
        out["netgo"] = _feature(True, ev)

    # os/user: cgo_lookup_cgo.go calls getpwuid_r & co through cgo; lookup_unix.go parses /etc/passwd (osusergo).
    if "os/user" not in pkgs:
        out["osusergo"] = _feature(False, Evidence("package", "os/user", "not linked"))
    elif goos == "windows":
        out["osusergo"] = _feature(False, Evidence("package", "os/user", "Windows uses the system API"))
    else:
        cgo_user = sorted((n for n in names if n.startswith("os/user.") and ("_Cfunc_" in n or "_C2func_" in n)),
                          key=lambda n: ("getpw" not in n, n)) if any_cgo else []
        pure = _first(names, ("os/user.readColonFile", "os/user.lookupUser", "os/user.findUser"))
        if cgo_user:
            out["osusergo"] = _feature(False, Evidence(fn, cgo_user[0], "user lookup through the C library"))
        elif goos == "darwin" and not pure:
            out["osusergo"] = _feature(False, Evidence("package", "os/user", "darwin: lookups through libSystem"))
        else:
            out["osusergo"] = _feature(True, Evidence(fn, pure or "os/user", "pure-Go /etc/passwd and /etc/group parser"))

    tz = _first(names, ("time/tzdata.init", "time/tzdata.init.0")) or ("time/tzdata" if "time/tzdata" in pkgs else None)
    out["tzdata_embedded"] = _feature(bool(tz), Evidence("package", "time/tzdata", "embedded zoneinfo database") if tz
                                      else Evidence("package", "time/tzdata", "not linked"))

    roots = _first(names, ("crypto/x509.loadSystemRoots", "crypto/x509.(*Certificate).systemVerify",
                           "crypto/x509.systemRootsPool", "crypto/x509.initSystemRoots"))
    if roots:
        out["x509_system_roots"] = _feature(True, Evidence(fn, roots, "loads the system certificate store"))
    else:
        out["x509_system_roots"] = _feature(False, Evidence("package", "crypto/x509",
                                                            "linked without system root loading" if "crypto/x509" in pkgs
                                                            else "not linked"))

    # FIPS 140-3 mode (Go 1.24+): GOFIPS140 selects the module and makes fips140=on the default GODEBUG
    # (GOROOT src/crypto/internal/fips140/fips140.go, cmd/go/internal/fips140); the linker adds .go.fipsinfo
    # (cmd/link/internal/ld/fips140.go) whenever the module is linked, so the section alone means "linked", not "on".
    fips_sec = next((s for s in (".go.fipsinfo", "__go_fipsinfo") if ctx.exe.section(s) is not None), None)
    fips_pkgs = sorted(p for p in pkgs if p.startswith("crypto/internal/fips140"))
    gofips = settings.get("GOFIPS140")
    godebug = settings.get("DefaultGODEBUG", "")
    ev = []
    if gofips:
        ev.append(Evidence("setting", "GOFIPS140", gofips))
    if "fips140=" in godebug:
        ev.append(Evidence("setting", "DefaultGODEBUG", godebug))
    if fips_sec:
        ev.append(Evidence("section", fips_sec, "FIPS 140 module checksum"))
    if fips_pkgs:
        ev.append(Evidence("package", fips_pkgs[0], f"Go Cryptographic Module linked ({len(fips_pkgs)} packages)"))
    if not (fips_sec or fips_pkgs):
        fips: bool | None = False
        ev.append(Evidence("package", "crypto/internal/fips140", "not linked"))
    elif (gofips and gofips != "off") or any(f"fips140={m}" in godebug for m in ("on", "only")):
        fips = True
    elif settings:
        fips = False  # build info present and no FIPS setting: fips140 defaults to off
        if not gofips:
            ev.insert(0, Evidence("setting", "GOFIPS140", "not set: FIPS 140-3 mode is off unless GODEBUG turns it on"))
    else:
        fips = None  # module linked, but without build info the default mode is unknown
    out["fips140"] = _feature(fips, *ev)

    boring = sorted(n for n in names if "_goboringcrypto_" in n)[:1] if "_goboringcrypto_" in blob else []
    version = (ctx.binary.go.version or "") if ctx.binary.go else ""
    if boring:
        out["boringcrypto"] = _feature(True, Evidence(fn, boring[0], "BoringSSL crypto through cgo"))
    elif "X:boringcrypto" in version:
        out["boringcrypto"] = _feature(True, Evidence("string", "runtime.buildVersion", version))
    else:
        out["boringcrypto"] = _feature(False, Evidence("function", "_goboringcrypto_*", "absent"))

    race = _first(names, ("runtime.racecallatomic", "runtime.racecall", "runtime.racefuncenter"))
    race_pkg = "runtime/race" in pkgs
    out["race"] = _feature(bool(race or race_pkg),
                           Evidence(fn, race, "race detector runtime (runtime/race_*.s)") if race
                           else Evidence("package", "runtime/race", "linked" if race_pkg else "not linked"))
    return {k: out[k] for k in FEATURES}


def unknown_features(reason: Evidence) -> dict[str, dict[str, object]]:
    return {k: _feature(None, reason) for k in FEATURES}


def gccgo_features(ctx: Context) -> dict[str, dict[str, object]]:
    """gccgo output: what is not linked is off; what is linked is decided inside libgo, so unknown."""
    pkgs = package_paths(ctx)
    needs = {"netgo": "net", "netcgo": "net", "osusergo": "os/user", "tzdata_embedded": "time/tzdata",
             "x509_system_roots": "crypto/x509", "fips140": "crypto/internal/fips140", "boringcrypto": "crypto/internal/boring",
             "race": "runtime/race"}
    out = {}
    for key, pkg in needs.items():
        if pkg in pkgs:
            value = True if key == "tzdata_embedded" else None
            out[key] = _feature(value, Evidence("package", pkg, "linked; gccgo: the behaviour is libgo's"))
        else:
            out[key] = _feature(False, Evidence("package", pkg, "not linked" if pkgs else "no package symbols"))
    return out


def analyze_gopackages(ctx: Context) -> None:
    """Fill ``go.features`` for every Go binary (values null when the pclntab is unreadable) and ``go.packages``
    with ``--deep``."""
    go = ctx.binary.go
    if go is None:
        return
    if go.compiler == "gccgo":
        go.features = gccgo_features(ctx)
        if ctx.options.deep:  # no function table: paths and kinds only
            mm = module_map(go.main, go.deps, go.path)
            go.packages = sorted((GoPackage(p, *mm.classify(p)) for p in package_paths(ctx)), key=lambda p: p.path)
        return
    if not table_ok(ctx):
        why = ctx.cache.get("go.pclntab_error") or "no pclntab found"
        go.features = unknown_features(Evidence("section", "pclntab", f"unreadable: {why}"))
        return
    go.features = features(ctx)
    if ctx.options.deep:
        go.packages = packages(ctx)
