"""Case, Event and Timer hold their mappings read-only, through one shared converter."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from servicewf.plain import frozen_mapping
from servicewf.storage import Timer
from tests.contract.backends import T0, case, opened


def test_a_read_only_mapping_is_shared_and_anything_else_is_copied() -> None:
    proxy = MappingProxyType({"a": 1})
    assert frozen_mapping(proxy) is proxy
    given = {"a": 1}
    frozen = frozen_mapping(given)
    given["a"] = 2
    assert frozen == {"a": 1}
    with pytest.raises(TypeError):
        frozen["a"] = 3  # type: ignore[index]
    assert frozen_mapping(None) == {}


def test_every_value_uses_it() -> None:
    proxy = MappingProxyType({"级别": "重要"})
    c = case("c1", data=proxy, extensions=proxy)
    e = opened("c1", data=proxy)
    t = Timer("c1", "a", T0, "ticket", proxy)
    assert c.data is proxy and c.extensions is proxy and e.data is proxy and t.payload is proxy
    plain = {"x": [1]}
    assert type(Timer("c1", "a", T0, payload=plain).payload) is MappingProxyType
    assert Timer("c1", "a", T0, payload=plain).payload is not plain
