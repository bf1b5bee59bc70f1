"""`@record`: a frozen dataclass whose methods are shared functions, not compiled per class.

Python 3.11's dataclass() compiles every method it generates with exec(): six for a frozen class (__init__,
__repr__, __eq__, __hash__ and the two frozen guards), 0.7-0.9 ms a class on this project's 2-core build machine.
auditor defines about 190 such classes and a local scan imports 140 of them: 0.1 s of every command's start, more
than any other single cost (Python 3.13 compiles a class's methods in one go). A record compiles nothing per
class: dataclass() only gathers the fields, and
  - __eq__, __hash__ and __repr__ are the shared functions below, reading the field names each class computes once;
  - the frozen guards are shared too, reading the class and field names they guard from the class;
  - __init__ is a template compiled once per number of parameters, its parameters renamed to the fields (a code
    object's names can be replaced without compiling), so its signature, keywords, defaults and errors are a
    dataclass's own. It stores the values as a frozen dataclass's __init__ does, fills fields that take no
    argument (init=False) from their default, and calls __post_init__.
They behave as dataclass's own (same fields compared, hashed and shown, same text, same FrozenInstanceError), and
fields(), replace(), asdict() and pickling are dataclasses' own. Two differences, neither visible to a caller:
dataclasses records such a class as not frozen (`__dataclass_params__`; it is frozen by the guards), and an
undocumented record's __doc__ lists its field names rather than its whole signature. Keyword-only fields and
InitVar are not supported (refused when the class is made): no record needs them.
"""

from __future__ import annotations

import dataclasses
import functools
import reprlib
import types
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


class _Factory:
    """The default a field with a default_factory shows in __init__'s signature, as a dataclass's does."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """`@dataclass(frozen=True)`, with every method shared rather than generated."""
    documented = bool(cls.__dict__.get("__doc__"))
    if not documented:
        cls.__doc__ = "-"  # dataclass() would compute a signature for it; a name list below is enough
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=False)
    every = list(made.__dataclass_fields__.values())
    if any(f._field_type is dataclasses._FIELD_INITVAR or f.kw_only is True for f in every):  # type: ignore[attr-defined]
        raise TypeError(f"@record {cls.__qualname__}: InitVar and keyword-only fields are not supported")
    fields = dataclasses.fields(made)
    if not documented:
        made.__doc__ = f"{cls.__name__}({', '.join(f.name for f in fields)})"
    made._record_compared = _getter([f.name for f in fields if f.compare])
    made._record_hashed = _getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    made._record_shown = tuple(f.name for f in fields if f.repr)
    made._record_owner = made
    made._record_names = frozenset(f.name for f in fields)
    made.__eq__, made.__hash__, made.__repr__ = _eq, _hash, _repr
    made.__setattr__, made.__delattr__ = _frozen_setattr, _frozen_delattr
    if "__init__" not in cls.__dict__:  # as dataclass(), a class's own __init__ is kept
        made.__init__ = _init(made, fields)
    return made  # type: ignore[no-any-return]


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of `names` of an instance, as a tuple (what the generated methods compare and hash)."""
    if len(names) > 1:
        return attrgetter(*names)  # a tuple already
    if names:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return lambda self: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return self.__class__._record_compared(self) == other.__class__._record_compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__class__._record_hashed(self))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__class__._record_shown)
    return f"{self.__class__.__qualname__}({shown})"


# The frozen guards, as dataclass writes them: a record's fields cannot be set or deleted, and neither can any
# attribute of the record class itself; a plain subclass may add attributes of its own.
def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    owner = self._record_owner
    if self.__class__ is owner or name in owner._record_names:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    super(owner, self).__setattr__(name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    owner = self._record_owner
    if self.__class__ is owner or name in owner._record_names:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    super(owner, self).__delattr__(name)


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """cls's __init__: the template for its number of parameters, renamed to its fields."""
    taken = [f for f in fields if f.init]
    defaults: list[Any] = []
    for f in taken:
        if f.default is not dataclasses.MISSING:
            defaults.append(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            defaults.append(_FACTORY)
        elif defaults:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    names = tuple(f.name for f in taken)
    factories = tuple((f.name, f.default_factory) for f in taken if f.default_factory is not dataclasses.MISSING)
    later = tuple((f.name, f.default_factory if f.default_factory is not dataclasses.MISSING else None, f.default)
                  for f in fields if not f.init and (f.default is not dataclasses.MISSING
                                                     or f.default_factory is not dataclasses.MISSING))
    post_init = hasattr(cls, "__post_init__")

    def fill(self: Any, values: tuple[Any, ...]) -> None:
        # What a frozen dataclass's __init__ does with object.__setattr__, in one call: no record has slots.
        stored = self.__dict__
        stored.update(zip(names, values, strict=True))
        for name, factory in factories:
            if stored[name] is _FACTORY:
                stored[name] = factory()
        for name, make, default in later:  # fields that take no argument (init=False)
            stored[name] = make() if make is not None else default
        if post_init:
            self.__post_init__()

    first = "__dataclass_self__" if "self" in names else "self"
    plain = not (factories or later or post_init)  # most records: the values are all there is to store
    code = _template(len(names), plain).replace(co_varnames=(first, *names),
                                                co_qualname=f"{cls.__qualname__}.__init__")
    made = types.FunctionType(code, {"_fill": fill, "_names": names}, "__init__", tuple(defaults) or None)
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    made.__module__ = cls.__module__
    made.__annotations__ = {f.name: f.type for f in taken} | {"return": None}
    return made


@functools.cache
def _template(count: int, plain: bool) -> types.CodeType:
    """`def __init__(self, _0, ..., _n)` that stores its values (plain) or has `_fill` do it, compiled once for
    each count."""
    params = [f"_{i}" for i in range(count)]
    values = f"({''.join(p + ', ' for p in params)})"
    body = f"self.__dict__.update(zip(_names, {values}))" if plain else f"_fill(self, {values})"
    source = f"def __init__({', '.join(['self', *params])}):\n    {body}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<record>", "exec"), {}, namespace)  # our own text: no input reaches it
    code: types.CodeType = namespace["__init__"].__code__
    return code
