"""``ProcessDefinition.from_dict`` on malformed or hostile plain data raises only
:class:`InvalidDefinition`, listing the problems, never ``RecursionError``/``AttributeError``/
``KeyError``/``TypeError`` from deep inside."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Guard, InvalidDefinition, ProcessDefinition
from servicewf.definition.data import MAX_DEPTH

VALID: dict[str, Any] = {
    "name": "p", "version": 1, "labels": {"en": "P"},
    "states": [{"id": "a", "initial": True}, {"id": "b", "final": True}],
    "transitions": [{"trigger": "go", "source": "a", "dest": "b", "conditions": "ok",
                     "required": ["x"], "roles": ["agent"]}],
    "guards": ["ok"], "intake": "x",
}
GUARDS = [Guard("ok", lambda ctx: True)]


def nested(depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cur = out
    for _ in range(depth):
        cur["en"] = {}
        cur = cur["en"]
    return out


def problems(data: Any, guards: Any = GUARDS) -> tuple[str, ...]:
    with pytest.raises(InvalidDefinition) as info:
        ProcessDefinition.from_dict(data, guards)
    assert info.value.problems
    return info.value.problems


def test_valid_data_still_loads() -> None:
    assert ProcessDefinition.from_dict(VALID, GUARDS).name == "p"


def test_labels_nested_ten_thousand_deep() -> None:
    found = problems({**VALID, "labels": nested(10_000)})
    assert any(f"nested more than {MAX_DEPTH} levels deep" in p for p in found)


def test_cyclic_data() -> None:
    data: dict[str, Any] = copy.deepcopy(VALID)
    data["labels"] = data
    assert any("nested more than" in p for p in problems(data))


@pytest.mark.parametrize("data", [
    None, "p", 3, [VALID], {**VALID, "guards": [1]}, {**VALID, "states": "abc"},
    {**VALID, "transitions": [{}]}, {**VALID, "states": [{}]}, {1: 2},
    {**VALID, "version": 10**5000},
    {**VALID, "name": 10**5000}, {**VALID, "states": {1, 2}}, {**VALID, "description": b"x"},
    {**VALID, "transitions": [{"trigger": object(), "source": "a", "dest": "b"}]},
])
def test_malformed_data(data: Any) -> None:
    problems(data)


def test_every_problem_is_listed() -> None:
    found = problems({**VALID, "labels": nested(50), "states": "abc", "transitions": [{}]})
    text = "\n".join(found)
    assert "labels" in text and "states" in text and "transitions/0" in text


@pytest.mark.parametrize("guards", [[1], {"ok": 1}, 5, [None]])
def test_guards_argument_that_is_not_guards(guards: Any) -> None:
    assert any("guards argument" in p for p in problems(VALID, guards))


class Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**99),
    st.floats(), st.text(max_size=12), st.sampled_from(["a", "b", "go", "*", "=", "en"]),
    st.binary(max_size=4), st.sets(st.integers(), max_size=2), st.builds(Hostile),
)
plain = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(
            st.one_of(st.sampled_from(sorted({*VALID, "id", "trigger", "source", "dest",
                                               "en", "initial", "final"})),
                      st.text(max_size=5), st.integers()),
            children, max_size=5),
    ),
    max_leaves=30,
)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A valid definition with some values replaced, removed or nested very deep."""
    data: dict[str, Any] = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        target: Any = data
        for _ in range(draw(st.integers(0, 3))):
            if isinstance(target, dict) and target:
                target = target[draw(st.sampled_from(list(target)))]
            elif isinstance(target, list) and target:
                target = target[draw(st.integers(0, len(target) - 1))]
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(list(target)))
            action = draw(st.sampled_from(["replace", "delete", "deep"]))
            if action == "delete":
                del target[key]
            elif action == "deep":
                target[key] = nested(draw(st.integers(MAX_DEPTH, 3000)))
            else:
                target[key] = draw(plain)
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plain, mutated()), st.one_of(st.just(GUARDS), plain))
def test_only_invalid_definition_escapes(data: Any, guards: Any) -> None:
    try:
        ProcessDefinition.from_dict(data, guards)
    except InvalidDefinition as exc:
        assert exc.problems
        assert all(len(p) <= 400 for p in exc.problems)
