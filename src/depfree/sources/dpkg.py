"""Debian package metadata: a .deb's control member and a dpkg database — ``status`` (one deb822 stanza per
package, dpkg(1)), ``info/<package>[:<arch>].list`` (the paths a package installed) and its ``shlibs``/``symbols``.

The parts used to judge a .deb like dpkg-shlibdeps(1) would: the ``Depends``/``Pre-Depends`` fields (deb-control(5),
Debian Policy §7.1), and the soname → package maps of ``shlibs`` (deb-shlibs(5): ``library soversion dependency``)
and ``symbols`` files (deb-symbols(5): ``libname.so.N package #MINVER#`` headers), from the package's own control
member and from ``/var/lib/dpkg/info/*.{shlibs,symbols}`` of a root filesystem.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator, Mapping

from depfree.dataclass import dataclass, field
from depfree.errors import FormatError
from depfree.sources.blob import Blob
from depfree.sources.fsview import FsView
from depfree.sources.osrelease import read_os_release

INFO_DIR = "/var/lib/dpkg/info"
MAX_CONTROL = 4 << 20  # bytes read of one control file
MAX_INFO_FILES = 20_000
LIMIT = 16 << 20  # bytes read of the status file or one file list


class DebError(FormatError):
    """The .deb's control member cannot be read (the message says why)."""


@dataclass
class DebControl:
    """What a .deb says about itself: its control fields and the sonames its shlibs/symbols files map."""

    fields: dict[str, str] = field(default_factory=dict)
    shlibs: dict[str, str] = field(default_factory=dict)  # soname -> package

    @property
    def package(self) -> str | None:
        return self.fields.get("Package")

    def depends(self) -> list[list[str]]:
        """Depends and Pre-Depends, each entry the package names of its alternatives."""
        return parse_depends(self.fields.get("Pre-Depends", "")) + parse_depends(self.fields.get("Depends", ""))


