"""The derived-data cache (depfree/derived.py): a stored value comes back only while its sources are unchanged; a
changed, corrupt or unwritable cache builds the data again and never fails; what it returns is what building
returns (the shipped knowledge files against tomllib, the ELF enum tables against pyelftools itself)."""

from __future__ import annotations

import datetime
import marshal
import os
import sys
from pathlib import Path

import pytest

from depfree import datafiles, derived
from depfree.formats.elf import enums

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Builder:
    """``build`` for :func:`derived.derived` that counts its calls and returns data read from ``source``."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.calls = 0

    def __call__(self) -> dict[str, object]:
        self.calls += 1
        return {"text": self.source.read_text(), "list": [1, 2.5, None, True], "nested": {"b": "2", "a": "1"}}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(derived.ENV, str(where))
    return where


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "data.txt"
    src.write_text("one")
    return src


def test_a_stored_value_is_read_back_without_building(cache: Path, source: Path) -> None:
    build = Builder(source)
    first = derived.derived("item", [str(source)], build)
    again = derived.derived("item", [str(source)], build)
    assert build.calls == 1
    assert again == first == {"text": "one", "list": [1, 2.5, None, True], "nested": {"b": "2", "a": "1"}}
    assert list(again["nested"]) == ["b", "a"]  # type: ignore[call-overload]  # the order is kept
    assert [p.name for p in cache.iterdir()] == [Path(derived.cache_file("item", [str(source)]) or "").name]


def test_a_changed_source_builds_again(cache: Path, source: Path) -> None:
    build = Builder(source)
    derived.derived("item", [str(source)], build)
    source.write_text("three")  # another size
    assert derived.derived("item", [str(source)], build)["text"] == "three"
    assert build.calls == 2
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same size, another mtime
    source.write_text("seven")
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert derived.derived("item", [str(source)], build)["text"] == "seven"
    assert build.calls == 3
    assert derived.derived("item", [str(source)], build)["text"] == "seven"
    assert build.calls == 3


def test_another_version_of_depfree_builds_again(cache: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = Builder(source)
    derived.derived("item", [str(source)], build)
    monkeypatch.setattr(derived, "__version__", "999.0")
    derived.derived("item", [str(source)], build)
    assert build.calls == 2


def test_a_corrupt_or_foreign_cache_file_is_built_again_and_replaced(cache: Path, source: Path) -> None:
    build = Builder(source)
    derived.derived("item", [str(source)], build)
    path = Path(derived.cache_file("item", [str(source)]) or "")
    for junk in (b"", b"\xff\x00garbage", marshal.dumps({"not": "a keyed pair"}),
                 marshal.dumps((derived.source_key([str(source)]), b"bytes: not what is stored"))):
        path.write_bytes(junk)
        assert derived.derived("item", [str(source)], build)["text"] == "one"
    assert build.calls == 5
    assert derived.derived("item", [str(source)], build)["text"] == "one"
    assert build.calls == 5  # the last build was stored again


def test_an_unwritable_cache_directory_builds_every_time(tmp_path: Path, source: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(derived.ENV, str(blocker / "cache"))  # under a regular file: cannot be made, even by root
    build = Builder(source)
    assert derived.derived("item", [str(source)], build)["text"] == "one"
    assert derived.derived("item", [str(source)], build)["text"] == "one"
    assert build.calls == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "data.txt"]


@pytest.mark.parametrize("off", ["off", ""])
def test_the_cache_can_be_turned_off(off: str, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(derived.ENV, off)
    assert derived.cache_dir() is None
    build = Builder(source)
    derived.derived("item", [str(source)], build)
    derived.derived("item", [str(source)], build)
    assert build.calls == 2


def test_the_default_place_is_the_user_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(derived.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert derived.cache_dir() == str(tmp_path / "depfree" / "derived")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert derived.cache_dir() == str(tmp_path / "home" / ".cache" / "depfree" / "derived")


def test_data_that_are_not_plain_are_built_every_time(cache: Path, source: Path) -> None:
    calls = []

    def build() -> dict[str, object]:
        calls.append(1)
        return {"when": datetime.date(2024, 1, 2)}  # TOML has dates; marshal does not

    assert derived.derived("dated", [str(source)], build) == {"when": datetime.date(2024, 1, 2)}
    assert derived.derived("dated", [str(source)], build) == {"when": datetime.date(2024, 1, 2)}
    assert len(calls) == 2
    assert not cache.exists() or not list(cache.iterdir())


def test_a_missing_source_is_left_to_the_builder(cache: Path, tmp_path: Path) -> None:
    def build() -> str:
        raise FileNotFoundError("the builder says what is missing")

    with pytest.raises(FileNotFoundError, match="the builder says"):
        derived.derived("gone", [str(tmp_path / "missing.toml")], build)


def test_the_shipped_knowledge_files_read_back_from_the_cache_as_tomllib_parses_them(cache: Path) -> None:
    for name in sorted(datafiles.SCHEMAS):
        path = os.path.join(datafiles.DATA_DIR, name)
        with open(path, "rb") as fh:
            expected = tomllib.load(fh)
        datafiles.load.cache_clear()
        built = datafiles.load(name)  # parsed, validated, stored
        datafiles.load.cache_clear()
        cached = datafiles.load(name)  # from the cache file
        assert built == cached == expected, name
        assert list(cached) == list(expected), name
    datafiles.load.cache_clear()
    assert len(list(cache.iterdir())) == len(datafiles.SCHEMAS)


def test_the_elf_enum_tables_are_pyelftools_own() -> None:
    from elftools.elf import enums as theirs

    for name in enums.TABLES:
        assert getattr(enums, name) == {k: v for k, v in getattr(theirs, name).items() if k != "_default_"}, name
    assert enums.ENUMMAP_EXTRA_D_TAG_MACHINE == {
        m: {k: v for k, v in t.items() if k != "_default_"} for m, t in theirs.ENUMMAP_EXTRA_D_TAG_MACHINE.items()}
    assert enums.build() == {name: getattr(enums, name) for name in (*enums.TABLES, *enums.MAPS)}
