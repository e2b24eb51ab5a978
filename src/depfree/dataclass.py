"""The standard library's dataclasses, defined for less (issue 23: ``inspect`` of one file defines ~50 of them, and
20 ms of its start went into their definition).

``dataclasses.dataclass`` writes the source of each generated method and compiles it: ``__init__``, ``__repr__``,
``__eq__`` and, for a frozen class, ``__hash__``, ``__setattr__`` and ``__delattr__`` — three to six ``exec`` calls a
class, ~130 µs each for ``__init__``. :func:`dataclass` lets the standard library process the fields and gives:

- ``__repr__``, ``__eq__`` and ``__hash__`` as functions of the class's fields, built without compiling anything.
  They behave as the generated ones: the same text, the same comparison (same class, then the tuple of the compared
  fields), the same hash (of the tuple of the hashed fields) and the same rules for when a class gets a hash at all.
- the frozen ``__setattr__`` and ``__delattr__`` as closures with the standard library's test and errors (a class
  with a dataclass among its bases keeps the standard library's, which checks that frozen bases stay frozen).
- ``__init__`` from the source the standard library would write (the same parameters, defaults, factories,
  ``__post_init__`` call and frozen assignments), compiled once per Python: the code objects are kept in the
  derived cache (:mod:`depfree.derived`), keyed by their source, and later processes build the function from the
  stored code with the class's defaults and factories (~2 µs instead of a compile).

A method the class defines itself is kept. ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` see
an ordinary dataclass. A class with a ``json_omit`` method (a report class with keys left out of its JSON) comes back
as a subclass without ``__dataclass_fields__`` of its own, so that orjson hands it to ``model.shallow_json`` instead
of writing every field itself (:func:`_encoded_by_default`).
"""

from __future__ import annotations

import builtins
import dataclasses
import reprlib
import sys
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field, fields
from operator import attrgetter
from types import CodeType, FunctionType
from typing import Any, TypeVar, overload

from depfree.derived import CodeCache

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
    if frozen and hasattr(cls, "json_omit"):
        raise TypeError(f"{cls.__qualname__}: a class with json_omit cannot be frozen (see _encoded_by_default)")
    own = cls.__dict__
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    own_repr, own_eq, own_init = "__repr__" in own, "__eq__" in own, "__init__" in own
    no_doc = not own.get("__doc__")
    if no_doc and not own_init:
        cls.__doc__ = cls.__name__  # (written below from the __init__ made here: the standard library would look at
        # the signature of the class without it)
    # a dataclass base: the standard library's frozen methods, which check frozen against the bases' flags
    std_frozen = frozen and any(hasattr(b, "__dataclass_fields__") for b in cls.__mro__[1:])
    if frozen and not std_frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    # (no slots: the same class comes back)
    dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=std_frozen)
    every = fields(cls)
    pseudo = cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
    if any(f.kw_only is True for f in every) or any(f._field_type is _FIELD_INITVAR for f in pseudo):
        # (the __init__ written here has no keyword-only parameters and passes nothing to __post_init__)
        raise TypeError(f"{cls.__qualname__}: depfree.dataclass takes no kw_only field and no InitVar")
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init = True
    if not own_init:
        cls.__init__ = _init_of(cls, every, frozen)  # type: ignore[misc]
        if no_doc:  # the text the standard library writes from the signature
            cls.__doc__ = _signature_doc(cls)
    if frozen and not std_frozen:
        params.frozen = True
        cls.__setattr__, cls.__delattr__ = _frozen_of(cls, tuple(f.name for f in every))  # type: ignore[method-assign]
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
    return _encoded_by_default(cls) if hasattr(cls, "json_omit") else cls


