"""Field ownership in the built-in processes: no step overwrites what another decided."""

from __future__ import annotations

import attrs
import pytest

from servicewf import Actor, FieldNotOwned
from servicewf.processes import PROCESSES, builtin_registry
from tests.processes.support import Harness


def test_a_grantee_cannot_widen_the_approved_scope() -> None:
    h = Harness()
    case = h.open("access_grant", grantee="amy", requested_scope=["basic_profile", "contact"],
                  purpose="account management")
    case = h.engine.fire(case, "approve", actor=Actor("boss", "manager"),
                         data={"approved_scope": ["basic_profile"], "approved_by": "boss"})
    before = (h.engine.get(case.id), h.engine.history(case.id))
    with pytest.raises(FieldNotOwned) as refused:
        h.engine.fire(case, "activate", actor=Actor("amy", "agent"), data={
            "approved_scope": ["basic_profile", "contact", "payment_cards"]})
    assert refused.value.fields == ("approved_scope",)
    assert (h.engine.get(case.id), h.engine.history(case.id)) == before
    active = h.engine.fire(case, "activate", actor=Actor("amy", "agent"))
    assert active.state == "active" and active.data["approved_scope"] == ["basic_profile"]


UNTYPED = {
    "complaint": ["customer_tier", "linked_case_id"],
    "service_problem": ["retain_until"],
    "service_request": ["info", "missing", "missing_info", "revision_reason"],
}


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_every_built_in_process_owns_its_fields(name: str) -> None:
    definition = builtin_registry().get(name)
    assert definition.owned_fields
    info = PROCESSES[name]
    typed = {f.name for f in attrs.fields(info.data_class)}
    owners: dict[str, set[str]] = {}
    for f in (*definition.intake, *definition.intake_writes):
        owners.setdefault(f, set()).add("open")
    for t in definition.transitions:
        for f in t.owned:
            owners.setdefault(f, set()).add(t.trigger)
    # Every field of the typed view can be written by some command, and a command writes a
    # field the typed view does not know only where listed here (a typo in a writes= list
    # would otherwise be silent).
    assert sorted(typed - set(owners)) == []
    assert sorted(set(owners) - typed) == UNTYPED.get(name, [])


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_staff_record_extensions_customers_do_not(name: str) -> None:
    recorders = builtin_registry().get(name).recorders
    assert recorders["clock_extended"] == ("agent", "supervisor", "manager", "executive")
    assert recorders["note"] == ()


def test_clock_state_kept_with_a_case_is_frozen_too() -> None:
    from servicewf.plain import FrozenDict, FrozenList

    h = Harness(with_sla=True)
    from tests.processes.test_complaint import INTAKE

    case = h.open("complaint", **INTAKE)
    state = case.extensions["sla"]
    assert type(state) is FrozenDict
    clocks = next(v for v in state.values() if isinstance(v, list))
    assert type(clocks) is FrozenList
    with pytest.raises(TypeError):
        clocks.append({"forged": True})
    assert h.engine.store.load(case.id).extensions == case.extensions


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_cases_stored_under_version_1_still_find_their_definition(name: str) -> None:
    """A stored case names its definition version, and every built-in is at version 1: a
    release that changes one adds a version instead of renumbering it."""
    registry = builtin_registry()
    assert registry.get(name, 1) is registry.get(name)
