"""Will this binary run on that target? ok / warn / fail, each reason with a code, a message and the fix in the
user's terms (the standard remedies: CGO_ENABLED=0, -tags netgo,osusergo, time/tzdata, copying the CA bundle,
building against an older glibc or musl, lowering GOAMD64)."""

from __future__ import annotations

import functools

from depfree.analysis.minimum import padded
from depfree.model import Binary, MinOS
from depfree.model_verdicts import TargetReason, TargetVerdict
from depfree.options import Options
from depfree.targets.profiles import Profile, load_profiles, select
from depfree.versions import version_key

FIX_STATIC = "build with CGO_ENABLED=0 (pure-Go net and os/user: -tags netgo,osusergo), or link statically"
FIX_MUSL = ("build on the target's libc, or link statically: CC=musl-gcc go build -ldflags '-linkmode external "
            "-extldflags -static'")
FIX_OLD_GLIBC = "build on (or against a sysroot of) the oldest glibc you support, or link statically with musl"
FIX_CERTS = "copy /etc/ssl/certs/ca-certificates.crt into the image (or embed roots: golang.org/x/crypto/x509roots/fallback)"
FIX_TZ = "import _ \"time/tzdata\" (or build with -tags timetzdata), or add the zoneinfo database to the image"
FIX_PASSWD = "add /etc/passwd and /etc/group to the image (or avoid os/user lookups)"
FIX_RESOLV = "add /etc/resolv.conf (container runtimes usually mount one) and /etc/hosts"
FIX_VCRUNTIME = ("install the Visual C++ Redistributable with the program (vc_redist), or link the C runtime statically "
                 "(MSVC /MT; Rust: -C target-feature=+crt-static)")
_CPU_LEVEL = {"x86-64-v1": 1, "x86-64-v2": 2, "x86-64-v3": 3, "x86-64-v4": 4}


def _reason(code: str, message: str, fix: str, severity: str) -> TargetReason:
    return TargetReason(code=code, message=message, fix=fix, severity=severity)


def _newer(need: str, have: str) -> bool:
    """``need`` is a later version than ``have``, compared numerically (``12.0`` meets ``12``)."""
    return padded(need) > padded(have)


@functools.cache
def _runtime_files() -> tuple[str, ...]:
    from depfree.targets.context import runtime_files

    return tuple(runtime_files())


def _present(p: Profile, what: str, alternatives: list[str]) -> bool:
    paths = [what, *alternatives]
    if p.container and any(x in _runtime_files() for x in paths):
        return True  # written by the container runtime at start, as `scan` of an image counts it
    return any(any(f == x or f.startswith(x.rstrip("/") + "/") or x.startswith(f.rstrip("/") + "/") for f in p.files)
               for x in paths if not x.startswith("$"))


def judge(b: Binary, p: Profile) -> TargetVerdict:
    reasons: list[TargetReason] = []
    if b.os != p.os:
        reasons.append(_reason("os-mismatch", f"a {b.os} binary cannot run on {p.name} ({p.os})",
                               f"build with GOOS={p.os}", "fail"))
    elif b.arch not in p.arch:
        reasons.append(_reason("arch-mismatch", f"a {b.arch} binary cannot run on {p.name} ({', '.join(p.arch)})",
                               f"build with GOARCH={p.arch[0]}", "fail"))
    else:
        reasons += _linux_reasons(b, p) if p.os == "linux" else _other_os_reasons(b, p)
    verdict = "fail" if any(r.severity == "fail" for r in reasons) else "warn" if reasons else "ok"
    return TargetVerdict(binary=b.path, target=p.name, verdict=verdict, reasons=reasons)


def _linux_reasons(b: Binary, p: Profile) -> list[TargetReason]:
    out: list[TargetReason] = []
    link = b.linkage
    low = b.effective_min_os
    if low is not None and low.os == "linux" and p.kernel and _newer(low.version, p.kernel):
        out.append(_reason("kernel-too-old", f"needs Linux {low.version} ({_sources(low)}), {p.name} ships "
                           f"{p.kernel}", "build with an older Go release or against an older C runtime", "fail"))
    if link.interpreter and link.interpreter not in p.interpreters:
        out.append(_reason("interpreter-missing", f"interpreter {link.interpreter} not present on {p.name}",
                           FIX_STATIC if b.go else FIX_MUSL, "fail"))
    elif link.kind == "dynamic":
        libc = link.libc.flavour
        if libc in ("glibc", "musl") and libc != p.libc:
            out.append(_reason("libc-mismatch", f"linked against {libc}, {p.name} has {p.libc}", FIX_MUSL, "fail"))
        if link.min_glibc and p.libc == "glibc" and p.libc_version and version_key(link.min_glibc) > version_key(
                p.libc_version):
            syms = ", ".join(s.symbol for s in link.glibc_symbols[:3])
            out.append(_reason("glibc-too-old", f"needs GLIBC_{link.min_glibc}, {p.name} has {p.libc_version}"
                               + (f" (symbol {syms})" if syms else ""), FIX_OLD_GLIBC, "fail"))
        missing_libs = [n for n in link.needed if p.libraries and n not in p.libraries and not n.startswith("ld-")]
        for name in missing_libs[:5]:
            out.append(_reason("library-missing", f"{name} is not part of {p.name}",
                               f"ship {name} in the image or link it statically", "fail"))
    for need in b.needs or []:
        if need.kind in ("file", "dir") and not _present(p, need.what, need.alternatives):
            code, fix, sev = _need_code(need.what)
            if not need.required:
                sev = "warn"
            out.append(_reason(code, f"{need.why}: {need.what} not in {p.name}", fix, sev))
        elif need.kind == "cpu" and _CPU_LEVEL.get(need.what, 1) > _CPU_LEVEL.get(p.cpu, 1):
            out.append(_reason("cpu-level", f"needs {need.what}; {p.name} supports CPUs down to {p.cpu}",
                               f"build with GOAMD64={p.cpu.split('-')[-1]}", "warn"))
    return out


