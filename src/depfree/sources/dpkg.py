"""The dpkg database of a Debian or Ubuntu root filesystem, as plain data: ``var/lib/dpkg/status`` (one deb822
stanza per package, see dpkg(1) and deb-control(5)) and ``var/lib/dpkg/info/<package>[:<arch>].list`` (the paths a
package installed, one per line). Parsing only; reading the files goes through a filesystem view elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

MAX_STANZAS = 100_000  # far above any real system (a full desktop has ~3,000 packages)


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
        """dpkg's "installed" (or half-configured/unpacked files still on disk): its files are there."""
        return self.status == "" or self.status.split()[-1:] in (["installed"], ["half-configured"], ["unpacked"])

    @property
    def list_names(self) -> tuple[str, ...]:
        """The names its file list may have under ``info/``: ``<pkg>:<arch>.list`` for Multi-Arch: same packages
        (dpkg ≥ 1.16.2), ``<pkg>.list`` otherwise."""
        return (f"{self.package}:{self.architecture}.list", f"{self.package}.list")


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """deb822 paragraphs: ``Field: value`` lines, continuation lines starting with a space or tab, paragraphs
    separated by blank lines. Field names are kept as written (dpkg writes them capitalised)."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                if len(out) >= MAX_STANZAS:
                    return out
                cur, last = {}, ""
            continue
        if line[0] in " \t":
            if last:
                cur[last] += "\n" + line[1:]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue  # not a field: ignored as dpkg would reject it, without losing the rest
        last = name.strip()
        cur[last] = value.strip()
    if cur:
        out.append(cur)
    return out


def package_of(fields: dict[str, str]) -> DpkgPackage | None:
    """A stanza as a :class:`DpkgPackage` (None without Package or Version)."""
    name, version = fields.get("Package", ""), fields.get("Version", "")
    if not name or not version:
        return None
    source, _, rest = fields.get("Source", "").partition(" ")
    source_version = rest.strip().strip("()") if rest else ""
    return DpkgPackage(package=name, version=version, architecture=fields.get("Architecture", ""),
                       status=fields.get("Status", ""), source=source, source_version=source_version,
                       multi_arch=fields.get("Multi-Arch", ""))


def parse_status(text: str) -> list[DpkgPackage]:
    """The packages of a status file (or status.d/ entry, or control file), in file order."""
    return [p for p in (package_of(s) for s in parse_stanzas(text)) if p is not None]


def parse_list(text: str) -> list[str]:
    """The paths of an ``info/*.list`` file: absolute, as dpkg recorded them (``/.`` is the root entry, dropped)."""
    return [line for line in (raw.rstrip("\n") for raw in text.splitlines()) if line.startswith("/") and line != "/."]
