"""The public library API: ``inspect`` one or more files into a :class:`~depfree.model.Report`, and
:func:`analyse_source`, the one entry point every verb's analysis goes through (inspect, scan, check, hardening,
size, targets, build) with one error contract."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from depfree import __version__
from depfree.analysis.gotables import GoTables
from depfree.analysis.pipeline import BackgroundDigest, analyze, sha256_of
from depfree.dataclass import dataclass, field
from depfree.errors import DepfreeError, NotABinaryError, strip_name
from depfree.formats.base import Executable
from depfree.formats.detect import open_executables
from depfree.model import Binary, FileError, Report
from depfree.options import Options
from depfree.sources.file import ByteSource, FileSource
from depfree.targets.judge import judge_targets

if TYPE_CHECKING:
    from depfree.analysis.size import SCHEMA as SIZE_SCHEMA
    from depfree.analysis.size import SizeReport
    from depfree.analysis.size import diff as size_diff
    from depfree.sources.archive import Limits

# The size analysis and the directory walk are imported when first used: ``inspect`` of one file needs neither, and
# the walk brings in every archive reader (issue 23: the verb imports only what it needs).
_LAZY = {"SIZE_SCHEMA": "SCHEMA", "SizeReport": "SizeReport", "size_diff": "diff"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from depfree.analysis import size

        return getattr(size, _LAZY[name])
    raise AttributeError(f"module 'depfree.api' has no attribute {name!r}")

T = TypeVar("T")

# A file at least this large is hashed alongside its analysis when asked (analyse_source's ``hash_alongside``): below
# it the digest takes under 3 ms, about what starting a thread and waiting for it can cost.
HASH_ALONGSIDE = 4 << 20

__all__ = ["SIZE_SCHEMA", "Analysis", "SizeReport", "analyse_path", "analyse_source", "binary_facts", "expand_paths",
           "files_under", "inspect", "inspect_path", "inspect_source", "parse_limits", "size_diff", "size_path",
           "tool_info"]


def tool_info() -> dict[str, str]:
    return {"name": "depfree", "version": __version__}


@dataclass
class Analysis(Generic[T]):
    """What :func:`analyse_source` made of one source: one result per executable image in it (several for a
    universal Mach-O), or why there are none."""

    results: list[T]
    error: str | None = None  # one line, what was expected and what was found, without the source's name
    cause: BaseException | None = field(default=None, repr=False)  # the exception behind ``error``

    @property
    def not_executable(self) -> bool:
        """The magic matched but the file is not an executable (a DOS text starting "MZ"): not an error in a scan."""
        return isinstance(self.cause, NotABinaryError)

    def raise_error(self) -> None:
        """Raise the exception behind ``error`` again (a DepfreeError for bad input; anything else is a bug)."""
        if self.cause is not None:
            raise self.cause


def binary_facts(exe: Executable, options: Options, name: str, sha256: str | None, *,
                 tables: GoTables | None = None) -> Binary:
    """The facts of one executable (the analyzers, in order), then the judgement: its short target verdicts (none
    for ``options.inventory``). ``tables``: the executable's Go tables when the caller reads them for more (see
    :func:`analyze`)."""
    binary = analyze(exe, options, sha256=sha256, display_path=name, tables=tables)
    if not options.inventory:
        binary.targets = judge_targets(binary, options)
    return binary


@overload
def analyse_source(source: ByteSource, name: str, options: Options | None = None, *,
                   sha256: str | None = None, hash_alongside: bool = False) -> Analysis[Binary]: ...


@overload
def analyse_source(source: ByteSource, name: str, options: Options | None = None, *, sha256: str | None = None,
                   each: Callable[[Executable, str], T], hash_alongside: bool = False) -> Analysis[T]: ...


def analyse_source(source: ByteSource, name: str, options: Options | None = None, *, sha256: str | None = None,
                   each: Callable[[Executable, str], T] | None = None,
                   hash_alongside: bool = False) -> Analysis[Binary] | Analysis[T]:
    """Every executable image in ``source``, shown as ``name``: its facts and target verdicts (or, with ``each``,
    ``each(executable, name)``: ``depfree size`` gives its breakdown). Never raises: bad input (any
    :class:`DepfreeError` a reader raises), a resource limit (MemoryError, RecursionError) and a bug alike come back
    as :attr:`Analysis.error`, one line. ``sha256``: the content's digest when the caller knows it; without it, the
    digest is computed only when ``options.hash`` (else each binary's ``sha256`` is None). ``hash_alongside``: a
    source of at least :data:`HASH_ALONGSIDE` bytes is hashed by a thread while it is analysed (for a process that
    analyses one file at a time; a scan's pool keeps both cores busy already)."""
    try:
        if each is not None:
            return Analysis([each(exe, name) for exe in open_executables(source)])
        opts = options or Options()
        if sha256 is None and opts.hash and hash_alongside and source.size >= HASH_ALONGSIDE:
            facts_only = dataclasses.replace(opts, hash=False)  # (the analysis must not hash it again)
            with BackgroundDigest(source) as pending:
                found = [binary_facts(exe, facts_only, name, None) for exe in open_executables(source)]
                computed = pending.result()
            for b in found:
                b.sha256 = computed
            return Analysis(found)
        digest = sha256 or (sha256_of(source) if opts.hash else None)
        return Analysis([binary_facts(exe, opts, name, digest) for exe in open_executables(source)])
    except DepfreeError as exc:
        return Analysis([], strip_name(str(exc), name), exc)
    except (MemoryError, RecursionError) as exc:
        return Analysis([], f"cannot analyse: {type(exc).__name__}", exc)
    except Exception as exc:  # noqa: BLE001 - one broken file must not end a run over thousands
        return Analysis([], f"internal error while analysing ({type(exc).__name__}: {exc})", exc)


def inspect_source(source: ByteSource, options: Options | None = None, display_path: str | None = None) -> list[Binary]:
    """Facts for every executable image in one source (several for a universal Mach-O). Raises what
    :func:`analyse_source` reports (a DepfreeError for bad input)."""
    got = analyse_source(source, display_path or source.name, options)
    got.raise_error()
    return got.results


def inspect_path(path: str | os.PathLike[str], options: Options | None = None) -> list[Binary]:
    with FileSource(path) as src:
        return inspect_source(src, options)


def analyse_path(path: str | os.PathLike[str], options: Options | None = None, *,
                 hash_alongside: bool = False) -> Analysis[Binary]:
    """:func:`analyse_source` of the file at ``path`` (a file that cannot be opened is the analysis' error)."""
    name = os.fspath(path)
    try:
        src = FileSource(path)
    except DepfreeError as exc:
        return Analysis([], strip_name(str(exc), name), exc)
    with src:
        return analyse_source(src, name, options, hash_alongside=hash_alongside)


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
        got = analyse_path(p, options, hash_alongside=True)
        report.binaries.extend(got.results)
        if got.error is not None:
            report.errors.append(FileError(path=os.fspath(p), error=got.error))
    return report


def size_path(path: str | os.PathLike[str]) -> list[SizeReport]:
    """``depfree size`` of one file: a size report per executable image (one per slice of a universal Mach-O), through
    :func:`analyse_source`. Raises what it reports (a DepfreeError for bad input)."""
    from depfree.analysis.size import size_of

    with FileSource(path) as src:
        got = analyse_source(src, os.fspath(path), each=size_of)
    got.raise_error()
    return got.results


def parse_limits(specs: tuple[str, ...] | list[str]) -> Limits:
    """The bounds on hostile archives of a scan, from ``NAME=SIZE`` settings (``scan --limit``; docs/limits.md)."""
    from depfree.sources.archive import parse_limits as parse

    return parse(specs)


def files_under(root: str, *, recursive: bool = True,
                on_error: Callable[[str, str], None] | None = None) -> Iterator[str]:
    """The regular files of a directory tree in name order, directory by directory (``sources.tree.entries``, the
    one walk: no symbolic link followed); ``on_error(path, why)`` hears of what cannot be read (default: nothing)."""
    from depfree.sources.tree import entries

    for _d, found, _others in entries(root, on_error or (lambda path, why: None), recursive=recursive):
        for e in found:
            yield e.path


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[FileError]]:
    """Files as given; directories walked (symlinks not followed, so no loops and no escapes) keeping only files
    whose magic says ELF, PE or Mach-O. Unreadable directories become errors; the walk goes on."""
    from depfree.magic import sniff

    files: list[str] = []
    errors: list[FileError] = []
    for p in paths:
        p = os.fspath(p)
        if not os.path.isdir(p) or os.path.islink(p):
            files.append(p)
            continue

        def onerror(path: str, why: str) -> None:
            errors.append(FileError(path=path, error=why))

        before = len(files)
        for full in files_under(p, on_error=onerror):
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