def _need_code(what: str) -> tuple[str, str, str]:
    if "cert" in what or "ssl" in what or "pki" in what:
        return "ca-bundle-missing", FIX_CERTS, "warn"
    if "zoneinfo" in what:
        return "zoneinfo-missing", FIX_TZ, "warn"
    if what in ("/etc/passwd", "/etc/group"):
        return "userdb-missing", FIX_PASSWD, "warn"
    if what in ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"):
        return "resolver-config-missing", FIX_RESOLV, "warn"
    return "file-missing", f"add {what} to the image", "warn"


def _sources(low: MinOS) -> str:
    return "; ".join(f"{e.name}: {e.detail.split(';')[0]}" for e in low.evidence[:3])


def _other_os_reasons(b: Binary, p: Profile) -> list[TargetReason]:
    """Darwin and Windows: the OS version and the libraries that are not part of the OS. Linux runtime needs (NSS
    modules, /etc/resolv.conf, zoneinfo paths) are not judged here: those files are the OS's own business."""
    out: list[TargetReason] = []
    low = b.effective_min_os
    if low is not None and p.os_version and _newer(low.version, p.os_version):
        out.append(_reason("os-too-old", f"needs {low.os} {low.version} ({_sources(low)}), {p.name} is "
                           f"{p.os_version}", "build with an older toolchain / lower deployment target", "fail"))
    kinds = {lib.name: lib.kind for lib in b.linkage.libraries}
    for need in b.needs or []:
        if need.kind == "library" and need.required:
            if kinds.get(need.what) == "c-runtime:vcruntime":  # installed with the program, not part of Windows
                out.append(_reason("runtime-required", f"{need.what} is the Visual C++ Redistributable: not part "
                                   f"of {p.name}, it must be installed", FIX_VCRUNTIME, "warn"))
                continue
            out.append(_reason("library-missing", f"{need.what} is not part of {p.name}",
                               f"ship {need.what} next to the program or link it statically", "fail"))
    if b.format == "pe" and p.os_version:
        from depfree.targets.windows import later_than

        found = [s for lib in b.linkage.libraries if not lib.delay_load  # delay-loaded: a program may check first
                 for s in later_than(lib, p.os_version)]
        families: dict[str, list[str]] = {}
        for since in found:
            if since.family:
                families.setdefault(since.family, []).append(since.what)
        for since in found:
            if since.family and since.what != families[since.family][0]:
                continue  # one reason for the API sets of one family
            kind = "entry point" if "!" in since.what else "DLL"
            what = since.what
            if since.family:
                what = ", ".join(families[since.family])
                kind = f"{since.family}* API set{'s' if len(families[since.family]) > 1 else ''}"
            message = (f"{what} ({kind}) ships with {since.release} ({since.version}) and later, {p.name} is "
                       f"{p.os_version} ({since.source})")
            if since.update:
                out.append(_reason("update-required", f"{message}; on {p.name} only with {since.update}",
                                   f"install {since.update} on {p.name}, or link the C runtime statically", "warn"))
            else:
                out.append(_reason("library-missing", message, "raise the minimum Windows version, or build for "
                                   "the older release (an older toolchain)", "fail"))
    return out


def judge_targets(binary: Binary, options: Options) -> list[TargetVerdict]:
    """The short verdicts for the default target set (or ``options.targets``) in every report: the judgement the
    API applies once the analyzers have gathered the facts."""
    profiles = load_profiles(options.targets_file)
    return [judge(binary, p) for p in select(profiles, options.targets, os=_os(binary))]


def _os(b: Binary) -> str:
    """The profile os of a binary: a Mach-O for macOS is ``darwin`` there."""
    return "darwin" if b.os in ("darwin", "macos", "ios") else b.os
