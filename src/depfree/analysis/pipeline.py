"""Run the analyzers over one executable, in order. Each analyzer fills one part of the :class:`Binary`.

To add an analyzer: write ``def analyze_x(ctx: Context) -> None`` in its own module and list it in ``ANALYZERS``.
Analyzers gather facts only; the judgement (target verdicts, package context) is applied after them, by the API
(:func:`depfree.api.analyse_source`) and the scan.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable

from depfree.analysis.context import Context, Options
from depfree.analysis.debuginfo import analyze_debug
from depfree.analysis.golang import CGO_SYMBOLS, analyze_go
from depfree.analysis.gopackages import analyze_gopackages
from depfree.analysis.gotables import GoTables
from depfree.analysis.hardening import CANARY_SYMBOLS, analyze_hardening
from depfree.analysis.identity import analyze_linkage, identity
from depfree.analysis.minimum import analyze_minimum
from depfree.analysis.needs import analyze_needs
from depfree.analysis.packer import analyze_packer
from depfree.analysis.runtimedlls import analyze_runtime_dlls
from depfree.analysis.verdict import analyze_verdict
from depfree.errors import InputError
from depfree.formats.base import Executable
from depfree.golang.pclntab import SYMBOL_NAMES as PCLNTAB_SYMBOLS
from depfree.model import Binary
from depfree.sources.file import ByteSource

Analyzer = Callable[[Context], None]

# Order matters: later analyzers read what earlier ones found (needs read go + linkage; verdict reads all).
ANALYZERS: list[Analyzer] = [
    analyze_linkage,
    analyze_go,
    analyze_gopackages,
    analyze_runtime_dlls,
    analyze_hardening,
    analyze_debug,
    analyze_packer,
    analyze_needs,
    analyze_minimum,
    analyze_verdict,
]

# The .symtab names the analyzers may ask of ``exe.symbol`` (a hint: a reader finds them all in one pass over a
# large string table, at the first of them): cgo's C part, the pclntab's symbols, runtime.buildVersion, the Go
# sign of a static C library check, and the stack protector's.
EXPECTED_SYMBOLS = (*CGO_SYMBOLS, *PCLNTAB_SYMBOLS, "runtime.buildVersion", "runtime.main", *CANARY_SYMBOLS)

# What Options.inventory runs (an SBOM's facts): the analyzers whose sections no SBOM reads are left out.
INVENTORY: list[Analyzer] = [a for a in ANALYZERS if a not in (analyze_hardening, analyze_debug, analyze_packer)]

HASH_STEP = 8 << 20  # a multiple of the page size


def sha256_of(source: ByteSource, *, release: bool = True) -> str:
    """The sha256 of the source's bytes. A mapped file is hashed 8 MiB at a time, each part's pages let go once
    hashed (``MADV_DONTNEED``: they stay in the page cache, later reads fault them back in), so hashing a 300 MB
    file does not make it 300 MB of this process's memory (scan --hash's peak RSS, issue 23). ``release=False``
    keeps them mapped, for an analysis of the same file that is reading them meanwhile."""
    import hashlib  # here: OpenSSL's start-up is ~3 ms of a run that hashes nothing (issue 23)

    try:
        view = source.view()
    except InputError:  # a file that cannot be mapped (sysfs, some FUSE file systems): read in parts
        h = hashlib.sha256()
        for off in range(0, source.size, HASH_STEP):
            h.update(source.read_at(off, HASH_STEP))
        return h.hexdigest()
    if not release or not isinstance(view, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return hashlib.sha256(view).hexdigest()
    h = hashlib.sha256()
    size = len(view)
    with memoryview(view) as whole:
        for off in range(0, size, HASH_STEP):
            n = min(HASH_STEP, size - off)
            with whole[off : off + n] as part:
                h.update(part)
            view.madvise(mmap.MADV_DONTNEED, off, n)
    return h.hexdigest()


class BackgroundDigest:
    """:func:`sha256_of` of a source computed by a thread while the caller analyses the same source (issue 23:
    OpenSSL releases the interpreter's lock while it hashes, so on a second core the ~30 ms digest of a 43 MB
    binary runs beside its ~30 ms of analysis instead of after it). The file is mapped first, by the caller's thread,
    so that both threads read the one mapping, and the pages hashed stay mapped (dropping them made the analysis
    fault them in again: 7 ms on that binary); they are the page cache's, clean and shared, for as long as the
    source is open. :meth:`result` waits for the digest and raises what hashing raised (an :class:`InputError` for
    a file that cannot be read). Use it as a context manager: the thread is always waited for before the source can
    be closed."""

    def __init__(self, source: ByteSource) -> None:
        import hashlib  # noqa: F401 - imported here: in the thread it waited for the interpreter's lock, ~15 ms
        import threading

        self._digest: str | None = None
        self._error: BaseException | None = None
        try:
            source.view()
        except InputError:
            pass  # sha256_of reads it in parts, and the analysis says what it says
        self._thread = threading.Thread(target=self._run, args=(source,), name="depfree-sha256", daemon=True)
        self._thread.start()

    def _run(self, source: ByteSource) -> None:
        try:
            self._digest = sha256_of(source, release=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

    def __enter__(self) -> BackgroundDigest:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()


def analyze(exe: Executable, options: Options | None = None, *, sha256: str | None = None,
            display_path: str | None = None, tables: GoTables | None = None) -> Binary:
    """The facts of ``exe``. ``tables``: Go tables of this same executable that another analysis of it shares
    (``depfree build`` reads the size breakdown from them too), read once for both."""
    options = options or Options()
    if sha256 is None and options.hash:
        sha256 = sha256_of(exe.source)
    binary = identity(exe, display_path or exe.path, sha256)
    ctx = Context(exe=exe, binary=binary, options=options)
    exe.expect_symbols(EXPECTED_SYMBOLS)
    if tables is not None:
        ctx.go = tables
    for analyzer in INVENTORY if options.inventory else ANALYZERS:
        analyzer(ctx)
    return binary
