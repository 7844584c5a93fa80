"""storage._codec.dumps builds json's C encoder itself (and unwraps read-only views); it
writes, and refuses, exactly what ``json.dumps`` with the same options does."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf._frozen import FrozenDict, FrozenList
from servicewf.storage import _codec
from servicewf.storage._codec import _plain, dumps

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
            | st.sampled_from(["\ud800", "中文", "a\x00b", '"\\\n']))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(FrozenList)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3).map(FrozenDict)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3).map(MappingProxyType),
    max_leaves=30)
_wrap = st.sampled_from([dict, FrozenDict, MappingProxyType,
                         lambda d: MappingProxyType(FrozenDict(d))])


def _reference(value: Any) -> tuple[str, Any]:
    try:
        return ("text", json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                   allow_nan=False, default=_plain))
    except Exception as exc:
        return ("refused", (type(exc), str(exc)))


def _ours(value: Any) -> tuple[str, Any]:
    try:
        return ("text", dumps(value))
    except Exception as exc:
        return ("refused", (type(exc), str(exc)))


@given(st.dictionaries(st.text(max_size=6), _values, max_size=5), _wrap)
def test_dumps_agrees_with_json_dumps(value: dict[str, Any], wrap: Any) -> None:
    wrapped = wrap(value)
    assert _ours(wrapped) == _reference(wrapped)


@pytest.mark.parametrize("value", [MappingProxyType({}), {}, FrozenDict()])
def test_empty(value: Any) -> None:
    assert dumps(value) == "{}"


def test_the_pure_python_encoder_gives_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    value = MappingProxyType({"客户": "张三", "n": [1, 2.5, None, {"x": True}]})
    fast = dumps(value)
    monkeypatch.setattr(_codec, "_c_make_encoder", None)
    assert dumps(value) == fast == '{"客户":"张三","n":[1,2.5,null,{"x":true}]}'


def test_a_circular_reference_is_refused_as_json_refuses_it() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert _ours({"a": loop}) == _reference({"a": loop})
    assert _ours({"a": loop})[0] == "refused"
    # and the encoder is usable afterwards (no marker left behind)
    assert dumps({"a": [1]}) == '{"a":[1]}'


class _OwnText:
    """A memo that encodes its value itself (what the SLA clocks' memo does), counting."""

    def __init__(self) -> None:
        self.calls = 0

    def json_text(self, value: Any, encode: Any) -> str:
        self.calls += 1
        return "{" + ",".join(f"{encode(k)}:{encode(v)}" for k, v in value.items()) + "}"


@given(st.dictionaries(st.text(max_size=6), _values, max_size=4),
       st.lists(st.booleans(), max_size=4))
def test_dumps_extensions_agrees_with_dumps(value: dict[str, Any], own: list[bool]) -> None:
    """With or without values that encode themselves, the text is dumps' (or refused as
    dumps refuses it)."""
    memos = []
    items = {}
    for i, (key, item) in enumerate(value.items()):
        if i < len(own) and own[i] and isinstance(item, dict):
            item = FrozenDict(item)
            item._memo = memo = _OwnText()
            memos.append(memo)
        items[key] = item
    extensions = MappingProxyType(items)
    try:
        expected: tuple[str, Any] = ("text", dumps(extensions))
    except Exception as exc:
        expected = ("refused", type(exc))
    try:
        got: tuple[str, Any] = ("text", _codec.dumps_extensions(extensions))
    except Exception as exc:
        got = ("refused", type(exc))
    assert got == expected
    if got[0] == "text":
        assert all(m.calls == 1 for m in memos)


def test_dumps_extensions_writes_what_the_memo_says() -> None:
    """The memo's text is used as it is (it is the builder's promise), beside the others."""
    own = FrozenDict({"a": 1})
    own._memo = type("M", (), {"json_text": lambda self, v, enc: '{"a":2}'})()
    other = FrozenDict({"b": 1})
    other._memo = object()  # a memo that does not encode
    text = _codec.dumps_extensions(MappingProxyType({"x": own, "y": other, "z": [1]}))
    assert text == '{"x":{"a":2},"y":{"b":1},"z":[1]}'
    assert _codec.dumps_extensions(MappingProxyType({})) == "{}"
    assert _codec.dumps_extensions(MappingProxyType({"y": other})) == '{"y":{"b":1}}'
    # A key that is not text: left to dumps, which writes it as json does.
    assert _codec.dumps_extensions(MappingProxyType({1: own})) == '{"1":{"a":1}}'  # type: ignore[dict-item]
