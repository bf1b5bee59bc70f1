"""`@record`: a frozen dataclass whose __eq__, __hash__ and __repr__ are shared functions, not compiled per class.

Python 3.11's dataclass() compiles every method it generates with exec(): six for a frozen class (__init__,
__repr__, __eq__, __hash__ and the two frozen guards), 0.9 ms a class on this project's 2-core build machine.
auditor defines about 190 such classes and a local scan imports 140 of them: 0.12 s of every scan's start, more
than any other single cost (Python 3.13 compiles a class's methods in one go). A record lets dataclass() compile
only __init__ and the frozen guards; equality, hashing and repr are the three functions below, reading the field
names each class computes once. They behave as dataclass's own (same fields compared, hashed and shown, same
text), and everything else is dataclasses' own: fields(), replace(), asdict(), pickling, FrozenInstanceError.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """`@dataclass(frozen=True)`, with equality, hash and repr shared rather than generated."""
    made: Any = dataclasses.dataclass(cls, frozen=True, eq=False, repr=False)
    fields = dataclasses.fields(made)
    made._record_compared = _getter([f.name for f in fields if f.compare])
    made._record_hashed = _getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    made._record_shown = tuple(f.name for f in fields if f.repr)
    made.__eq__, made.__hash__, made.__repr__ = _eq, _hash, _repr
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
