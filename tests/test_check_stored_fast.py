"""plain.check_stored's fast path for short ASCII text (no path built unless it refuses)
accepts and refuses exactly what the walk it skips would: the check before it (below) is
the oracle, on random mappings with every kind of value, and with the item and text limits
made small enough to be reached."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from servicewf import plain
from servicewf._frozen import FrozenDict, FrozenList
from servicewf.errors import InvalidData
from servicewf.plain import _child, _Walk, check_stored


def _reference(value: Any, what: str) -> None:
    walk = _Walk(None, None)
    for position, (key, item) in enumerate(value.items()):
        if type(key) is not str:
            raise walk.refuse(what, f"has a key of type {type(key).__name__}; mapping keys "
                                    "must be text")
        kind = type(item)
        if kind is FrozenDict or kind is FrozenList:
            continue
        walk.value(item, _child(what, key, position), 1)


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        fn(*args)
    except InvalidData as refused:
        return ("refused", str(refused), refused.path, refused.problem)
    return "ok"


ASCII = st.text("ab ", max_size=4)
TEXT = ASCII | st.text(max_size=6) | st.sampled_from(["a\x00b", "\ud800", "é", "x" * 12,
                                                     "phone 555"])
SCALARS = st.one_of(ASCII, ASCII, TEXT, st.integers(-2**64, 2**64), st.floats(), st.booleans(),
                    st.none(), st.just(FrozenDict({"a": 1})), st.just(FrozenList([1])))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2)
                      | st.dictionaries(TEXT, inner, max_size=2), max_leaves=4)
KEYS = TEXT | st.integers(0, 3)


@settings(max_examples=400, deadline=None)
@example({"a": "x", "b": "y"}, 1, 10)  # the item limit reached on the second text
@example({"a": "x", "b": "yz"}, 4, 2)  # the text limit reached exactly, then passed
@example({"a": "xy"}, 4, 2)
@given(st.dictionaries(KEYS, VALUES, max_size=5), st.integers(1, 4), st.integers(0, 12))
def test_check_stored_accepts_and_refuses_what_the_full_walk_does(value, items, text):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plain, "MAX_ITEMS", items)
        patch.setattr(plain, "MAX_TEXT", text)
        assert _outcome(check_stored, value, "data") == _outcome(_reference, value, "data")
