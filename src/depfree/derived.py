"""A cache of data derived from files, for the start-up of every ``depfree`` process (issue 23): the parsed and
validated TOML knowledge files, pyelftools' ELF enum tables. Each item is one ``marshal`` file under the user's cache
directory (``$DEPFREE_DERIVED_CACHE``, default ``$XDG_CACHE_HOME/depfree/derived`` or ``~/.cache/depfree/derived``;
``off`` or empty: no cache), stored with its key: the depfree and Python versions and the path, size and mtime of
every source the data come from (the data file and the code that reads it), so that a change to any of them builds
the data again. A missing, stale, corrupt or unreadable file is built again; a directory that cannot be written is
left alone: the cache never changes what is returned, and never fails a run.

Only plain data go in (dicts, lists, strings, numbers, booleans, None): what ``marshal`` writes and reads back
exactly, in the same order; anything else is built on every call, as without a cache.

:class:`CodeCache` keeps compiled code the same way, keyed by its source and the Python that compiled it (the
generated ``__init__`` of :mod:`depfree.dataclass`): one file per table, read on the first look-up and written at
exit when something was added. Like ``__pycache__``, it is trusted as the user's own: the directory is created
private (0700) and its files 0600.
"""

from __future__ import annotations

import atexit
import binascii
import marshal
import os
import sys
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any, TypeVar

from depfree import __version__

T = TypeVar("T")

ENV = "DEPFREE_DERIVED_CACHE"
_OFF = ("", "off", "0")
_PLAIN = (dict, list, tuple, str, int, float, bool, type(None))


def cache_dir() -> str | None:
    """Where derived data are kept, or None when the cache is off (``DEPFREE_DERIVED_CACHE=off``)."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip() in _OFF else os.path.expanduser(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "depfree", "derived")


def source_key(sources: Sequence[str]) -> tuple[Any, ...]:
    """What the data of ``sources`` depend on besides their content: versions, then each file's path, size and
    modification time (nanoseconds). Raises OSError when a source cannot be looked at."""
    parts: list[Any] = [__version__, sys.hexversion, marshal.version]
    for path in sources:
        st = os.stat(path)
        parts.append((os.path.abspath(path), st.st_size, st.st_mtime_ns))
    return tuple(parts)


def cache_file(name: str, sources: Sequence[str]) -> str | None:
    """The file holding ``name`` built from ``sources`` (None when the cache is off). The sources' paths are part
    of the name, so two installations of depfree each keep their own copy."""
    where = cache_dir()
    if where is None:
        return None
    tag = binascii.crc32("\0".join(os.path.abspath(p) for p in sources).encode("utf-8", "surrogateescape"))
    return os.path.join(where, f"{name}-{tag:08x}.marshal")


def derived(name: str, sources: Sequence[str], build: Callable[[], T]) -> T:
    """``build()``, or what it returned before for the same ``sources`` unchanged (see the module's doc). ``name``
    names the item (a file name's part: letters, digits, ``.``, ``-``, ``_``)."""
    try:
        key = source_key(sources)
    except OSError:
        return build()  # a source is gone: building says what is wrong
    path = cache_file(name, sources)
    if path is None:
        return build()
    found = _read(path, key)
    if found is not None:
        return found[0]  # type: ignore[no-any-return]
    value = build()
    _write(path, key, value)
    return value


def _read(path: str, key: tuple[Any, ...]) -> tuple[Any] | None:
    """(the value,) stored at ``path`` under ``key``, or None when there is none, it is stale or unreadable."""
    try:
        with open(path, "rb") as fh:
            got = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(got, tuple) and len(got) == 2 and got[0] == key and isinstance(got[1], _PLAIN)):
        return None
    return (got[1],)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _write(path: str, key: tuple[Any, ...], value: object) -> None:
    """Store ``value`` under ``key`` at ``path`` through a temporary file renamed into place (readers see the old
    file or the new one); nothing when the value is not plain data or the directory cannot be written."""
    if not isinstance(value, _PLAIN):
        return
    try:
        blob = marshal.dumps((key, value))
    except ValueError:  # not plain data inside (a TOML date)
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb", opener=_private) as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class CodeCache:
    """Code objects by their source (see the module): :meth:`get` compiles a source once per Python and cache
    directory. Entries of sources no longer asked for are dropped when the table passes :attr:`LIMIT`."""

    LIMIT = 4096

    def __init__(self, name: str) -> None:
        self.name = name
        self._table: dict[str, CodeType] | None = None
        self._used: set[str] = set()
        self._changed = False

    @staticmethod
    def _key() -> tuple[Any, ...]:
        return (__version__, sys.hexversion, marshal.version, sys.implementation.cache_tag)

    def _path(self) -> str | None:
        where = cache_dir()
        return None if where is None else os.path.join(where, f"{self.name}-{sys.implementation.cache_tag}.marshal")

    def _load(self) -> dict[str, CodeType]:
        table: dict[str, CodeType] = {}
        path = self._path()
        if path is not None:
            try:
                with open(path, "rb") as fh:
                    got = marshal.loads(fh.read())
            except (OSError, EOFError, ValueError, TypeError):
                got = None
            if isinstance(got, tuple) and len(got) == 2 and got[0] == self._key() and isinstance(got[1], dict):
                table = {k: v for k, v in got[1].items() if isinstance(k, str) and isinstance(v, CodeType)}
        return table

    def get(self, source: str, build: Callable[[str], CodeType]) -> CodeType:
        """The code of ``source``: the stored one, else ``build(source)`` (kept for later processes)."""
        if self._table is None:
            self._table = self._load()
        self._used.add(source)
        code = self._table.get(source)
        if code is None:
            code = self._table[source] = build(source)
            if not self._changed and self._path() is not None:
                self._changed = True
                atexit.register(self.save)
        return code

    def save(self) -> None:
        """Write the table (nothing when nothing was added or the directory cannot be written)."""
        path = self._path()
        if not self._changed or self._table is None or path is None:
            return
        self._changed = False
        table = self._table
        if len(table) > self.LIMIT:
            table = {k: v for k, v in table.items() if k in self._used}
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(tmp, "wb", opener=_private) as fh:
                fh.write(marshal.dumps((self._key(), table)))
            os.replace(tmp, path)
        except (OSError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass
