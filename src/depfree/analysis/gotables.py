"""The Go tables of one executable behind one object (``ctx.go``): the pclntab, its function and name tables, the
file table's source directories, the linked package paths, the moduledata and the per-package attribution, each
read once, when an analyzer first asks for it.

Contracts other analyzers rely on:
- :attr:`GoTables.package_paths` — import paths of all Go packages linked in (empty for non-Go files);
- :attr:`GoTables.function_names` — every function in the pclntab's function table;
- :attr:`GoTables.error` — why the function table could not be read, once something tried.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from functools import cached_property, lru_cache

from depfree.formats.base import Executable
from depfree.formats.strings import Window
from depfree.golang.funcnames import is_std, package_paths_of
from depfree.golang.moduledata import ModuleData, find_moduledata
from depfree.golang.pclntab import Function, Pclntab, PclntabError, from_section, from_symbol, validate
from depfree.golang.search import could_be_go, search_pclntab
from depfree.model import Go, GoPackage

# The packages the feature checks ask about; a function of package P is named "P.…" (package_of returns a prefix of
# the name), so only names with these prefixes can make them linked.
FEATURE_PACKAGE_PREFIXES = ("net.", "os/user.", "time/tzdata.", "crypto/x509.", "crypto/internal/fips140",
                            "runtime/race.")
# The prefixes of the single names the feature checks (analysis/gofeatures.py ``first``: ``runtime.racecall`` …) and
# the needs rules (data/stdlib_needs.toml ``functions``) ask about: the one pass that collects the feature packages'
# names collects these too, and a name with one of them is then a set lookup, not a scan of the name table (a
# name that is absent costs a whole scan, ~0.8 ms on a 40 MB binary). Only a speed hint: other names are searched.
NAME_PREFIXES = (*FEATURE_PACKAGE_PREFIXES, "runtime.race", "time.", "os.", "io/ioutil.")


class FunctionNames:
    """Questions about the set of function names (:attr:`GoTables.all_names`) answered from the raw Go 1.16+ name
    table, NUL-separated names, with C-level searches instead of decoding all of them (a 40 MB binary has 50k+
    names: ~25 ms to split and put in a set, where the feature checks ask about a few dozen names and prefixes).
    Each answer is the one the set gives: a name counts when it is a whole NUL-delimited part of the table, decoded
    as :func:`~depfree.formats.strings.names_by_offset` decodes it."""

    def __init__(self, raw: Window) -> None:
        self.raw = raw  # (read where it lies in the mapped file: see GoTables._names_raw)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name:
            return False
        part = name.encode()
        raw = self.raw
        return (b"\0" + part + b"\0" in raw or raw.startswith(part + b"\0") or raw.endswith(b"\0" + part)
                or raw.equals(part))

    def _whole(self, start: int, end: int) -> str:
        return self.raw[start:end].decode("utf-8", "replace")

    def where_with_prefix(self, prefixes: tuple[str, ...]) -> dict[bytes, int]:
        """The names that start with one of ``prefixes``, undecoded, each with the offset where it starts, or -1
        for a name the table holds more than once (the linker writes each once; a hostile table repeating one
        name millions of times costs no more memory than the names): the pass of :meth:`with_prefix`, which also
        says where."""
        raw, out = self.raw, dict[bytes, int]()
        base = raw.start
        for m in raw.finditer(_prefix_pattern(prefixes)):
            name = m.group(1)
            out[name] = -1 if name in out else m.start(1) - base
        end = raw.find(b"\0")
        first = raw[: end if end >= 0 else len(raw)]
        if first and first.startswith(tuple(p.encode() for p in prefixes)):
            out[first] = -1 if first in out else 0
        return out

    def with_prefix(self, prefixes: tuple[str, ...]) -> set[str]:
        """The names that start with one of ``prefixes``: one regular-expression pass whose literal NUL start
        lets the engine jump from name to name (one ``find`` per prefix scanned the table six times)."""
        raw = self.raw
        out = {m.decode("utf-8", "replace") for m in raw.findall(_prefix_pattern(prefixes))}
        end = raw.find(b"\0")
        first = raw[: end if end >= 0 else len(raw)]  # the first name has no NUL before it (not a split of the rest)
        if first and first.startswith(tuple(p.encode() for p in prefixes)):
            out.add(first.decode("utf-8", "replace"))
        out.discard("")
        return out

    def containing(self, part: str) -> set[str]:
        """The names that contain ``part`` (no NUL in it)."""
        raw, out = self.raw, set()
        needle = part.encode()
        pos = raw.find(needle) if needle else -1
        while pos >= 0:
            start = raw.rfind(b"\0", 0, pos) + 1
            end = raw.find(b"\0", pos + len(needle))
            end = len(raw) if end < 0 else end
            out.add(self._whole(start, end))
            pos = raw.find(needle, end)
        return out

    def containing_any(self, parts: tuple[str, ...]) -> set[str]:
        """The names that contain one of ``parts`` (no NUL in them): one pass of one regular expression, where
        :meth:`containing` of each would scan the table once per part."""
        raw, out = self.raw, set()
        pattern = _any_pattern(tuple(p for p in parts if p))
        base = raw.start
        m = raw.search(pattern)
        while m is not None:
            start = raw.rfind(b"\0", 0, m.start() - base) + 1
            end = raw.find(b"\0", m.end() - base)
            end = len(raw) if end < 0 else end
            out.add(self._whole(start, end))
            m = raw.search(pattern, end)
        return out


@lru_cache(maxsize=8)
def _any_pattern(parts: tuple[str, ...]) -> re.Pattern[bytes]:
    """Any of ``parts``."""
    return re.compile(b"|".join(re.escape(p.encode()) for p in parts)) if parts else re.compile(b"(?!)")


@lru_cache(maxsize=8)
def _prefix_pattern(prefixes: tuple[str, ...]) -> re.Pattern[bytes]:
    """NUL, then a name that starts with one of ``prefixes``, up to the next NUL."""
    heads = b"|".join(re.escape(p.encode()) for p in prefixes if p)
    return re.compile(b"\0((?:" + heads + b")[^\0]*)") if heads else re.compile(b"(?!)")


class SortedOffsets:
    """Offsets asked about a few times (``in``): a sorted list searched by bisection, the list the bounds check
    sorted already (a set of a Go binary's 35k offsets costs ~1 ms to build, a packed copy ~0.5; ``needs`` asks
    about a dozen names)."""

    def __init__(self, ordered: list[int]) -> None:
        self._ordered = ordered

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        at = bisect_left(self._ordered, value)
        return at < len(self._ordered) and self._ordered[at] == value


def find_pclntab(exe: Executable) -> Pclntab | None:
    """The pclntab, found by section name, by symbol, or by a validated search. An ELF whose section headers show
    nothing of the gc linker (:func:`could_be_go`) has none: its symbol table is not indexed to look for
    ``runtime.pclntab`` (31 ms for node's 230k symbols)."""
    if not could_be_go(exe):
        return None
    for finder in (from_section, from_symbol):
        try:
            tab = finder(exe)
        except PclntabError:
            tab = None
        if tab is not None:
            return tab
    return search_pclntab(exe)


class GoTables:
    """The lazily read Go tables of ``exe``; an unreadable table is empty and says why in :attr:`error`."""

    def __init__(self, exe: Executable) -> None:
        self.exe = exe
        self.error: str | None = None
        self._packages: list[GoPackage] | None = None

    @cached_property
    def pclntab(self) -> Pclntab | None:
        return find_pclntab(self.exe)

    @cached_property
    def functions(self) -> list[Function]:
        """Functions of the pclntab's function table, in text order; empty for non-Go files or unreadable tables."""
        tab = self.pclntab
        if tab is None:
            return []
        try:
            return tab.functions()
        except PclntabError as exc:
            self.error = str(exc)
            return []

    @cached_property
    def function_names(self) -> list[str]:
        return [f.name for f in self.functions]

    @cached_property
    def linked_names(self) -> set[str]:
        """The names of the functions in the function table, as a set: what :attr:`function_names` holds, without
        building a Function for each of tens of thousands of entries (Go 1.16+: the function table's name offsets
        looked up in the name table)."""
        tab = self.pclntab
        if tab is None:
            return set()
        if tab.layout == "1.2":
            return set(self.function_names)
        try:
            table = tab.name_table()
            offsets = set(tab.name_offsets())
            names = set(map(table.get, offsets))
            if None in names or "" in names:  # an offset inside a name, or outside the table
                return {table.get(off) or tab.name_at(off) for off in offsets}
            return {n for n in names if n is not None}
        except PclntabError as exc:
            self.error = str(exc)
            return set()

    @cached_property
    def _linked_offsets(self) -> SortedOffsets | None:
        """The name offsets of the function table's functions (Go 1.16+), or None when the table cannot say (the
        error is kept, as :attr:`linked_names` keeps it)."""
        lists = self._offset_lists
        return SortedOffsets(lists[1]) if lists is not None else None

    @property
    def _listed_offsets(self) -> list[int] | None:
        """The name offsets of the function table's functions (Go 1.16+) in table order, each inside the name
        table; None when the table cannot say."""
        lists = self._offset_lists
        return lists[0] if lists is not None else None

    @cached_property
    def _offset_lists(self) -> tuple[list[int], list[int]] | None:
        """:attr:`_listed_offsets` and the same sorted; None when the table cannot say (the error is kept, as
        :attr:`linked_names` keeps it)."""
        tab = self.pclntab
        if tab is None:
            return None
        try:
            listed = tab.name_offsets()
        except PclntabError as exc:
            self.error = str(exc)
            return None
        _, size = tab.names_region
        ordered = sorted(listed)  # its ends are the least and greatest (sorting ~35k mostly ordered offsets costs
        if not listed or (ordered[0] >= 0 and ordered[-1] < size):  # a quarter of min() plus max())
            return listed, ordered
        for off in set(listed):  # (the first outside, in the order a set of them gives)
            if not 0 <= off < size:
                self.error = f"function name offset {off:#x} is outside the name table ({size} bytes)"
                return None
        return listed, ordered

    @cached_property
    def _offsets_at_starts(self) -> bool:
        """Whether every name offset of the function table is where a name starts (the table's start, or after a
        NUL), as the linker writes them: then only whole names can name a function, never a name's tail."""
        lists, tab = self._offset_lists, self.pclntab
        if lists is None or not lists[0]:
            return True
        listed, ordered = lists
        if tab is None or len(self._names_raw) != tab.names_region[1]:
            return False  # (a table cut off: asked the long way)
        at0 = bisect_right(ordered, 0)  # offsets 0: the first name, whatever byte comes before the table
        pos = self.exe.base + tab.names_region[0]
        view = self.exe.source.view()
        getter = operator.itemgetter(*listed, 0)  # (a tuple even for one offset)
        if pos < 1 or pos + len(self._names_raw) > len(view):
            before, first = getter(b"\0" + self._names_raw.tobytes()), 0
        else:  # the byte before each name read where the file is mapped, with no copy of the table
            with memoryview(view) as whole, whole[pos - 1 : pos + len(self._names_raw)] as shifted:
                before, first = getter(shifted), shifted[0]
        zeros: int = before.count(0) - (first == 0)  # (the last item is the byte before the table itself)
        return zeros == len(listed) - (at0 if first else 0)

    def is_linked(self, name: str) -> bool:
        """Whether ``name`` is in :attr:`linked_names`, without building that set (Go 1.16+): the offsets where
        ``name`` ends with a NUL (or the table ends) in the name table, against the function table's name offsets.
        A function whose name offset points into the tail of a longer name is named by that tail, as in the set.
        When no offset points into a name (:attr:`_offsets_at_starts`), only whole names are looked at, and a
        name with one of :data:`NAME_PREFIXES` is looked up where the prefix pass saw it, without a scan."""
        tab = self.pclntab
        if "linked_names" in self.__dict__ or tab is None or tab.layout == "1.2" or not name:
            return name in self.linked_names
        offsets = self._linked_offsets
        if offsets is None:
            return False
        raw = self._names_raw
        part = name.encode()
        if self._offsets_at_starts:
            at = self._prefixed_where.get(part, -2) if name.startswith(NAME_PREFIXES) else -1
            if at != -1:  # where it is a whole name, if it is one (-2: it is none), without a search
                return at >= 0 and at in offsets
            if raw.startswith(part + b"\0") and 0 in offsets:
                return True
            needle = b"\0" + part + b"\0"
            pos = raw.find(needle)
            while pos >= 0:
                if pos + 1 in offsets:
                    return True
                pos = raw.find(needle, pos + 1)
            return ((raw.endswith(b"\0" + part) and len(raw) - len(part) in offsets)
                    or (raw.equals(part) and 0 in offsets))
        needle = part + b"\0"
        pos = raw.find(needle)
        while pos >= 0:
            if pos in offsets:
                return True
            pos = raw.find(needle, pos + 1)
        return raw.endswith(part) and len(raw) - len(part) in offsets

    @cached_property
    def table_ok(self) -> bool:
        """Whether a pclntab was found and its function table passes :func:`validate` (one pass, no names)."""
        tab = self.pclntab
        if tab is None:
            return False
        try:
            validate(tab)
        except PclntabError as exc:
            self.error = str(exc)
            return False
        return True

    @cached_property
    def all_names(self) -> set[str]:
        """Function names including those only referenced by inline trees. From Go 1.16 the name table holds them
        all (one split of one buffer, no function-table walk); the 1.2 layout mixes names with other data, so there
        the function table is walked."""
        tab = self.pclntab
        if tab is None or not self.table_ok:
            return set()
        return set(tab.name_table().values()) if tab.layout != "1.2" else set(self.function_names)

    # A name table at least this large is searched where the file is mapped (a 40 MB binary's is ~3 MB: its copy
    # cost as much as the searches); a smaller one is read.
    IN_PLACE = 1 << 20

    @cached_property
    def _names_raw(self) -> Window:
        """The Go 1.16+ name table."""
        tab = self.pclntab
        if tab is None:
            return Window(b"", 0, 0)
        off, size = tab.names_region
        if size >= self.IN_PLACE:
            return tab.exe.window(off, size)
        raw = tab.exe.read_file(off, size)
        return Window(raw, 0, len(raw))

    @cached_property
    def name_search(self) -> FunctionNames | set[str]:
        """:attr:`all_names` to ask about: a :class:`FunctionNames` over the raw Go 1.16+ name table (its searches
        in C beat a loop over the set even once the set is built: ~1 ms against ~60 for the names containing one of
        a few parts, on a 50 MB binary), else the set (no valid table, or the 1.2 layout, whose names are mixed
        with other data)."""
        tab = self.pclntab
        if tab is None or not self.table_ok or tab.layout == "1.2":
            return self.all_names
        return FunctionNames(self._names_raw)

    @cached_property
    def name_count(self) -> int:
        """``len(all_names)``, without building the set for a valid Go 1.16+ table: the distinct parts of one split
        of the raw table (~10 ms on a 50 MB binary's 55k names, where the set of decoded names takes ~30). Only the
        parts that are not ASCII are decoded (bad bytes decode alike, to U+FFFD, and an ASCII part is equal to no
        other part's decoding)."""
        if "all_names" in self.__dict__ or not isinstance(self.name_search, FunctionNames):
            return len(self.all_names)
        raw = self._names_raw.tobytes()
        parts = set(raw.split(b"\0"))
        parts.discard(b"")
        if raw.isascii():
            return len(parts)
        wide = [p for p in parts if not p.isascii()]
        return len(parts) - len(wide) + len({p.decode("utf-8", "replace") for p in wide})

    def any_name_with_prefix(self, prefix: str) -> bool:
        """Whether a name of :attr:`all_names` starts with ``prefix`` (not empty), without building the set."""
        names = self.name_search
        if not isinstance(names, FunctionNames) or "all_names" in self.__dict__:
            return any(n.startswith(prefix) for n in self.all_names)
        part = prefix.encode()
        return names.raw.startswith(part) or b"\0" + part in names.raw

    @cached_property
    def _prefixed_where(self) -> dict[bytes, int]:
        """The whole names of the Go 1.16+ name table with one of :data:`NAME_PREFIXES` and where each starts,
        from one pass."""
        return FunctionNames(self._names_raw).where_with_prefix(NAME_PREFIXES)

    @cached_property
    def _prefixed_names(self) -> set[str]:
        """The names of :attr:`_prefixed_where`, decoded (what :attr:`all_names` holds of them when the table is
        valid)."""
        return {n.decode("utf-8", "replace") for n in self._prefixed_where}

    def has_name(self, name: str) -> bool:
        """``name in`` :attr:`all_names` (:attr:`name_search`); a name with one of :data:`NAME_PREFIXES` answered
        from :attr:`_prefixed_names` (a decoded name holds U+FFFD only where the bytes were not UTF-8: such a name
        is asked of the table itself)."""
        if "all_names" in self.__dict__:
            return name in self.all_names
        names = self.name_search
        if isinstance(names, FunctionNames) and name.startswith(NAME_PREFIXES) and "\ufffd" not in name:
            return name in self._prefixed_names
        return name in names

    def names_with_prefix(self, prefixes: tuple[str, ...]) -> set[str]:
        """The names of :attr:`all_names` that start with one of ``prefixes``."""
        names = self.name_search
        if isinstance(names, FunctionNames):
            return names.with_prefix(prefixes)
        return {n for n in names if n.startswith(prefixes)}

    def names_containing(self, part: str) -> set[str]:
        """The names of :attr:`all_names` that contain ``part``."""
        names = self.name_search
        if isinstance(names, FunctionNames):
            return names.containing(part)
        return {n for n in names if part in n}

    def names_containing_any(self, parts: tuple[str, ...]) -> set[str]:
        """The names of :attr:`all_names` that contain one of ``parts``."""
        names = self.name_search
        if isinstance(names, FunctionNames):
            return names.containing_any(parts)
        return {n for n in names if any(p in n for p in parts if p)}

    @cached_property
    def _source_dir_names(self) -> set[str]:
        """The directories of the file table's source files, as written (``/`` for ``\\``)."""
        tab = self.pclntab
        if tab is None or not self.table_ok:
            return set()
        try:
            files = tab.file_names()
        except PclntabError:
            files = []
        return {f.replace("\\", "/").rpartition("/")[0] for f in files}

    @staticmethod
    def _dir_parts(d: str) -> list[str]:
        """The path elements of ``d`` as :attr:`source_dirs` reads them: empty ones dropped, ``@version`` cut."""
        return [e.partition("@")[0] for e in d.split("/") if e] if "@" in d else [e for e in d.split("/") if e]

    @cached_property
    def _source_dir_text(self) -> str | None:
        """Each source directory as ``/a/b/c`` and a newline, its elements as :meth:`_dir_parts` gives them: a
        trailing run ``p`` of one (an element of :attr:`source_dirs`) is exactly a ``/p`` before a newline, one
        substring search instead of the set of every run (~2 ms on a 40 MB binary). None when a directory holds a
        newline (the set is asked then)."""
        entries = []
        for d in self._source_dir_names:
            if "\n" in d:
                return None
            if "@" in d or "//" in d or d.endswith("/"):
                parts = self._dir_parts(d)
                if parts:
                    entries.append("/" + "/".join(parts))
            elif d:  # elements as written: no empty ones, nothing to cut
                entries.append(d if d[0] == "/" else "/" + d)
        return "".join(e + "\n" for e in entries)

    def has_source_dir(self, path: str) -> bool:
        """``path in`` :attr:`source_dirs`, without building that set."""
        text = None if "source_dirs" in self.__dict__ or "\n" in path else self._source_dir_text
        return path in self.source_dirs if text is None else f"/{path}\n" in text

    def any_source_dir(self) -> bool:
        """Whether :attr:`source_dirs` is not empty, without building it."""
        text = None if "source_dirs" in self.__dict__ else self._source_dir_text
        return bool(self.source_dirs) if text is None else bool(text)

    @cached_property
    def source_dirs(self) -> set[str]:
        """Every trailing run of path elements of every source directory in the file table (``a/b/c`` gives ``c``,
        ``b/c``, ``a/b/c``), with module-cache ``@version`` suffixes removed."""
        out: set[str] = set()
        add = out.add
        for d in self._source_dir_names:
            parts = self._dir_parts(d)
            rest = reversed(parts)  # "c", then "b/c", then "a/b/c": each run one element longer than the last
            tail = next(rest, None)
            if tail is None:
                continue
            add(tail)
            for e in rest:
                tail = e + "/" + tail
                add(tail)
        return out

    @cached_property
    def package_paths(self) -> set[str]:
        """Import paths of every Go package with a function (compiled or inlined) in the binary; for gccgo output,
        of every package with an init or type-descriptor symbol.

        Standard packages are kept only when the file table holds a source file from their directory: the runtime
        implements functions for packages that may not be linked at all (``//go:linkname`` push: ``os/signal.
        signal_enable``, ``runtime/debug.SetTraceback`` live in runtime/*.go), and those names alone prove
        nothing."""
        found = package_paths_of(self.all_names)
        dirs = self.source_dirs
        if dirs:
            found = {p for p in found if not is_std(p) or p in dirs}
        if not found:
            from depfree.golang.gccgo import gccgo_packages, gccgo_signs

            if gccgo_signs(self.exe) is not None:
                found = gccgo_packages(self.exe)
        return found

    @cached_property
    def feature_packages(self) -> set[str]:
        """What :attr:`package_paths` holds of the packages the feature checks look at (``net``, ``os/user``,
        ``time/tzdata``, ``crypto/x509``, ``crypto/internal/fips140*``, ``runtime/race``), from the names with
        their prefixes only (issue 23: the full set costs ~60 ms on a 40 MB binary, and only ``--deep`` needs it).
        When none is found the full set is taken, so that its fallbacks (gccgo symbols) decide as before."""
        if "package_paths" in self.__dict__:  # already read in full
            return self.package_paths
        if isinstance(self.name_search, FunctionNames):
            named = {n for n in self._prefixed_names if n.startswith(FEATURE_PACKAGE_PREFIXES)}
        else:
            named = self.names_with_prefix(FEATURE_PACKAGE_PREFIXES)
        found = package_paths_of(named)
        if self.any_source_dir():
            found = {p for p in found if not is_std(p) or self.has_source_dir(p)}
        return found or self.package_paths

    @cached_property
    def moduledata(self) -> ModuleData | None:
        tab = self.pclntab
        return find_moduledata(self.exe, tab) if tab is not None else None

    def packages(self, go: Go | None) -> list[GoPackage]:
        """Every package with compiled functions (count and bytes of code) plus those whose code is all inlined,
        attributed to the modules of ``go``'s build info."""
        if self._packages is None:
            from depfree.analysis.gomodules import attribute_packages

            self._packages = attribute_packages(self.functions, self.package_paths, go)
        return self._packages