MAX_STANZAS = 100_000  # far above any real system (a full desktop has ~3,000 packages)


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """deb822 paragraphs (deb-control(5), the status file): ``Field: value`` lines, continuation lines (starting
    with a space or tab) folded in, paragraphs separated by blank lines; lines that are not fields are skipped."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                if len(out) >= MAX_STANZAS:
                    return out
                cur, key = {}, None
            continue
        if line[0] in " \t":
            if key is not None:
                cur[key] += "\n" + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip()
        cur[key] = value.strip()
    if cur:
        out.append(cur)
    return out


def parse_control(text: str) -> dict[str, str]:
    """The first paragraph of a deb-control(5) file: ``Field: value`` with continuation lines folded."""
    stanzas = parse_stanzas(text)
    return stanzas[0] if stanzas else {}


@dataclass(frozen=True)
class DpkgPackage:
    """One stanza of the status file (or of a .deb's ``control``): the fields an SBOM and a verdict need."""

    package: str
    version: str
    architecture: str
    status: str = ""  # "install ok installed"; empty in a .deb's control file
    source: str = ""  # the source package name ("glibc"), without the version in parentheses
    source_version: str = ""  # when the source has a version of its own ("glibc (2.36-9)")
    multi_arch: str = ""

    @property
    def installed(self) -> bool:
        """dpkg's "installed" (or half-configured/unpacked: its files are on disk); a control file's stanza too."""
        return self.status == "" or self.status.split()[-1:] in (["installed"], ["half-configured"], ["unpacked"])

    @property
    def list_names(self) -> tuple[str, ...]:
        """The names its file list may have under ``info/``: ``<pkg>:<arch>.list`` for Multi-Arch: same packages
        (dpkg ≥ 1.16.2, database format 1), ``<pkg>.list`` otherwise."""
        return (f"{self.package}:{self.architecture}.list", f"{self.package}.list")


def package_of(fields: dict[str, str]) -> DpkgPackage | None:
    """A stanza as a :class:`DpkgPackage` (None without Package or Version)."""
    name, version = fields.get("Package", ""), fields.get("Version", "")
    if not name or not version:
        return None
    source, _, rest = fields.get("Source", "").partition(" ")
    return DpkgPackage(package=name, version=version, architecture=fields.get("Architecture", ""),
                       status=fields.get("Status", ""), source=source, source_version=rest.strip().strip("()"),
                       multi_arch=fields.get("Multi-Arch", ""))


def parse_status(text: str) -> list[DpkgPackage]:
    """The packages of a status file (or a distroless ``status.d/`` entry, or a control file), in file order."""
    return [p for p in (package_of(s) for s in parse_stanzas(text)) if p is not None]


def parse_list(text: str) -> list[str]:
    """The paths of an ``info/*.list`` file: absolute, as dpkg recorded them (``/.``, the root entry, dropped)."""
    return [line for line in text.splitlines() if line.startswith("/") and line != "/."]


def parse_depends(value: str) -> list[list[str]]:
    """``libc6 (>= 2.34), libwebp7 | libwebp-dev`` → ``[["libc6"], ["libwebp7", "libwebp-dev"]]`` (architecture
    qualifiers and version constraints dropped)."""
    out = []
    for entry in value.replace("\n", " ").split(","):
        names = []
        for alt in entry.split("|"):
            name = alt.strip().split(" ", 1)[0].split("(", 1)[0].split("[", 1)[0].split(":", 1)[0].strip()
            if name:
                names.append(name)
        if names:
            out.append(names)
    return out


def parse_shlibs(text: str) -> dict[str, str]:
    """deb-shlibs(5): ``[type:] library-name soversion dependencies``. As dpkg-shlibdeps splits a soname
    (``libfoo.so.1`` → ``libfoo 1``, ``libfoo-1.2.so`` → ``libfoo 1.2``), a line maps both spellings; lines for
    another package type (``udeb:``) are skipped."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) < 3 or parts[0].endswith(":"):
            continue
        name, version, deps = parts[0], parts[1], parse_depends(" ".join(parts[2:]))
        if deps:
            out.setdefault(f"{name}.so.{version}", deps[0][0])
            out.setdefault(f"{name}-{version}.so", deps[0][0])
    return out


def parse_symbols(text: str) -> dict[str, str]:
    """deb-symbols(5): each block starts with ``libname.so.N package-dependency #MINVER#`` at column 0."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#*|":
            continue
        parts = line.split()
        if len(parts) >= 2:
            deps = parse_depends(" ".join(p for p in parts[1:] if not p.startswith("#")))
            if deps:
                out.setdefault(parts[0], deps[0][0])
    return out


def read_deb_control(blob: Blob) -> DebControl:
    """The control member of a .deb: ``control``, ``shlibs`` and ``symbols``. Raises :class:`DebError`."""
    from depfree.sources.archive import COMPRESSED, ArchiveError, Limits, ar_members, classify, decompressed

    class _NoSink:
        limits = Limits()

        def error(self, name: str, message: str) -> None:
            raise DebError(f"{name}: {message}")

    try:
        members = ar_members(blob, _NoSink())  # type: ignore[arg-type]
    except ArchiveError as exc:
        raise DebError(str(exc)) from None
    control = [(n, b) for n, b in members if n.startswith("control.tar")]
    if not control:
        raise DebError("expected a control.tar member in the Debian package, found none")
    name, body = control[0]
    kind = classify(body.head(512))
    out = DebControl()
    try:
        fh = decompressed(body, kind, Limits()) if kind in COMPRESSED else body.open()
        with fh, tarfile.open(fileobj=fh, mode="r|") as tf:
            for ti in tf:
                base = ti.name.rsplit("/", 1)[-1]
                if not ti.isfile() or base not in ("control", "shlibs", "symbols") or ti.size > MAX_CONTROL:
                    continue
                f = tf.extractfile(ti)
                text = f.read(MAX_CONTROL).decode("utf-8", "replace") if f else ""
                if base == "control":
                    out.fields = parse_control(text)
                elif base == "shlibs":
                    out.shlibs.update(parse_shlibs(text))
                else:
                    for so, pkg in parse_symbols(text).items():
                        out.shlibs.setdefault(so, pkg)
    except Exception as exc:  # noqa: BLE001 - any decoding failure (tarfile, lzma, zlib, zstd) is a bad member
        raise DebError(f"{name}: expected a tar of control files, found {type(exc).__name__}: {exc}") from None
    if not out.fields.get("Package"):
        raise DebError(f"{name}: expected a control file with a Package field, found none")
    return out


def deb_shlibs(paths: list[str]) -> dict[str, tuple[str, str]]:
    """soname -> (package, where) from the shlibs/symbols control files of every ``.deb`` among ``paths`` (files
    that are not a .deb, or whose control member cannot be read, are skipped: reported when scanned), so packages
    scanned together satisfy each other's sonames."""
    import os

    from depfree.sources.archive import classify

    out: dict[str, tuple[str, str]] = {}
    for p in paths:
        if not os.path.isfile(p):
            continue
        blob = Blob.of_file(p, os.path.getsize(p))
        if classify(blob.head(512)) != "deb":
            continue
        try:
            control = read_deb_control(blob)
        except DebError:
            continue
        for so, pkg in control.shlibs.items():
            out.setdefault(so, (pkg, f"the shlibs/symbols of {os.path.basename(p)}"))
    return out


def policy_package_names(soname: str) -> list[str]:
    """The names Debian Policy §8.1 gives the run-time package of a shared library: the soname's library name
    followed by its major version (``libwebp.so.7`` → ``libwebp7``), with a hyphen when the name ends in a digit
    (``libfoo2.so.3`` → ``libfoo2-3``), and the ``t64`` suffix of the 64-bit time_t transition (``libwebp7t64``).
    What a .deb's Depends names when no shlibs/symbols file is at hand to say it."""
    name, sep, version = soname.partition(".so.")
    if not sep or not name or not version:
        return []
    major = version.split(".")[0]
    base = f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"
    base = base.replace("_", "-").lower()
    return [base, base + "t64"]


BIARCH = ("-i386", "-x32", "-amd64", "-mips32", "-mipsn32", "-mips64", "-s390", "-powerpc", "-ppc64", "-sparc64")
BIARCH_PREFIXES = ("lib32", "lib64", "libx32", "libn32")


def _rank(info_name: str, arch: str) -> int:
    """0 for an info file of this architecture (``libc6:amd64``) or an unqualified one, 1 for another
    architecture, 2 for the bi-arch packages (``libc6-i386``, ``lib32z1``) whose shlibs name the same sonames for
    the other word size. dpkg-shlibdeps finds the library file and asks which package owns it; this keeps the
    owner of the native library without reading every file list."""
    pkg, _, qual = info_name.partition(":")
    if pkg.endswith(BIARCH) or pkg.startswith(BIARCH_PREFIXES):
        return 2
    return 0 if not qual or qual == arch else 1


class LazyShlibs(Mapping[str, tuple[str, str]]):
    """:func:`info_shlibs` of a view, read on first use (only a missing library asks)."""

    def __init__(self, view: FsView, where: str, arch: str = "amd64") -> None:
        self.view, self.where, self.arch = view, where, arch
        self._map: dict[str, tuple[str, str]] | None = None

    def _got(self) -> dict[str, tuple[str, str]]:
        if self._map is None:
            self._map = info_shlibs(self.view, self.where, self.arch)
        return self._map

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._got()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._got())

    def __len__(self) -> int:
        return len(self._got())


