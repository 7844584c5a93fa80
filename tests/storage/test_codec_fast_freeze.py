"""Snapshots, events and timers read back from JSON are frozen by a fast path; it accepts,
refuses and builds exactly what the checked walk (plain.frozen_mapping) does."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from servicewf._frozen import FrozenDict, FrozenList
from servicewf.plain import MAX_DEPTH, MAX_ITEMS, frozen_mapping
from servicewf.storage._codec import _frozen

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
            | st.sampled_from(["\x00", "\ud800", "中文", "a\x00b"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=4) | st.just("\ud800"), inner,
                                         max_size=4), max_leaves=30)


def _outcome(f: Any, value: dict[str, Any]) -> tuple[str, Any]:
    try:
        out = f(value)
    except Exception as exc:  # the same refusal, with the same message
        return ("refused", (type(exc), str(exc)))
    return ("frozen", (dict(out), [type(v) for v in out.values()]))


def _deep(depth: int) -> dict[str, Any]:
    v: Any = 1
    for _ in range(depth):
        v = [v]
    return {"a": v}


@given(st.dictionaries(st.text(max_size=6), _values, max_size=5))
def test_fast_freeze_agrees_with_the_checked_walk(value: dict[str, Any]) -> None:
    decoded = json.loads(json.dumps(value)) if _jsonable(value) else value
    assert _outcome(_frozen, decoded) == _outcome(frozen_mapping, decoded)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (ValueError, TypeError):
        return False
    return True


def _nested(shape: str) -> dict[str, Any]:
    v: Any = "leaf"
    for c in reversed(shape):
        v = [v] if c == "l" else {"k": v}
    return {"a": v}


@given(st.text("ld", min_size=MAX_DEPTH - 3, max_size=MAX_DEPTH + 2))
def test_mixed_nesting_is_judged_as_before(shape: str) -> None:
    value = _nested(shape)
    assert _outcome(_frozen, value) == _outcome(frozen_mapping, value)


def test_limits_and_nesting_are_refused_as_before() -> None:
    for value in (_deep(MAX_DEPTH - 2), _deep(MAX_DEPTH), _deep(MAX_DEPTH + 3),
                  {"a": list(range(MAX_ITEMS))}, {"a": list(range(MAX_ITEMS - 3))},
                  {"a": "x" * 1_000_001}, {"k" * 1_000_001: 1}):
        assert _outcome(_frozen, value) == _outcome(frozen_mapping, value)


def test_the_result_is_deep_frozen() -> None:
    out = _frozen({"a": [1, {"b": [2]}], "c": {"d": "中文"}})
    assert type(out["a"]) is FrozenList and type(out["a"][1]) is FrozenDict
    assert type(out["c"]) is FrozenDict
    assert _frozen({}) is frozen_mapping({})


def test_snapshots_decode_through_the_cache_and_corrupt_rows_still_refuse() -> None:
    import pytest

    from servicewf.errors import CorruptRecord
    from servicewf.storage._codec import SNAPSHOT_SCHEMA_VERSION, decode_case

    def case(data: str, ext: str = '{"sla":{"v":1}}') -> Any:
        return decode_case("c1", "p", 1, "s", 2, 0, 1, data, ext, SNAPSHOT_SCHEMA_VERSION)

    first, again = case('{"a":[1,"中文"]}'), case('{"a":[1,"中文"]}')
    assert first.data == again.data == {"a": [1, "中文"]}
    assert type(again.data["a"]) is FrozenList and again.extensions == {"sla": {"v": 1}}
    for bad in ('{"a":NaN}', '{"a":"\\u0000"}', "[1]", "{", '{"a":99999999999999999999}'):
        with pytest.raises(CorruptRecord):
            case(bad)
        with pytest.raises(CorruptRecord):  # not cached: refused again
            case(bad)
        with pytest.raises(CorruptRecord):
            case("{}", bad)


def _items(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + sum(_items(x) for x in v.values())
    if isinstance(v, list):
        return 1 + sum(_items(x) for x in v)
    return 1


def _text(v: Any) -> int:
    if isinstance(v, dict):
        return sum(len(k) + _text(x) for k, x in v.items())
    if isinstance(v, list):
        return sum(_text(x) for x in v)
    return len(v) if isinstance(v, str) else 0


_valid = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
    .filter(lambda s: "\x00" not in s and not any(0xD800 <= ord(c) < 0xE000 for c in s)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("ab中", max_size=3),
                                                                inner, max_size=4),
    max_leaves=30)


@given(st.dictionaries(st.text("xyz", max_size=3), _valid, max_size=4))
def test_valid_data_takes_the_fast_path_with_the_walks_counts(value: dict[str, Any]) -> None:
    from servicewf.storage._codec import _Fast

    fast = _Fast()
    out = fast.mapping(value, 1)  # no fallback for valid data
    assert out == value and (fast.items, fast.text) == (_items(value), _text(value))


def test_the_limits_are_judged_at_their_exact_boundary() -> None:
    from servicewf.plain import MAX_TEXT

    shapes = [lambda n: {"a": list(range(n - 2))},            # the dict, the list, n - 2
              lambda n: {"a": [list(range(n - 3))]},          # a list in a list
              lambda n: {"a": [{"b": 0} for _ in range((n - 2) // 2)], "c": 0},
              ]
    for shape in shapes:
        for n in (MAX_ITEMS - 1, MAX_ITEMS, MAX_ITEMS + 1, MAX_ITEMS + 2):
            value = shape(n)
            assert _outcome(_frozen, value) == _outcome(frozen_mapping, value)
    for n in (MAX_TEXT - 1, MAX_TEXT, MAX_TEXT + 1):
        for value in ({"a": "x" * (n - 1)}, {"k" * n: 1}, {"a": ["x" * (n - 1)]},
                      {"a": {"b": "x" * (n - 2)}}):
            assert _outcome(_frozen, value) == _outcome(frozen_mapping, value)


_EDGES = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, float("nan"), float("inf"), 1.5,
          True, None]


def test_scalars_at_the_edges_are_judged_as_before_in_mappings_and_lists() -> None:
    for edge in _EDGES:
        for value in ({"a": edge}, {"a": [edge]}, {"a": [[edge]]}, {"a": [{"b": edge}]}):
            assert _outcome(_frozen, value) == _outcome(frozen_mapping, value)


def test_whatever_the_walk_accepts_at_the_limits_takes_the_fast_path(monkeypatch: Any) -> None:
    import servicewf.storage._codec as codec
    from servicewf.plain import MAX_TEXT

    accepted = [v for v in (
        *(_nested(s) for s in ("l" * (MAX_DEPTH - 2), "d" * (MAX_DEPTH - 1), "ld" * 15 + "l",
                               "dl" * 15 + "d", "l" * 20 + "d" * 10)),
        {"a": list(range(MAX_ITEMS - 2))}, {"a": "x" * (MAX_TEXT - 1)},
        {"a": [2**63 - 1, -(2**63), 1.5, None, True, "中"]})
        if _outcome(frozen_mapping, v)[0] == "frozen"]
    assert len(accepted) == 8

    def walk(*_: Any) -> Any:
        raise AssertionError("the checked walk was asked")

    monkeypatch.setattr(codec, "frozen_mapping", walk)
    for value in accepted:
        assert _frozen(value) == value
