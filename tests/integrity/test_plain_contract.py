"""The plain-data contract at its edges: each documented limit holds exactly, on both sides."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from servicewf import Actor, InvalidData, InvalidIdentifier, plain
from servicewf.engine import Engine
from servicewf.plain import check_stored, frozen_mapping, plain_data
from servicewf.storage.base import Timer

from ..contract.backends import BACKENDS, make_store
from .support import AGENT, make_engine

# The documented limits (servicewf.plain), written out: a test that read them from the module
# would follow a wrong value there.
MAX_DEPTH, MAX_ITEMS, MAX_TEXT, MAX_IDENTIFIER = 32, 10_000, 1_000_000, 200


def test_the_module_states_the_documented_limits() -> None:
    assert (plain.MAX_DEPTH, plain.MAX_ITEMS, plain.MAX_TEXT, plain.MAX_IDENTIFIER) == (
        MAX_DEPTH, MAX_ITEMS, MAX_TEXT, MAX_IDENTIFIER)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    for store in make_store(request.param, request):
        yield make_engine(store)


def test_identifiers_of_the_longest_length_are_stored_everywhere(engine: Engine) -> None:
    """The SQL stores' key columns hold 200 characters: the longest identifier round-trips."""
    longest = "c" * MAX_IDENTIFIER
    case = engine.open("ticket", actor=Actor("a" * MAX_IDENTIFIER, "agent"),
                       data={"customer_ref": "C-1"}, case_id=longest)
    assert engine.store.load(longest) == case
    assert engine.history(longest)[0].actor_id == "a" * MAX_IDENTIFIER
    with pytest.raises(InvalidIdentifier):
        engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"}, case_id=longest + "c")


def nested_lists(levels: int) -> dict[str, object]:
    """Data ``levels`` deep: the top mapping is level 1, each list one more."""
    value: object = "x"
    for _ in range(levels - 1):
        value = [value]
    return {"v": value}


def nested_mappings(levels: int) -> dict[str, object]:
    value: object = "x"
    for _ in range(levels):
        value = {"v": value}
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("build", [nested_lists, nested_mappings])
def test_nesting_is_allowed_exactly_to_max_depth(build) -> None:  # type: ignore[no-untyped-def]
    assert plain_data(build(MAX_DEPTH)) == build(MAX_DEPTH)
    with pytest.raises(InvalidData, match=f"nests deeper than {MAX_DEPTH} levels"):
        plain_data(build(MAX_DEPTH + 1))


@pytest.mark.parametrize("item", [0, 0.5, "", True, None, [], {}], ids=repr)
def test_at_most_max_items_values_of_every_kind(item: object) -> None:
    # the top mapping and the list count as values too
    fits = {"tags": [item] * (MAX_ITEMS - 2)}
    assert len(plain_data(fits)["tags"]) == MAX_ITEMS - 2
    with pytest.raises(InvalidData, match=f"limit of {MAX_ITEMS} values"):
        plain_data({"tags": [item] * (MAX_ITEMS - 1)})


def test_at_most_max_text_characters_keys_included() -> None:
    fits = {"note": "x" * (MAX_TEXT - len("note"))}
    assert plain_data(fits) == fits
    with pytest.raises(InvalidData, match=f"limit of {MAX_TEXT} characters"):
        plain_data({"note": "x" * (MAX_TEXT - len("note") + 1)})
    # text in nested keys counts as well
    with pytest.raises(InvalidData, match="characters"):
        plain_data({"n": {"k" * (MAX_TEXT // 2): "x" * (MAX_TEXT // 2)}})


def test_integers_are_limited_to_64_bits_exactly() -> None:
    for fits in (2**63 - 1, -(2**63)):
        assert plain_data({"n": fits})["n"] == fits
    for beyond in (2**63, -(2**63) - 1):
        with pytest.raises(InvalidData, match="64-bit"):
            plain_data({"n": beyond})


def test_field_names_are_identifiers_up_to_the_limit() -> None:
    longest = "f" * MAX_IDENTIFIER
    assert set(plain_data({longest: 1})) == {longest}
    with pytest.raises(InvalidData, match="field name"):
        plain_data({longest + "f": 1})


def test_frozen_values_taken_from_a_case_can_be_supplied_again() -> None:
    first = plain_data({"tags": ["a", "b"], "contact": {"phone": "1"}})
    again = plain_data({"tags": first["tags"], "contact": first["contact"], "n": 1})
    assert again == {"tags": ["a", "b"], "contact": {"phone": "1"}, "n": 1}
    check_stored(again, "data")  # a store accepts them as they are


def test_a_refusal_locates_the_offending_key_by_position() -> None:
    with pytest.raises(InvalidData) as refused:
        plain_data({"note": {"a": 1, 7: "x"}})
    assert refused.value.path == "data['note']" and "key number 2" in refused.value.problem
    for bad_key in ("a\x00b", "\ud800", "é\x00"):
        with pytest.raises(InvalidData) as refused:
            plain_data({"note": {"a": 1, "b": 2, bad_key: "x"}})
        assert refused.value.path == "data['note']"
        assert "key number 3" in refused.value.problem
    # a key that is not a field name (customer data, say) is shown by position only
    with pytest.raises(InvalidData) as refused:
        plain_data({"phones": {"+86 138": 1, "+86 139": float("nan")}})
    assert refused.value.path == "data['phones'][<key 2>]"
    assert "+86" not in str(refused.value)


class MaskedArray:
    """Stands in for a NumPy type that lives in a submodule (numpy.ma.core)."""


MaskedArray.__module__ = "numpy.ma.core"


def test_numpy_values_get_numpy_advice_wherever_their_type_lives() -> None:
    with pytest.raises(InvalidData, match=r"\.item\(\)") as refused:
        plain_data({"v": MaskedArray()})
    assert "numpy.ma.core.MaskedArray" in refused.value.problem


def test_stored_values_must_be_mappings() -> None:
    for bad in (["x"], "x=1", 3):
        with pytest.raises(InvalidData, match="not a mapping"):
            frozen_mapping(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidData, match="timer payload"):
            Timer("c1", "sla:x", pendulum.datetime(2026, 1, 1), payload=bad)  # type: ignore[arg-type]
