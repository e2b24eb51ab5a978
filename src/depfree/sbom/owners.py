"""Which dpkg package owns a file of a root filesystem (what ``dpkg -S`` answers), read through the tree's
filesystem view: the status file (or distroless ``status.d/``) for the installed packages, their ``info/*.list``
for the files. A path matches a listed path when both name the same file once the directories are resolved in the
tree (``/lib`` → ``/usr/lib`` on merged-/usr systems, where dpkg still records ``/lib/...``)."""

from __future__ import annotations

import posixpath

from depfree.sources.dpkg import DpkgPackage, parse_list, parse_status
from depfree.sources.fsview import FsView
from depfree.sources.osrelease import read_os_release

INFO = "/var/lib/dpkg/info"
LIMIT = 16 << 20


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
                text = self._read(f"{INFO}/{list_name}")
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