def _encoded_by_default(cls: T) -> T:
    """The class a ``json_omit`` class is used as: a subclass that adds nothing but has no ``__dataclass_fields__``
    of its own.

    orjson writes a dataclass itself, from the instance's attributes, when its type's own namespace holds
    ``__dataclass_fields__``; it hands any other object to ``default`` (``model.shallow_json``), which leaves
    out the keys ``json_omit`` names. The report's other classes are written by orjson directly: their
    instances hold exactly their fields, in order (issue 23: 55,000 objects in a scan of /usr/bin, each
    otherwise a call back into Python). ``dataclasses.fields``, ``is_dataclass``, ``replace``, pickling,
    ``repr``, equality and the name are those of ``cls``; a frozen class is refused above, as its
    ``__setattr__`` tells instances of its own class from a subclass's."""
    return type(cls)(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                           "__doc__": cls.__doc__})


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


def _frozen_of(cls: type[Any], names: tuple[str, ...]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The frozen ``__setattr__`` and ``__delattr__`` the standard library writes: a field, or any name on an
    instance of the class itself, raises FrozenInstanceError; other names on a subclass's instance go on."""
    shut = frozenset(names)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in shut:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in shut:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for fn in (__setattr__, __delattr__):
        fn.__qualname__ = f"{cls.__qualname__}.{fn.__name__}"
    return __setattr__, __delattr__


# The names the generated __init__ reads from its globals (besides its parameters, the fields' names, which may
# be any identifier but these: dataclasses' own prefix)
_FACTORY_MARK = "__dataclass_HAS_DEFAULT_FACTORY__"
_OBJECT_SETATTR = "__dataclass_builtins_object_setattr__"
# (the standard library's marker: the same repr in a signature)
_HAS_DEFAULT_FACTORY = dataclasses._HAS_DEFAULT_FACTORY  # type: ignore[attr-defined]
_FIELD_INITVAR = dataclasses._FIELD_INITVAR  # type: ignore[attr-defined]
_CODES = CodeCache("dataclass-init")


def _init_of(cls: type, every: tuple[Field[Any], ...], frozen: bool) -> Callable[..., None]:
    """``__init__`` as the standard library writes it for ``every`` field (see the module): its source, from the
    fields' names and kinds only (defaults and factories are the function's defaults and globals), compiled or
    taken from the code cache."""
    names = [f.name for f in every]
    me = "__dataclass_self__" if "self" in names else "self"
    scope: dict[str, Any] = {"__builtins__": builtins, "__name__": cls.__module__, _FACTORY_MARK: _HAS_DEFAULT_FACTORY,
                             _OBJECT_SETATTR: object.__setattr__}
    params: list[str] = []
    defaults: list[Any] = []
    body: list[str] = []
    for i, f in enumerate(every):
        factory, value = f"__dataclass_dflt_{i}__", f.name
        if f.init:
            if f.default is not MISSING:
                params.append(f"{f.name}=None")
                defaults.append(f.default)
            elif f.default_factory is not MISSING:
                params.append(f"{f.name}=None")
                defaults.append(_HAS_DEFAULT_FACTORY)
                scope[factory] = f.default_factory
                value = f"{factory}() if {f.name} is {_FACTORY_MARK} else {f.name}"
            elif defaults:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                params.append(f.name)
        elif f.default_factory is not MISSING:
            scope[factory] = f.default_factory
            value = f"{factory}()"
        else:
            continue  # (a plain default stays the class's attribute, as there)
        body.append(f"  {_OBJECT_SETATTR}({me}, {f.name!r}, {value})" if frozen else f"  {me}.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append(f"  {me}.__post_init__()")
    source = f"def __init__({', '.join([me, *params])}):\n" + ("\n".join(body) or "  pass") + "\n"
    init = FunctionType(_CODES.get(source, _compile_init), scope, "__init__", tuple(defaults) or None)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**{f.name: f.type for f in every if f.init}, "return": None}
    return init


def _compile_init(source: str) -> CodeType:
    """The code of the one function ``source`` defines."""
    return next(c for c in compile(source, "<dataclass __init__>", "exec").co_consts if isinstance(c, CodeType))


def _signature_doc(cls: type) -> str:
    """The docstring the standard library gives a dataclass without one: its name and ``__init__``'s signature."""
    import inspect  # (only for a class without a docstring)

    try:
        text = str(inspect.signature(cls)).replace(" -> None", "")
    except (TypeError, ValueError):
        text = ""
    return cls.__name__ + text
