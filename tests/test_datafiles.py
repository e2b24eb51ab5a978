"""Every knowledge file in depfree/data is validated when loaded: a wrong key or type is one DataFileError naming the
file, the entry and the key. The broken inputs are copies of the real shipped files with one thing changed."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from depfree.datafiles import SCHEMAS, DataFileError, load, read
from depfree.errors import DepfreeError

DATA = Path(str(resources.files("depfree").joinpath("data")))


def test_every_shipped_data_file_has_a_schema_and_loads() -> None:
    shipped = sorted(p.name for p in DATA.glob("*.toml"))
    assert shipped == sorted(SCHEMAS)
    for name in shipped:
        assert load(name), name


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """``data/<name>`` with the first ``old`` (a regex) replaced by ``new``."""
    text = (DATA / name).read_text(encoding="utf-8")
    changed, n = re.subn(old, new, text, count=1, flags=re.M)
    assert n == 1, f"{old!r} not in data/{name}"
    out = tmp_path / name
    out.write_text(changed, encoding="utf-8")
    return out


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    # a value outside the allowed words (what targets/context.py used to check by hand)
    ("contexts.toml", r'^libraries = "inside"', 'libraries = "somewhere"',
     "entry context.image: key 'libraries': expected one of 'inside', 'depends', 'platform-tag', 'host', "
     "found a string 'somewhere'"),
    # a wrong type
    ("packers.toml", r'^pe_sections = \[[^\]]*\]', 'pe_sections = "UPX0"',
     "entry upx: key 'pe_sections': expected a list of strings, found a string 'UPX0'"),
    ("hardening.toml", r"^amd64 = false", 'amd64 = "no"',
     "entry stack_default: key 'amd64': expected true or false, found a string 'no'"),
    ("static_libc.toml", r"^amd64 = 37", "amd64 = 37.5",
     "entry irelative_types: key 'amd64': expected an integer, found a number 37.5"),
    # a misspelt key, in an array of tables
    ("stdlib_needs.toml", r"^why = ", "whyy = ",
     "entry need[0]: unknown key 'whyy'; expected one of 'id', 'kind', 'what'"),
    # a missing key
    ("rules.toml", r'^fix = .*$', "",
     "entry DF001: expected key 'fix', found none"),
    # an item of the wrong type inside a list
    ("packers.toml", r'^strings = \["', 'strings = [1, "',
     "entry upx: key 'strings[0]': expected a string, found an integer 1"),
    ("windows.toml", r'^0x14c = "386"', "0x14c = 386",
     "entry machines: key '0x14c': expected a string, found an integer 386"),
])
def test_a_broken_copy_of_a_real_data_file_names_file_entry_and_key(tmp_path: Path, name: str, old: str, new: str,
                                                                     message: str) -> None:
    bad = broken_copy(tmp_path, name, old, new)
    assert read(DATA / name, name)  # the shipped file itself passes
    with pytest.raises(DataFileError) as err:
        read(bad, name)
    assert str(err.value).startswith(f"{bad}: "), err.value
    assert message in str(err.value), err.value
    assert isinstance(err.value, DepfreeError)


def test_not_toml_and_no_schema(tmp_path: Path) -> None:
    bad = broken_copy(tmp_path, "glibc.toml", r"^\[version_tags", "[[version_tags")
    with pytest.raises(DataFileError, match=f"^{re.escape(str(bad))}: expected TOML, found an error"):
        read(bad)
    other = tmp_path / "unknown.toml"
    other.write_text("a = 1\n")
    with pytest.raises(DataFileError, match="expected a knowledge file with a schema"):
        read(other)
