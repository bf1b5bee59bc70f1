"""@record behaves as @dataclass(frozen=True): the same equality, hash, repr, and dataclasses' own tools."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from auditor.records import record


def _pair(body: dict[str, object], annotations: dict[str, str], base: tuple[type, ...] = ()) -> tuple[type, type]:
    """The same class body made by @record and by @dataclass(frozen=True)."""
    made = []
    for decorate in (record, dataclass(frozen=True)):
        namespace = {"__annotations__": dict(annotations), **{k: (v() if callable(v) else v) for k, v in body.items()}}
        made.append(decorate(type("Point", base, namespace)))
    return made[0], made[1]


CASES = {
    "plain": ({}, {"x": "int", "y": "str"}, [(1, "a"), (1, "a"), (2, "a")]),
    "one field": ({}, {"x": "int"}, [(1,), (1,), (2,)]),
    "no field": ({}, {}, [(), (), ()]),
    "not compared": ({"y": lambda: field(default="", compare=False)}, {"x": "int", "y": "str"},
                     [(1, "a"), (1, "b"), (2, "a")]),
    "hashed apart": ({"y": lambda: field(default=0, hash=False)}, {"x": "int", "y": "int"},
                     [(1, 2), (1, 3), (1, 2)]),
    "hidden": ({"y": lambda: field(default="secret", repr=False)}, {"x": "int", "y": "str"},
               [(1, "a"), (1, "a"), (2, "b")]),
    "factory": ({"y": lambda: field(default_factory=tuple)}, {"x": "int", "y": "tuple[int, ...]"},
                [(1, (1, 2)), (1, (1, 2)), (1, ())]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_record_compares_hashes_and_shows_as_a_frozen_dataclass(case):
    body, annotations, values = CASES[case]
    ours, theirs = _pair(body, annotations)
    a, b, c = (ours(*v) for v in values)
    ta, tb, tc = (theirs(*v) for v in values)
    assert (a == b, a == c, a != c, b == a) == (ta == tb, ta == tc, ta != tc, tb == ta)
    assert (hash(a) == hash(b), hash(a)) == (hash(ta) == hash(tb), hash(ta))
    assert [repr(x) for x in (a, b, c)] == [repr(x) for x in (ta, tb, tc)]
    assert (a == (1, "a"), a == ta) == (False, False)  # another class, even with the same fields, is not equal
    assert [f.name for f in dataclasses.fields(a)] == [f.name for f in dataclasses.fields(ta)]


def test_a_record_is_frozen_and_works_with_dataclasses_tools():
    ours, _ = _pair({"y": lambda: field(default_factory=tuple)}, {"x": "int", "y": "tuple[int, ...]"})
    point = ours(1, (2,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x
    assert dataclasses.is_dataclass(point)
    assert dataclasses.replace(point, x=3) == ours(3, (2,))
    assert dataclasses.asdict(point) == {"x": 1, "y": (2,)}
    assert {point: "found"}[ours(1, (2,))] == "found"


def test_a_record_subclass_compares_its_own_fields():
    base = record(type("Base", (), {"__annotations__": {"x": "int"}}))
    child = record(type("Child", (base,), {"__annotations__": {"y": "int"}, "y": 0}))
    assert child(1, 2) == child(1, 2) and child(1, 2) != child(1, 3)
    assert child(1, 2) != base(1) and base(1) != child(1, 2)
    assert repr(child(1, 2)) == "Child(x=1, y=2)"


def test_a_recursive_record_is_shown_without_recursing():
    node = record(type("Node", (), {"__annotations__": {"children": "list[object]"}}))
    root = node([])
    root.children.append(root)
    assert repr(root) == "Node(children=[...])"


def test_a_record_survives_pickling():
    # Forked scan workers send their results back pickled.
    from auditor.models import EvidenceRef
    ref = EvidenceRef("evidence/t/cmd-id-1.json", "0" * 64, "id -u")
    assert pickle.loads(pickle.dumps(ref)) == ref
