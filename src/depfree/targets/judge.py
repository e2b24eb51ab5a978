"""Will this binary run on that target? ok / warn / fail, each reason with a code, a message and the fix in the
user's terms (the standard remedies: CGO_ENABLED=0, -tags netgo,osusergo, time/tzdata, copying the CA bundle,
building against an older glibc or musl, lowering GOAMD64)."""

from __future__ import annotations

from typing import Any

from depfree.analysis.context import Context
from depfree.analysis.versions import version_key
from depfree.model import Binary
from depfree.targets.profiles import Profile, load_profiles, select

FIX_STATIC = "build with CGO_ENABLED=0 (pure-Go net and os/user: -tags netgo,osusergo), or link statically"
FIX_MUSL = ("build on the target's libc, or link statically: CC=musl-gcc go build -ldflags '-linkmode external "
            "-extldflags -static'")
FIX_OLD_GLIBC = "build on (or against a sysroot of) the oldest glibc you support, or link statically with musl"
FIX_CERTS = "copy /etc/ssl/certs/ca-certificates.crt into the image (or embed roots: golang.org/x/crypto/x509roots/fallback)"
FIX_TZ = "import _ \"time/tzdata\" (or build with -tags timetzdata), or add the zoneinfo database to the image"
FIX_PASSWD = "add /etc/passwd and /etc/group to the image (or avoid os/user lookups)"
FIX_RESOLV = "add /etc/resolv.conf (container runtimes usually mount one) and /etc/hosts"
_CPU_LEVEL = {"x86-64-v1": 1, "x86-64-v2": 2, "x86-64-v3": 3, "x86-64-v4": 4}


def _reason(code: str, message: str, fix: str, severity: str) -> dict[str, str]:
    return {"code": code, "message": message, "fix": fix, "severity": severity}


def _present(p: Profile, what: str, alternatives: list[str]) -> bool:
    paths = [what, *alternatives]
    return any(any(f == x or f.startswith(x.rstrip("/") + "/") or x.startswith(f.rstrip("/") + "/") for f in p.files)
               for x in paths if not x.startswith("$"))


def judge(b: Binary, p: Profile) -> dict[str, Any]:
    reasons: list[dict[str, str]] = []
    if b.os != p.os:
        reasons.append(_reason("os-mismatch", f"a {b.os} binary cannot run on {p.name} ({p.os})",
                               f"build with GOOS={p.os}", "fail"))
    elif b.arch not in p.arch:
        reasons.append(_reason("arch-mismatch", f"a {b.arch} binary cannot run on {p.name} ({', '.join(p.arch)})",
                               f"build with GOARCH={p.arch[0]}", "fail"))
    else:
        reasons += _linux_reasons(b, p) if p.os == "linux" else _other_os_reasons(b, p)
    verdict = "fail" if any(r["severity"] == "fail" for r in reasons) else "warn" if reasons else "ok"
    return {"binary": b.path, "target": p.name, "verdict": verdict, "reasons": reasons}


def _linux_reasons(b: Binary, p: Profile) -> list[dict[str, str]]:
    out = []
    link = b.linkage
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
        elif need.kind == "kernel" and p.kernel and version_key(need.what) > version_key(p.kernel):
            out.append(_reason("kernel-too-old", f"needs Linux {need.what}, {p.name} ships {p.kernel}",
                               "build with an older Go release that supports this kernel", "fail"))
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


def _other_os_reasons(b: Binary, p: Profile) -> list[dict[str, str]]:
    out = []
    if b.min_os and p.os_version and version_key(b.min_os.version) > version_key(p.os_version):
        out.append(_reason("os-too-old", f"needs {b.min_os.os} {b.min_os.version}, {p.name} is {p.os_version}",
                           "build with an older toolchain / lower deployment target", "fail"))
    for need in b.needs or []:
        if need.kind == "os" and p.os_version and version_key(need.what.split()[-1]) > version_key(p.os_version):
            out.append(_reason("os-too-old", f"{need.why}; {p.name} is {p.os_version}",
                               "build with an older Go release", "fail"))
        if need.kind == "library":
            out.append(_reason("library-missing", f"{need.what} is not part of {p.name}",
                               f"ship {need.what} next to the program or link it statically", "fail"))
    return out


def analyze_targets(ctx: Context) -> None:
    """The short verdicts for the default target set (or Options.targets) in every report."""
    profiles = load_profiles(ctx.options.targets_file)
    ctx.binary.targets = [judge(ctx.binary, p) for p in select(profiles, ctx.options.targets)]
