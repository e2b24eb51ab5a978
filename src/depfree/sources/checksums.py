"""Checksum manifests that come with a release: ``SHA256SUMS``, ``*checksums.txt`` (GoReleaser), ``*.sha256``.

Both line styles are read: GNU (``HASH  name`` / ``HASH *name``) and BSD (``SHA256 (name) = HASH``); the algorithm
follows from the hash length (sha256, sha512, sha1, md5). A ``NAME.sha256`` holding a bare hash is about ``NAME``.

The result for a scanned path (a container's ``checksums`` entry in the report)::

    {"manifest": "dist/SHA256SUMS", "ok": ["app.tar.gz"],
     "mismatched": [{"name", "path", "algorithm", "expected", "actual"}],
     "missing": ["listed but absent"], "unlisted": ["present but not listed"], "errors": ["manifest: line 3: ..."]}
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re

from depfree.dataclass import dataclass, field
from depfree.errors import InputError
from depfree.model_verdicts import ChecksumMismatch, ChecksumResult
from depfree.sources.tree import entries

ALGORITHMS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
MANIFEST_PATTERNS = ("sha256sums", "sha512sums", "*checksums.txt", "*.sha256", "*.sha512")
IGNORED_SUFFIXES = (".sig", ".asc", ".pem", ".crt", ".sbom.json", ".intoto.jsonl")
MAX_MANIFEST = 16 << 20
MAX_UNLISTED = 1000
_GNU = re.compile(r"^\\?([0-9a-fA-F]{32,128})\s+[ *]?(.+)$")
_BSD = re.compile(r"^(SHA256|SHA512|SHA1|MD5)\s*\((.+)\)\s*=\s*([0-9a-fA-F]{32,128})$")
_BARE = re.compile(r"^([0-9a-fA-F]{32,128})$")


@dataclass
class Entry:
    name: str  # as written in the manifest, '/'-separated, relative to the manifest's directory
    digest: str
    algorithm: str


@dataclass
class Manifest:
    path: str
    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def is_manifest_name(name: str) -> bool:
    """Whether ``name`` (any case) matches one of :data:`MANIFEST_PATTERNS`: one regular expression, ``fnmatch``'s
    translation of each (a scan of a directory asks it of every name in it: 1,300 in /usr/bin)."""
    return _manifest_pattern().match(name.lower()) is not None


@functools.cache
def _manifest_pattern() -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in MANIFEST_PATTERNS))


def parse_manifest(path: str) -> Manifest:
    """Read one manifest; unreadable lines become errors (``line N: ...``). Raises InputError for an unreadable
    file."""
    try:
        size = os.path.getsize(path)
        if size > MAX_MANIFEST:
            raise InputError(f"{path}: {size:,} bytes is too large for a checksum manifest (limit {MAX_MANIFEST:,})")
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        raise InputError(f"{path}: no such checksum file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a checksum file") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    m = Manifest(path)
    base = os.path.basename(path)
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if g := _GNU.match(line):
            digest, name = g.group(1), g.group(2).strip()
        elif b := _BSD.match(line):
            name, digest = b.group(2).strip(), b.group(3)
        elif (bare := _BARE.match(line)) and base.lower().endswith((".sha256", ".sha512")):
            digest, name = bare.group(1), base.rsplit(".", 1)[0]
        else:
            m.errors.append(f"line {n}: not a checksum line")
            continue
        alg = ALGORITHMS.get(len(digest))
        if alg is None:
            m.errors.append(f"line {n}: a {len(digest)}-digit hash matches no known algorithm")
            continue
        name = name.replace("\\", "/")
        while name.startswith("./"):
            name = name[2:]
        m.entries.append(Entry(name, digest.lower(), alg))
    if not m.entries and not m.errors:
        m.errors.append("no checksum lines")
    return m


def find_manifests(path: str) -> list[str]:
    """Manifests beside ``path`` (in its directory, or in it when it is a directory), sorted."""
    d = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return []
    out = []
    for n in names:
        if not is_manifest_name(n):
            continue
        full = os.path.join(d, n)
        if os.path.isfile(full) and os.path.abspath(full) != os.path.abspath(path):
            out.append(full)
    return out


def file_digest(path: str, algorithm: str) -> str:
    import hashlib  # (a scan with no manifest beside its inputs verifies nothing)

    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify(path: str, manifests: list[str]) -> ChecksumResult | None:
    """Check ``path`` against the manifests: a file, its own entry; a directory, every listed file under it and
    every file under it that no manifest lists. None when there are no manifests."""
    if not manifests:
        return None
    parsed = [parse_manifest(m) for m in manifests]
    result = ChecksumResult(manifest=", ".join(manifests), ok=[], mismatched=[], missing=[], unlisted=[],
                            errors=[f"{m.path}: {e}" for m in parsed for e in m.errors])
    is_dir = os.path.isdir(path)
    target = os.path.abspath(path)
    listed: set[str] = set()
    for m in parsed:
        mdir = os.path.dirname(os.path.abspath(m.path))
        for e in m.entries:
            full = os.path.normpath(os.path.join(mdir, e.name))
            if is_dir:
                if not full.startswith(target + os.sep):
                    continue
            elif full != target:
                if e.name != os.path.basename(target) or any(
                        os.path.normpath(os.path.join(mdir, o.name)) == target for o in m.entries):
                    continue
                full = target  # a manifest kept elsewhere (--checksums) names the artifact by its file name
            listed.add(full)
            shown = os.path.relpath(full, target) if is_dir else e.name
            if not os.path.isfile(full):
                result.missing.append(shown)
                continue
            try:
                actual = file_digest(full, e.algorithm)
            except OSError as exc:
                result.errors.append(f"{shown}: {exc.strerror or exc}")
                continue
            if actual == e.digest:
                result.ok.append(shown)
            else:
                result.mismatched.append(ChecksumMismatch(name=shown, path=full, algorithm=e.algorithm,
                                                          expected=e.digest, actual=actual))
    manifest_paths = {os.path.abspath(m) for m in manifests}
    if is_dir:
        def unreadable(p: str, why: str) -> None:
            result.errors.append(f"{os.path.relpath(p, target)}: {why}")

        for _dir, files, _others in entries(target, unreadable):  # the one walk: no symlink followed or listed
            for f in files:
                if f.path in listed or f.path in manifest_paths or is_manifest_name(f.name) or \
                        f.name.endswith(IGNORED_SUFFIXES):
                    continue
                if len(result.unlisted) < MAX_UNLISTED:
                    result.unlisted.append(os.path.relpath(f.path, target))
    elif target not in listed:
        result.unlisted.append(os.path.basename(target))
    return result
