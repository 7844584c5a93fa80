"""plain_data's fast path for a flat mapping of scalars (the common command) accepts,
refuses and builds exactly what the checked walk does, and what it builds is read-only and
not tracked by the cyclic collector (event data lives as long as the history)."""

from __future__ import annotations

import gc
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf import plain
from servicewf.plain import plain_data

_keys = st.text(max_size=6) | st.sampled_from(["a", "plan", " x", "x\n", "k" * 201, "中"])
_scalars = (st.none() | st.booleans() | st.integers(-(2**64), 2**64)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(max_size=6) | st.sampled_from(["\x00", "\ud800", "中文"]))


def _outcome(value: dict[str, Any], *, fast: bool) -> tuple[str, Any]:
    try:
        # The checked walk alone for fast=False: a read-only view never takes the fast path.
        out = plain_data(value) if fast else plain_data(MappingProxyType(value))
    except Exception as exc:
        return ("refused", (type(exc), str(exc)))
    return ("frozen", (type(out), dict(out), [type(v) for v in out.values()]))


@given(st.dictionaries(_keys, _scalars, max_size=5))
def test_flat_fast_path_agrees_with_the_walk(value: dict[str, Any]) -> None:
    assert _outcome(value, fast=True) == _outcome(value, fast=False)


def test_the_fast_path_result_is_read_only_untracked_and_a_copy() -> None:
    given_data = {"plan": "p", "n": 3, "ok": True, "x": None, "f": 1.5}
    out = plain_data(given_data)
    assert plain._flat(given_data) is not None  # this value takes the fast path
    with pytest.raises(TypeError):
        out["plan"] = "q"  # type: ignore[index]
    given_data["plan"] = "changed"
    assert out["plan"] == "p"
    (inner,) = gc.get_referents(out)
    assert type(inner) is dict and not gc.is_tracked(inner)
