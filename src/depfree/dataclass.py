"""The standard library's dataclasses, defined for less (issue 23: ``inspect`` of one file defines ~50 of them, and
20 ms of its start went into their definition).

``dataclasses.dataclass`` writes the source of each generated method and compiles it: ``__init__``, ``__repr__``,
``__eq__`` and, for a frozen class, ``__hash__``, ``__setattr__`` and ``__delattr__`` — three to six ``exec`` calls a
class. :func:`dataclass` lets the standard library write ``__init__`` (and the frozen ``__setattr__`` and
``__delattr__``, so that frozen means what it means there) and gives ``__repr__``, ``__eq__`` and ``__hash__`` as
functions of the class's fields, built without compiling anything. They behave as the generated ones: the same
text, the same comparison (same class, then the tuple of the compared fields), the same hash (of the tuple of the
hashed fields) and the same rules for when a class gets a hash at all; a method the class defines itself is kept.
``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` see an ordinary dataclass.
"""

from __future__ import annotations

import dataclasses
import reprlib
import sys
from collections.abc import Callable
from dataclasses import MISSING, Field, field, fields
from operator import attrgetter
from typing import Any, TypeVar, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # (a marker for type checkers only: Python 3.10 runs without it)

    def dataclass_transform(**_marks: Any) -> Callable[[Any], Any]:
        return lambda decorated: decorated

__all__ = ["dataclass", "field", "fields"]

T = TypeVar("T", bound=type)


@overload
def dataclass(cls: T, /) -> T: ...


@overload
def dataclass(*, eq: bool = True, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: T | None = None, /, *, eq: bool = True, frozen: bool = False) -> T | Callable[[T], T]:
    """``dataclasses.dataclass`` with ``repr``, ``eq`` and the hash given without ``exec`` (see the module)."""

    def wrap(cls: T) -> T:
        return _define(cls, eq=eq, frozen=frozen)

    return wrap if cls is None else wrap(cls)


def _define(cls: T, *, eq: bool, frozen: bool) -> T:
    own = cls.__dict__
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    own_repr, own_eq = "__repr__" in own, "__eq__" in own
    dataclasses.dataclass(cls, repr=False, eq=False, frozen=frozen)  # (no slots: the same class comes back)
    every = fields(cls)
    if not own_repr:
        cls.__repr__ = _repr_of(cls, tuple(f.name for f in every if f.repr))  # type: ignore[assignment]
    if eq:
        compared = tuple(f.name for f in every if f.compare)
        if not own_eq:
            cls.__eq__ = _eq_of(compared)  # type: ignore[assignment]
        # dataclasses' table for unsafe_hash=False: a frozen class hashes its fields, an unfrozen one is unhashable,
        # and a __hash__ the class defines itself stays
        if not explicit_hash:
            if frozen:
                hashed = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
                cls.__hash__ = _hash_of(hashed)  # type: ignore[assignment]
            else:
                cls.__hash__ = None  # type: ignore[assignment]
    return cls


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``names``' values of an object (attrgetter of one name gives the value itself)."""
    if not names:
        return lambda _obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _repr_of(cls: type, names: tuple[str, ...]) -> Callable[[Any], str]:
    values = _values(names)

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, values(self), strict=True))
        return f"{self.__class__.__qualname__}({shown})"

    __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
    return __repr__


def _eq_of(names: tuple[str, ...]) -> Callable[[Any, object], bool]:
    values = _values(names)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash_of(names: tuple[str, ...]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__
