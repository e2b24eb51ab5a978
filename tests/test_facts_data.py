"""The knowledge files of issue 16 are validated when loaded: a broken entry is one clear DepfreeError naming it."""

from __future__ import annotations

import pytest

from depfree.analysis import fortify, staticlibc
from depfree.errors import DepfreeError


@pytest.fixture
def fake_data(monkeypatch):
    def use(module, data):
        monkeypatch.setattr(module, "load", lambda name: data)
        (module.fortify_table if module is fortify else module.signs).cache_clear()

    yield use
    fortify.fortify_table.cache_clear()
    staticlibc.signs.cache_clear()


@pytest.mark.parametrize(("data", "message"), [
    ({"functions": {"__memcpy_chk": {"version": "GLIBC_2.3.4", "checks": ["memcpy"]}}}, "expected [meta] source"),
    ({"meta": {"source": "s"}, "functions": {"memcpy": {"version": "GLIBC_2.3.4", "checks": ["memcpy"]}}},
     "expected __NAME_chk"),
    ({"meta": {"source": "s"}, "functions": {"__memcpy_chk": {"version": "2.3.4", "checks": ["memcpy"]}}},
     "expected __NAME_chk"),
    ({"meta": {"source": "s"}, "functions": {}}, "expected [functions]"),
])
def test_broken_fortify_table(fake_data, data, message):
    fake_data(fortify, data)
    with pytest.raises(DepfreeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        fortify.fortify_table()


@pytest.mark.parametrize(("data", "message"), [
    ({"sign": [{"libc": "uclibc", "kind": "symbol", "value": "x", "source": "s"}], "irelative_types": {"amd64": 37}},
     "expected sign 0"),
    ({"sign": [{"libc": "musl", "kind": "guess", "value": "x", "source": "s"}], "irelative_types": {"amd64": 37}},
     "expected sign 0"),
    ({"sign": [{"libc": "musl", "kind": "string", "value": "x"}], "irelative_types": {"amd64": 37}},
     "expected sign 0"),
    ({"sign": [], "irelative_types": {}}, "expected"),
])
def test_broken_static_libc_signs(fake_data, data, message):
    fake_data(staticlibc, data)
    with pytest.raises(DepfreeError, match=message):
        staticlibc.signs()


def test_shipped_tables_load():
    assert len(fortify.fortify_table().functions) > 70
    table, types = staticlibc.signs()
    assert {s.libc for s in table} == {"glibc", "musl"} and types["amd64"] == 37
