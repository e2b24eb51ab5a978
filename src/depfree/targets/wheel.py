"""A wheel's platform tag as the contract its ELF files must meet (PEP 600 / PEP 656), from the wheel's file name
(PEP 427) or its ``WHEEL`` metadata, with the allowed external libraries of data/wheel_policies.toml."""

from __future__ import annotations

import functools
import posixpath
import re

from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.model import Binary, Evidence
from depfree.model_verdicts import MissingItem
from depfree.versions import version_key

_TAG = re.compile(r"^(?P<family>manylinux|musllinux|macosx)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>\w+)$")
_RAW_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}
_ARCH = {"arm64": "arm64", "universal2": "universal2", "x86_64": "amd64", "i686": "386", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64", "ppc64": "ppc64", "loongarch64": "loong64"}


@dataclass(frozen=True)
class Platform:
    tag: str  # as written: manylinux2014_x86_64
    family: str  # manylinux | musllinux | macosx
    libc: str  # glibc | musl | libsystem
    ceiling: str  # 2.17, 1.2; for macosx the oldest macOS the wheel promises to run on (13.0)
    arch: str  # GOARCH naming: amd64


@dataclass(frozen=True)
class WheelTag:
    """The Linux platforms a wheel claims (a compressed tag set names several)."""

    filename: str
    platforms: tuple[Platform, ...]
    raw: str = ""  # the platform part of the file name, as written

    @property
    def tag(self) -> str:
        return ".".join(p.tag for p in self.platforms) or self.raw


def _platform(tag: str) -> Platform | None:
    aliases = {k: v for k, v in load("wheel_policies.toml")["aliases"].items() if k != "source"}
    for legacy, modern in aliases.items():
        if tag.startswith(legacy + "_"):
            tag_norm = modern + tag[len(legacy):]
            break
    else:
        tag_norm = tag
    m = _TAG.match(tag_norm)
    if not m:
        return None
    family = m.group("family")
    libc = {"manylinux": "glibc", "musllinux": "musl", "macosx": "libsystem"}[family]
    return Platform(tag, family, libc,
                    f"{m.group('major')}.{m.group('minor')}", _ARCH.get(m.group("arch"), m.group("arch")))


def parse_wheel_name(path: str) -> WheelTag | None:
    """PEP 427: ``{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl``; None when the name is not a wheel's."""
    name = posixpath.basename(path.replace("!", "/"))
    if not name.endswith(".whl"):
        return None
    parts = name[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    platforms = tuple(p for p in (_platform(t) for t in parts[-1].split(".")) if p is not None)
    return WheelTag(name, platforms, parts[-1])


def _for(b: Binary, wheel: WheelTag) -> list[Platform]:
    libc = b.linkage.libc.flavour
    return [p for p in wheel.platforms if p.arch in (b.arch, "universal2") and p.family != "macosx"
            and (libc not in ("glibc", "musl") or p.libc == libc)]


@functools.cache
def _allowed(family: str, ceiling: str) -> frozenset[str]:
    data = load("wheel_policies.toml")[family]
    names = set(data["libraries"])
    if family == "manylinux":
        minor = int(ceiling.split(".")[1])
        for since, extra in data.get("since", {}).items():
            if minor >= int(since):
                names |= set(extra)
    return frozenset(names)


def allowed_library(b: Binary, wheel: WheelTag, name: str) -> bool:
    """Every platform of the wheel this binary runs on lets it take ``name`` from the system. glibc's dynamic loader
    (``ld-linux-x86-64.so.2``, NEEDED by libraries using TLS) is part of the glibc every manylinux host has, as
    auditwheel's lddtree treats it; likewise musl's ``libc.musl-ARCH.so.1``."""
    platforms = _for(b, wheel)
    # the C library's own loader names: ld-linux-x86-64.so.2 for glibc, libc.musl-x86_64.so.1 (the soname of musl's
    # libc.so, which is also its loader) for musl
    loader = name.startswith(("ld-linux", "ld64.so", "libc.musl-", "ld-musl-"))
    return bool(platforms) and all(loader or name in _allowed(p.family, p.ceiling) for p in platforms)


def check_tag(b: Binary, wheel: WheelTag) -> list[MissingItem]:
    """What in ``b`` breaks the wheel's promise: a libc the tag does not name, a glibc symbol version above the
    ceiling, an architecture the tag does not name. Static binaries meet every tag of their architecture."""
    out: list[MissingItem] = []
    for item in _check_tag(b, wheel):
        ev = [Evidence("file", wheel.filename, f"platform tag {wheel.tag} (PEP 427 file name)")]
        for req in b.linkage.versioned:
            if f"needs {req.family}_{req.min_version} " in str(item["why"]):
                ev.append(Evidence("version-need", f"{req.family}_{req.min_version}",
                                   ", ".join(s.symbol for s in req.symbols[:3])))
        low = b.effective_min_os
        if b.format == "macho" and low is not None:
            ev += low.evidence
        out.append(MissingItem(kind=str(item["kind"]), name=str(item["name"]), why=str(item["why"]),
                               severity=str(item["severity"]), evidence=ev))
    return out


def _check_tag(b: Binary, wheel: WheelTag) -> list[dict[str, object]]:
    if b.format == "macho":
        return _check_macos(b, wheel)
    if b.format != "elf" or b.type == "relocatable" or not wheel.platforms:
        return []
    out: list[dict[str, object]] = []
    link = b.linkage
    if not any(p.arch == b.arch for p in wheel.platforms if p.family != "macosx"):
        return [{"kind": "tag", "name": wheel.tag, "why": f"a {b.arch} binary in a wheel tagged {wheel.tag}",
                 "severity": "fail"}]
    if link.kind != "dynamic":
        return out
    libc = link.libc.flavour
    platforms = _for(b, wheel)
    if libc in ("glibc", "musl") and not platforms:
        return [{"kind": "tag", "name": wheel.tag, "why": f"linked against {libc}, but the wheel is tagged "
                 f"{wheel.tag} (no {'manylinux' if libc == 'glibc' else 'musllinux'} tag)", "severity": "fail"}]
    glibc = [p for p in platforms if p.libc == "glibc"]
    if not glibc:
        return out
    p = min(glibc, key=lambda p: version_key(p.ceiling))  # the lowest promise is the one that counts
    if link.min_glibc and version_key(link.min_glibc) > version_key(p.ceiling):
        syms = ", ".join(s.symbol for s in link.glibc_symbols[:3])
        out.append({"kind": "tag", "name": p.tag, "why": f"needs GLIBC_{link.min_glibc} (symbol {syms}), above "
                    f"the glibc {p.ceiling} ceiling of {p.tag}", "severity": "fail"})
    allowed = load("wheel_policies.toml")["manylinux"]["symbol_versions"].get(
        f"{p.ceiling.replace('.', '_')}_{_RAW_ARCH.get(p.arch, p.arch)}", {})
    for req in link.versioned:
        top = allowed.get(req.family)
        if top and version_key(req.min_version) > version_key(top):
            syms = ", ".join(s.symbol for s in req.symbols[:3])
            out.append({"kind": "tag", "name": p.tag, "why": f"needs {req.family}_{req.min_version} from "
                        f"{req.library}" + (f" (symbol {syms})" if syms else "") + f", above the {req.family} "
                        f"{top} that {p.tag} allows", "severity": "fail"})
    return out


def _check_macos(b: Binary, wheel: WheelTag) -> list[dict[str, object]]:
    """A macosx_X_Y tag promises macOS X.Y: the binary's minimum (LC_BUILD_VERSION, Go's) must not be above it."""
    from depfree.analysis.minimum import padded

    mac = [p for p in wheel.platforms if p.family == "macosx" and p.arch in (b.arch, "universal2")]
    low = b.effective_min_os
    if not mac or low is None or low.os != "macos":
        return []
    promise = min(mac, key=lambda p: padded(p.ceiling))
    if padded(low.version) > padded(promise.ceiling):
        return [{"kind": "tag", "name": promise.tag, "why": f"needs macOS {low.version}, but the wheel is tagged "
                 f"{promise.tag} (pip installs it on macOS {promise.ceiling})", "severity": "fail"}]
    return []
