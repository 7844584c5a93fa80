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
