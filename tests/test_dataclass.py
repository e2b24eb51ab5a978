"""depfree.dataclass against the standard library's dataclasses: each class is defined twice, once by each, and the
two must agree on repr, equality, hash, immutability and what the dataclasses functions see."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from depfree import dataclass as lean


def twins(body: dict[str, Any], annotations: dict[str, str], **kw: Any) -> tuple[type, type]:
    """The same class body made a dataclass by the standard library and by depfree."""
    made = []
    for deco in (dataclasses.dataclass, lean.dataclass):
        ns = {"__annotations__": dict(annotations), **body, "__module__": __name__, "__qualname__": "Rec"}
        made.append(deco(**kw)(type("Rec", (), ns)))
    return made[0], made[1]


ANN = {"a": "int", "b": "str", "c": "list[int]", "d": "int"}
BODY = {"c": dataclasses.field(default_factory=list), "d": dataclasses.field(default=7, repr=False)}


@pytest.mark.parametrize("frozen", [False, True])
def test_repr_equality_and_hash_are_the_standard_librarys(frozen: bool) -> None:
    std, mine = twins(dict(BODY), ANN, frozen=frozen)
    values: list[tuple[Any, ...]] = [(1, "x"), (1, "x", [2]), (2, "y", [], 8)]
    for args in values:
        s, m = std(*args), mine(*args)
        assert repr(m) == repr(s)
        assert "d=" not in repr(m)  # field(repr=False)
        assert (m == mine(*args)) and not (m != mine(*args))
        for other in values:
            assert (m == mine(*other)) == (s == std(*other))
        assert m != s  # another class: NotImplemented both ways, so identity decides
        assert m.__eq__(s) is NotImplemented
        if frozen:
            assert _hash(m) == _hash(s)  # a list field: unhashable in both
        else:
            with pytest.raises(TypeError, match="unhashable"):
                hash(m)
    assert mine.__hash__ is None or frozen
    assert [f.name for f in dataclasses.fields(mine)] == ["a", "b", "c", "d"]
    assert mine.__match_args__ == std.__match_args__


def _hash(obj: object) -> int | str:
    try:
        return hash(obj)
    except TypeError as exc:
        return str(exc)


def test_frozen_stays_frozen() -> None:
    std, mine = twins({}, {"a": "int"}, frozen=True)
    rec = mine(1)
    assert hash(rec) == hash(std(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del rec.a
    assert dataclasses.replace(rec, a=3).a == 3
    assert {rec, mine(1)} == {rec}


def test_the_dataclasses_functions_and_pickle_see_an_ordinary_dataclass() -> None:
    rec = Outer(Inner(1), [Inner(2)])
    assert dataclasses.is_dataclass(rec)
    assert dataclasses.asdict(rec) == {"inner": {"n": 1}, "more": [{"n": 2}]}
    assert pickle.loads(pickle.dumps(rec)) == rec
    assert repr(rec) == "Outer(inner=Inner(n=1), more=[Inner(n=2)])"


def test_a_method_the_class_defines_is_kept() -> None:
    @lean.dataclass(frozen=True)
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 5

    assert repr(Own(1)) == "own" and Own(1) == Own(2) and hash(Own(1)) == 5


def test_eq_false_keeps_identity() -> None:
    _, mine = twins({}, {"a": "int"}, eq=False)
    assert mine(1) != mine(1)
    rec = mine(1)
    assert rec == rec and {rec: 1}[rec] == 1


def test_a_recursive_repr_stops() -> None:
    node = Node([])
    node.children.append(node)
    assert repr(node) == "Node(children=[...])"


def test_subclass_fields_compare_and_show() -> None:
    @lean.dataclass(frozen=True)
    class Base:
        a: int

    @lean.dataclass(frozen=True)
    class Sub(Base):
        b: int = 0

    assert repr(Sub(1, 2)) == "test_subclass_fields_compare_and_show.<locals>.Sub(a=1, b=2)"
    assert Sub(1, 2) == Sub(1, 2) and Sub(1, 2) != Sub(1, 3) and Base(1) != Sub(1)
    assert hash(Sub(1, 2)) == hash((1, 2))


@lean.dataclass
class Inner:
    n: int


@lean.dataclass
class Outer:
    inner: Inner
    more: list[Inner] = lean.field(default_factory=list)


@lean.dataclass
class Node:
    children: list[Node]
