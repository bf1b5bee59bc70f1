"""@record behaves as @dataclass(frozen=True): the same equality, hash, repr, and dataclasses' own tools."""

from __future__ import annotations

import dataclasses
import inspect
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


def _both(namespace: dict[str, object]) -> tuple[type, type]:
    """The same class body (fresh field() objects each time) made by @record and by @dataclass(frozen=True)."""
    made = []
    for decorate in (record, dataclass(frozen=True)):
        body = {k: (v() if callable(v) and k != "__post_init__" else v) for k, v in namespace.items()}
        made.append(decorate(type("Point", (), body)))
    return made[0], made[1]


SIGNED = {"__annotations__": {"x": "int", "y": "str", "z": "tuple[int, ...]", "w": "int"},
          "y": "a", "z": lambda: field(default_factory=tuple), "w": lambda: field(init=False, default=5)}


def test_a_records_init_takes_what_a_dataclasss_takes_and_refuses_what_it_refuses():
    ours, theirs = _both(SIGNED)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    for args, kwargs in [((1,), {}), ((1, "b", (2,)), {}), ((), {"x": 2, "z": (3,)}), ((1,), {"y": "c"})]:
        assert repr(ours(*args, **kwargs)).replace("Point", "") == repr(theirs(*args, **kwargs)).replace("Point", "")
    for args, kwargs in [((), {}), ((1, "b", (2,), 4), {}), ((1,), {"q": 2}), ((1,), {"x": 1}), ((1,), {"w": 3})]:
        with pytest.raises(TypeError) as mine:
            ours(*args, **kwargs)
        with pytest.raises(TypeError) as reference:
            theirs(*args, **kwargs)
        assert str(mine.value) == str(reference.value)


def test_a_records_init_fills_init_false_fields_and_calls_post_init():
    seen = []
    namespace = {"__annotations__": {"x": "int", "items": "list[int]", "checked": "bool"},
                 "items": lambda: field(init=False, default_factory=list),
                 "checked": lambda: field(init=False),
                 "__post_init__": lambda self: (seen.append(self.x), object.__setattr__(self, "checked", True))}
    ours, theirs = _both(namespace)
    assert (ours(7).items, ours(7).checked) == (theirs(7).items, theirs(7).checked) == ([], True)
    assert seen == [7, 7, 7, 7]
    assert ours(1).items is not ours(1).items


def test_a_record_keeps_its_own_init_and_takes_a_field_named_self():
    def __init__(self, text):  # a class's own __init__, as a record may define it
        object.__setattr__(self, "x", int(text))

    ours = record(type("Parsed", (), {"__annotations__": {"x": "int"}, "__init__": __init__}))
    assert ours("42") == ours("42") and ours("42").x == 42
    selfish = record(type("Selfish", (), {"__annotations__": {"self": "int", "other": "int"}}))
    assert repr(selfish(1, other=2)) == "Selfish(self=1, other=2)"


def test_a_record_refuses_what_it_does_not_build():
    with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):
        record(type("Bad", (), {"__annotations__": {"x": "int", "y": "int"}, "x": 0}))
    with pytest.raises(TypeError, match="InitVar and keyword-only fields are not supported"):
        record(type("Keyword", (), {"__annotations__": {"x": "int"}, "x": field(kw_only=True)}))


def test_a_records_fields_stay_frozen_in_a_plain_subclass_that_adds_attributes():
    base = record(type("Base", (), {"__annotations__": {"x": "int"}}))
    plain = type("Plain", (base,), {})
    item = plain(1)
    item.note = "added"  # not a field: a plain subclass may, as with a frozen dataclass
    assert item.note == "added"
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        base(1).note = "no"
