"""The public library API: ``inspect`` one or more files into a :class:`~depfree.model.Report`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from depfree import __version__
from depfree.analysis.context import Options
from depfree.analysis.pipeline import analyze, sha256_of
from depfree.errors import DepfreeError
from depfree.formats.detect import open_executables
from depfree.model import Binary, FileError, Report
from depfree.sources.file import ByteSource, FileSource


def tool_info() -> dict[str, str]:
    return {"name": "depfree", "version": __version__}


def inspect_source(source: ByteSource, options: Options | None = None, display_path: str | None = None) -> list[Binary]:
    """Facts for every executable image in one source (several for a universal Mach-O). Raises DepfreeError."""
    options = options or Options()
    digest = sha256_of(source) if options.hash else None
    return [analyze(exe, options, sha256=digest, display_path=display_path) for exe in open_executables(source)]


def inspect_path(path: str | os.PathLike[str], options: Options | None = None) -> list[Binary]:
    with FileSource(path) as src:
        return inspect_source(src, options)


def inspect(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, deep: bool = False,
            options: Options | None = None, progress: Callable[[int, int, str], None] | None = None,
            hash: bool = True) -> Report:
    """Read each file without executing it and report what it needs. Bad files go to ``report.errors``.
    ``progress(done, total, current)`` is called before each file (the CLI's progress bar). ``hash=False`` (when
    no ``options`` are given; else ``options.hash``) leaves each binary's ``sha256`` None."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    options = options or Options(deep=deep, hash=hash)
    report = Report(tool=tool_info())
    files, report.errors = expand_paths(paths)
    for i, p in enumerate(files):
        if progress is not None:
            progress(i, len(files), os.fspath(p))
        try:
            report.binaries.extend(inspect_path(p, options))
        except DepfreeError as exc:
            report.errors.append(FileError(path=os.fspath(p), error=_strip_path(str(exc), os.fspath(p))))
        except (MemoryError, RecursionError) as exc:
            report.errors.append(FileError(path=os.fspath(p), error=f"cannot analyse: {type(exc).__name__}"))
    return report


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[FileError]]:
    """Files as given; directories walked (symlinks not followed, so no loops and no escapes) keeping only files
    whose magic says ELF, PE or Mach-O. Unreadable directories become errors; the walk goes on."""
    from depfree.formats.detect import sniff

    files: list[str] = []
    errors: list[FileError] = []
    for p in paths:
        p = os.fspath(p)
        if not os.path.isdir(p) or os.path.islink(p):
            files.append(p)
            continue

        def onerror(exc: OSError, top: str = p) -> None:
            errors.append(FileError(path=exc.filename or top, error=exc.strerror or str(exc)))

        before = len(files)
        for root, dirs, names in os.walk(p, onerror=onerror, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                try:
                    with open(full, "rb") as fh:
                        head = fh.read(8)
                except OSError as exc:
                    errors.append(FileError(path=full, error=exc.strerror or str(exc)))
                    continue
                if sniff(head) is not None:
                    files.append(full)
        if len(files) == before:
            errors.append(FileError(path=p, error="directory holds no ELF, PE or Mach-O file"))
    return files, errors


def _strip_path(msg: str, path: str) -> str:
    return msg[len(path) + 2 :] if msg.startswith(path + ": ") else msg
