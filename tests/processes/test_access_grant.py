"""P9 access_grant."""

from __future__ import annotations

import pytest

from servicewf import GuardFailed
from servicewf.processes.access_grant import AccessGrantData
from tests.processes.support import Harness

INTAKE = {"grantee": "amy", "requested_scope": "basic_profile, contact", "purpose": "accounts"}


def test_least_privilege_and_lifecycle() -> None:
    h = Harness()
    case = h.open("access_grant", **INTAKE)
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "approve", "manager", approved_scope=["basic_profile", "finance"])
    assert (err.value.guard, err.value.rule) == ("least_privilege", "002 §7.2")
    with pytest.raises(GuardFailed) as own:
        h.fire(case, "approve", "manager", actor_id="amy")
    assert (own.value.guard, own.value.rule) == ("not_self_approval", "002 §7.3")
    case = h.run(case, ("approve", "manager", {"approved_scope": "contact"}), "activate",
                 "audit", "audit", "revoke")
    assert [d for _, _, d in h.trail(case)] == ["requested", "approved", "active", "audited",
                                                "audited", "revoked"]
    assert case.data_as(AccessGrantData).approved_scope == ("contact",)


def test_exactly_the_requested_scope_passes_a_superset_does_not() -> None:
    h = Harness()
    case = h.open("access_grant", **INTAKE)
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "approve", "supervisor", approved_scope="contact, basic_profile, finance")
    assert (err.value.guard, err.value.rule) == ("least_privilege", "002 §7.2")
    case = h.fire(case, "approve", "supervisor", approved_scope="contact, basic_profile",
                  approved_by="sue")
    assert case.state == "approved"
    typed = case.data_as(AccessGrantData)
    assert set(typed.approved_scope) == set(typed.requested_scope)
    assert typed.approved_by == "sue"


def test_grantee_and_scope_are_fixed_when_requested() -> None:
    """Nobody renames the grantee or widens the request on a later command (audit
    integrity): the approval would otherwise check the wrong person or scope."""
    h = Harness()
    case = h.open("access_grant", **INTAKE)
    for trigger, extra in (("approve", {"grantee": "mallory"}),
                           ("approve", {"requested_scope": "finance"})):
        with pytest.raises(GuardFailed) as err:
            h.fire(case, trigger, "manager", approved_scope="contact", **extra)
        assert (err.value.guard, err.value.rule) == ("reserved_fields", "audit integrity")
    case = h.run(case, ("approve", "manager", {"approved_scope": "contact"}), "activate")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "audit", grantee="mallory")
    assert err.value.guard == "reserved_fields"
    assert h.engine.get(case.id).data["grantee"] == "amy"
