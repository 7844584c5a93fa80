"""P9 customer_data_change."""

from __future__ import annotations

import pytest

from servicewf import GuardFailed, RoleNotPermitted
from tests.processes.support import Harness

INTAKE = {"customer_ref": "C-8", "requested_by": "C-8", "requester_kind": "customer",
          "changes": "new phone"}


def test_approved_and_applied_by_someone_else() -> None:
    h = Harness()
    case = h.run(h.open("customer_data_change", **INTAKE), "submit")
    with pytest.raises(RoleNotPermitted):
        h.fire(case, "approve", "agent")
    case = h.run(case, ("approve", "supervisor"), "apply")
    assert [d for _, _, d in h.trail(case)] == ["requested", "pending_approval", "approved",
                                                "applied"]


def test_agent_needs_authorisation_and_no_self_approval() -> None:
    h = Harness()
    case = h.open("customer_data_change", **{**INTAKE, "requester_kind": "授權代理人",
                                             "requested_by": "boss-1"})
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "submit")
    assert err.value.guard == "requester_authorised"
    case = h.fire(case, "submit", authorisation_ref="POA-1")
    with pytest.raises(GuardFailed) as own:
        h.fire(case, "approve", "supervisor", actor_id="boss-1")
    assert own.value.guard == "not_self_approval"
    assert h.fire(case, "reject", reason="no consent").state == "rejected"
