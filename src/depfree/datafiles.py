"""Load the TOML knowledge files shipped in ``depfree/data`` (cached; they are read-only), each validated against
its schema (``dataschema.py``: :data:`~depfree.dataschema.SCHEMAS`) when parsed: a wrong key or type is a
:class:`DataFileError` naming the file, the entry and the key ("what was expected, what was found"). The parsed
and validated data are kept by the derived-data cache (``derived.py``), so a process whose files are unchanged
reads them back without parsing TOML or importing the schemas.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

from depfree.derived import derived
from depfree.errors import DataFileError

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_THIS = os.path.abspath(__file__)
_SCHEMAS = os.path.join(os.path.dirname(_THIS), "dataschema.py")  # the schemas: a source of the validated data too

# the schema's names, importable from here as before they moved to dataschema.py (imported on first use)
SCHEMA_NAMES = ("ANY", "SCHEMAS", "ListOf", "MapOf", "OneOf", "Spec", "Table", "check", "sourced")


def __getattr__(name: str) -> object:
    if name in SCHEMA_NAMES:
        from depfree import dataschema

        return getattr(dataschema, name)
    raise AttributeError(f"module 'depfree.datafiles' has no attribute {name!r}")


def read(path: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
    """The TOML file at ``path`` parsed and validated against the schema of ``data/<name>`` (default: its own file
    name); what :func:`load` does for the shipped files."""
    path = os.fspath(path)
    name = name or os.path.basename(path)
    shipped = os.path.dirname(os.path.abspath(path)) == DATA_DIR and os.path.basename(path) == name
    where = f"data/{name}" if shipped else path
    from depfree.dataschema import SCHEMAS, check  # here: only a file being parsed is checked

    if sys.version_info >= (3, 11):  # imported here: a process that reads the cached data never parses TOML
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, encoding="utf-8") as fh:
            doc = tomllib.loads(fh.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{where}: cannot read the knowledge file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{where}: expected TOML, found an error: {exc}") from None
    if name not in SCHEMAS:
        raise DataFileError(f"{where}: expected a knowledge file with a schema in depfree/dataschema.py SCHEMAS, "
                            "found none")
    check(doc, SCHEMAS[name], where)
    return doc


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed and validated ``data/<name>`` file, through the derived-data cache (``derived.py``: parsed and
    checked again whenever the file or this module changes)."""
    # a path beside this module, not importlib.resources (which imports pathlib, tempfile, shutil and zipfile:
    # ~10 ms of every `depfree inspect`); depfree is installed as files, never imported from a zip
    path = os.path.join(DATA_DIR, name)
    return derived(f"data-{name}", (path, _THIS, _SCHEMAS), lambda: read(path, name))
