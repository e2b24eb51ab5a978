"""Go build features read from which functions were compiled in (GOROOT build-tagged files named per feature): one
small named check per feature (two for net: netcgo and netgo are one decision), run in :data:`FEATURE_CHECKS`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from depfree.analysis.context import Context
from depfree.analysis.gotables import GoTables
from depfree.dataclass import dataclass
from depfree.formats.base import Executable
from depfree.model import Evidence, GoFeature

FEATURES = ("netgo", "netcgo", "osusergo", "tzdata_embedded", "x509_system_roots", "fips140", "boringcrypto", "race")
FN = "function"
# The substrings the checks look for inside function names (cgo glue, BoringSSL's C functions through cgo).
MARKS = ("_Cfunc_", "_C2func_", "_goboringcrypto_")


@dataclass
class FeatureInput:
    """What the checks read: the linked function names and package paths, the target OS, the build settings."""

    exe: Executable
    tables: GoTables  # the function names, asked through names_with_prefix / names_containing_any / has_name
    pkgs: set[str]
    goos: str
    settings: dict[str, str]
    version: str

    @cached_property
    def marked_names(self) -> set[str]:
        """The names holding one of :data:`MARKS` (cgo glue, BoringCrypto's C functions), all found in one pass
        over the name table; each check takes its own from them (:meth:`names_with`)."""
        return self.tables.names_containing_any(MARKS)

    def names_with(self, part: str) -> set[str]:
        """The names that contain ``part``, one of :data:`MARKS`."""
        return {n for n in self.marked_names if part in n}

    @cached_property
    def cgo_names(self) -> set[str]:
        """The names of cgo calls (``_Cfunc_`` / ``_C2func_`` glue): every name a cgo check can report."""
        return self.names_with("_Cfunc_") | self.names_with("_C2func_")

    def first(self, candidates: Iterable[str]) -> str | None:
        return next((c for c in candidates if self.tables.has_name(c)), None)

    def cgo_calls(self, prefix: str, prefer: str) -> list[str]:
        """Functions of a package that call C through cgo, those naming ``prefer`` first."""
        return sorted((n for n in self.cgo_names if n.startswith(prefix)), key=lambda n: (prefer not in n, n))


FeatureCheck = Callable[[FeatureInput], dict[str, GoFeature]]


def _feature(value: bool | None, *evidence: Evidence) -> GoFeature:
    return GoFeature(value, list(evidence))


def _net(x: FeatureInput) -> dict[str, GoFeature]:
    """net: cgo_unix_cgo.go (cgo && !netgo && unix && !darwin) calls C.getaddrinfo; cgo_unix_syscall.go (!netgo &&
    darwin) goes through libSystem; cgo_stub.go (netgo || !cgo) leaves only the pure-Go resolver."""
    if "net" not in x.pkgs:
        ev = Evidence("package", "net", "not linked")
        return {"netcgo": _feature(False, ev), "netgo": _feature(False, ev)}
    if x.goos == "windows":
        ev = Evidence("package", "net", "Windows resolves through GetAddrInfoW (net/lookup_windows.go)")
        return {"netcgo": _feature(False, ev), "netgo": _feature(False, ev)}
    cgo_res = x.cgo_calls("net.", "getaddrinfo")
    darwin_res = x.first(("net.cgoLookupIPCNAME", "net.cgoLookupHostIP", "net.cgoLookupAddrPTR"))
    if cgo_res or darwin_res:
        evs = [Evidence(FN, n, "cgo resolver (getaddrinfo from the C library)") for n in cgo_res[:2]]
        if darwin_res and not evs:
            evs = [Evidence(FN, darwin_res, "system resolver through libSystem (net/cgo_unix_syscall.go)")]
        return {"netcgo": _feature(True, *evs), "netgo": _feature(False, *evs)}
    ev = Evidence("package", "net", "linked without the cgo resolver (net/cgo_stub.go: netgo or CGO_ENABLED=0)")
    return {"netcgo": _feature(False, ev), "netgo": _feature(True, ev)}


def _osusergo(x: FeatureInput) -> dict[str, GoFeature]:
    """os/user: cgo_lookup_cgo.go calls getpwuid_r & co through cgo; lookup_unix.go parses /etc/passwd."""
    if "os/user" not in x.pkgs:
        return {"osusergo": _feature(False, Evidence("package", "os/user", "not linked"))}
    if x.goos == "windows":
        return {"osusergo": _feature(False, Evidence("package", "os/user", "Windows uses the system API"))}
    cgo_user = x.cgo_calls("os/user.", "getpw")
    pure = x.first(("os/user.readColonFile", "os/user.lookupUser", "os/user.findUser"))
    if cgo_user:
        return {"osusergo": _feature(False, Evidence(FN, cgo_user[0], "user lookup through the C library"))}
    if x.goos == "darwin" and not pure:
        return {"osusergo": _feature(False, Evidence("package", "os/user", "darwin: lookups through libSystem"))}
    return {"osusergo": _feature(True, Evidence(FN, pure or "os/user", "pure-Go /etc/passwd and /etc/group parser"))}


def _tzdata(x: FeatureInput) -> dict[str, GoFeature]:
    tz = x.first(("time/tzdata.init", "time/tzdata.init.0")) or ("time/tzdata" if "time/tzdata" in x.pkgs else None)
    return {"tzdata_embedded": _feature(bool(tz), Evidence("package", "time/tzdata", "embedded zoneinfo database")
                                        if tz else Evidence("package", "time/tzdata", "not linked"))}


def _x509_roots(x: FeatureInput) -> dict[str, GoFeature]:
    roots = x.first(("crypto/x509.loadSystemRoots", "crypto/x509.(*Certificate).systemVerify",
                     "crypto/x509.systemRootsPool", "crypto/x509.initSystemRoots"))
    if roots:
        return {"x509_system_roots": _feature(True, Evidence(FN, roots, "loads the system certificate store"))}
    why = "linked without system root loading" if "crypto/x509" in x.pkgs else "not linked"
    return {"x509_system_roots": _feature(False, Evidence("package", "crypto/x509", why))}


def _fips140(x: FeatureInput) -> dict[str, GoFeature]:
    """FIPS 140-3 mode (Go 1.24+): GOFIPS140 selects the module and makes fips140=on the default GODEBUG (GOROOT
    src/crypto/internal/fips140/fips140.go, cmd/go/internal/fips140); the linker adds .go.fipsinfo
    (cmd/link/internal/ld/fips140.go) whenever the module is linked, so the section alone means "linked", not
    "on"."""
    fips_sec = next((s for s in (".go.fipsinfo", "__go_fipsinfo") if x.exe.section(s) is not None), None)
    fips_pkgs = sorted(p for p in x.pkgs if p.startswith("crypto/internal/fips140"))
    gofips = x.settings.get("GOFIPS140")
    godebug = x.settings.get("DefaultGODEBUG", "")
    ev = []
    if gofips:
        ev.append(Evidence("setting", "GOFIPS140", gofips))
    if "fips140=" in godebug:
        ev.append(Evidence("setting", "DefaultGODEBUG", godebug))
    if fips_sec:
        ev.append(Evidence("section", fips_sec, "FIPS 140 module checksum"))
    if fips_pkgs:
        ev.append(Evidence("package", fips_pkgs[0], f"Go Cryptographic Module linked ({len(fips_pkgs)} packages)"))
    fips: bool | None
    if not (fips_sec or fips_pkgs):
        fips = False
        ev.append(Evidence("package", "crypto/internal/fips140", "not linked"))
    elif (gofips and gofips != "off") or any(f"fips140={m}" in godebug for m in ("on", "only")):
        fips = True
    elif x.settings:
        fips = False  # build info present and no FIPS setting: fips140 defaults to off
        if not gofips:
            ev.insert(0, Evidence("setting", "GOFIPS140", "not set: FIPS 140-3 mode is off unless GODEBUG turns it on"))
    else:
        fips = None  # module linked, but without build info the default mode is unknown
    return {"fips140": _feature(fips, *ev)}


def _boringcrypto(x: FeatureInput) -> dict[str, GoFeature]:
    boring = sorted(x.names_with("_goboringcrypto_"))[:1]
    if boring:
        return {"boringcrypto": _feature(True, Evidence(FN, boring[0], "BoringSSL crypto through cgo"))}
    if "X:boringcrypto" in x.version:
        return {"boringcrypto": _feature(True, Evidence("string", "runtime.buildVersion", x.version))}
    return {"boringcrypto": _feature(False, Evidence("function", "_goboringcrypto_*", "absent"))}


def _race(x: FeatureInput) -> dict[str, GoFeature]:
    race = x.first(("runtime.racecallatomic", "runtime.racecall", "runtime.racefuncenter"))
    race_pkg = "runtime/race" in x.pkgs
    return {"race": _feature(bool(race or race_pkg),
                             Evidence(FN, race, "race detector runtime (runtime/race_*.s)") if race
                             else Evidence("package", "runtime/race", "linked" if race_pkg else "not linked"))}


FEATURE_CHECKS: list[FeatureCheck] = [_net, _osusergo, _tzdata, _x509_roots, _fips140, _boringcrypto, _race]


def features(ctx: Context) -> dict[str, GoFeature]:
    """Every feature of :data:`FEATURES`, in that order, from the checks of :data:`FEATURE_CHECKS`."""
    go = ctx.binary.go
    x = FeatureInput(exe=ctx.exe, tables=ctx.go, pkgs=ctx.go.feature_packages, goos=ctx.exe.os,
                     settings=go.settings if go else {}, version=(go.version or "") if go else "")
    out: dict[str, GoFeature] = {}
    for check in FEATURE_CHECKS:
        out.update(check(x))
    return {k: out[k] for k in FEATURES}


def unknown_features(reason: Evidence) -> dict[str, GoFeature]:
    return {k: _feature(None, reason) for k in FEATURES}


# The package whose presence each feature needs (gccgo: what is linked is decided inside libgo).
GCCGO_PACKAGES = {"netgo": "net", "netcgo": "net", "osusergo": "os/user", "tzdata_embedded": "time/tzdata",
                  "x509_system_roots": "crypto/x509", "fips140": "crypto/internal/fips140",
                  "boringcrypto": "crypto/internal/boring", "race": "runtime/race"}


def gccgo_features(ctx: Context) -> dict[str, GoFeature]:
    """gccgo output: what is not linked is off; what is linked is decided inside libgo, so unknown."""
    pkgs = ctx.go.package_paths
    out = {}
    for key, pkg in GCCGO_PACKAGES.items():
        if pkg in pkgs:
            value = True if key == "tzdata_embedded" else None
            out[key] = _feature(value, Evidence("package", pkg, "linked; gccgo: the behaviour is libgo's"))
        else:
            out[key] = _feature(False, Evidence("package", pkg, "not linked" if pkgs else "no package symbols"))
    return out