def info_shlibs(view: FsView, where: str, arch: str = "amd64") -> dict[str, tuple[str, str]]:
    """soname → (package, where) from ``/var/lib/dpkg/info/*.shlibs`` and ``*.symbols`` of a root (``where`` names
    it in the evidence), for Debian architecture ``arch``."""
    best: dict[str, tuple[int, str, str]] = {}
    names = view.listdir(INFO_DIR)[:MAX_INFO_FILES]
    for kind, parse in (("shlibs", parse_shlibs), ("symbols", parse_symbols)):
        for n in names:
            if not n.endswith("." + kind):
                continue
            data = view.read_bytes(f"{INFO_DIR}/{n}", MAX_CONTROL)
            if data is None:
                continue
            rank = _rank(n[: -len(kind) - 1], arch)
            for so, pkg in parse(data.decode("utf-8", "replace")).items():
                if so not in best or rank < best[so][0]:
                    best[so] = (rank, pkg, f"{where.rstrip('/')}{INFO_DIR}/{n}")
    return {so: (pkg, w) for so, (_, pkg, w) in best.items()}


# ---- which package owns a file (dpkg -S) ---------------------------------------------------------------------------
# The status file (or distroless ``status.d/``) for the installed packages, their ``info/*.list`` for the files. A
# path matches a listed path when both name the same file once the directories are resolved in the tree (``/lib`` →
# ``/usr/lib`` on merged-/usr systems, where dpkg still records ``/lib/...``).

class DpkgOwners:
    """Lazily built index of the dpkg database of ``view``; ``owner(path)`` is the owning package or None."""

    def __init__(self, view: FsView) -> None:
        self.view = view
        self._by_base: dict[str, list[tuple[str, DpkgPackage]]] | None = None
        self._dirs: dict[str, str] = {}
        self.packages: list[DpkgPackage] = []
        os_release = read_os_release(view)
        self.os_release = os_release
        self.vendor = os_release.get("ID", "")
        version = os_release.get("VERSION_ID") or os_release.get("VERSION_CODENAME", "")
        self.distro = f"{self.vendor}-{version}" if self.vendor and version else ""

    def _read(self, path: str) -> str | None:
        data = self.view.read_bytes(path, LIMIT)
        return data.decode("utf-8", "replace") if data is not None else None

    def _index(self) -> dict[str, list[tuple[str, DpkgPackage]]]:
        if self._by_base is not None:
            return self._by_base
        self._by_base = {}
        status = self._read("/var/lib/dpkg/status")
        packages = parse_status(status) if status is not None else []
        for name in self.view.listdir("/var/lib/dpkg/status.d"):  # distroless: one stanza per file, no .list
            text = self._read(f"/var/lib/dpkg/status.d/{name}")
            if text is not None:
                packages.extend(parse_status(text))
        self.packages = sorted((p for p in packages if p.installed), key=lambda p: (p.package, p.architecture))
        for pkg in self.packages:
            for list_name in pkg.list_names:
                text = self._read(f"{INFO_DIR}/{list_name}")
                if text is None:
                    continue
                for path in parse_list(text):
                    self._by_base.setdefault(posixpath.basename(path), []).append((path, pkg))
                break
        return self._by_base

    @property
    def present(self) -> bool:
        """Is there a dpkg database at all?"""
        self._index()
        return bool(self.packages)

    def _canonical(self, path: str) -> str:
        d, base = posixpath.split(path)
        if d not in self._dirs:
            self._dirs[d] = self.view.resolve(d).path
        return posixpath.join(self._dirs[d], base)

    def owner(self, path: str) -> DpkgPackage | None:
        candidates = self._index().get(posixpath.basename(path), [])
        if not candidates:
            return None
        want = self._canonical(path)
        for listed, pkg in candidates:
            if listed == path or self._canonical(listed) == want:
                return pkg
        return None
