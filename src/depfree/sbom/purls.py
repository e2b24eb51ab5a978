"""Package URLs (https://github.com/package-url/purl-spec) as vulnerability scanners match them:

* Go modules: ``pkg:golang/<module path>@<version>`` — the module path, never a package path below it (the Go
  vulnerability database and OSV key advisories by module);
* the Go standard library: ``pkg:golang/stdlib@<version without "go">`` (the name syft, grype and OSV use);
* Debian packages: ``pkg:deb/<vendor>/<package>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>``;
* wheels: ``pkg:pypi/<normalised name>@<version>``; images: ``pkg:oci/<name>@<digest>``."""

from __future__ import annotations

import re

from packageurl import PackageURL


def _split_path(path: str) -> tuple[str | None, str]:
    namespace, _, name = path.rpartition("/")
    return namespace or None, name


def golang(module: str, version: str = "") -> str:
    namespace, name = _split_path(module)
    v = version if version and version != "(devel)" else None
    return PackageURL(type="golang", namespace=namespace, name=name, version=v).to_string()


def go_stdlib_version(go_version: str) -> str:
    """``go1.22.1`` -> ``1.22.1``; ``go1.21.0-bigcorp`` -> ``1.21.0``; ``devel go1.23-abc`` -> ``1.23``; else ''."""
    m = re.search(r"go(\d+\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?)", go_version or "")
    return m.group(1) if m else ""


def golang_stdlib(go_version: str) -> str:
    return PackageURL(type="golang", name="stdlib", version=go_stdlib_version(go_version) or None).to_string()


def deb(package: str, version: str, arch: str = "", vendor: str = "debian", distro: str = "") -> str:
    qualifiers = {k: v for k, v in (("arch", arch), ("distro", distro)) if v}
    return PackageURL(type="deb", namespace=vendor or "debian", name=package, version=version,
                      qualifiers=qualifiers or None).to_string()


def pypi(name: str, version: str) -> str:
    return PackageURL(type="pypi", name=re.sub(r"[-_.]+", "-", name).lower(), version=version or None).to_string()


def oci(name: str, digest: str, repository: str = "", tag: str = "") -> str:
    qualifiers = {k: v for k, v in (("repository_url", repository), ("tag", tag)) if v}
    return PackageURL(type="oci", name=name.lower(), version=digest or None, qualifiers=qualifiers or None).to_string()
