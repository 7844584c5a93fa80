"""P9 contract_change."""

from __future__ import annotations

import pytest

from servicewf import Actor, DataMissing, Engine, GuardFailed, MemoryStore
from tests.processes.support import Harness

INTAKE = {"contract_ref": "CT-7", "reason": "new branch", "content": "add Shenzhen site"}


def test_agreed_signed_filed_or_refused() -> None:
    h = Harness()
    case = h.run(h.open("contract_change", **INTAKE), "negotiate", "agree", "sign", "file")
    assert case.state == "filed"
    other = h.run(h.open("contract_change", **INTAKE), "negotiate")
    with pytest.raises(DataMissing):
        h.fire(other, "refuse", refusal_reason=None)
    assert h.fire(other, "refuse").state == "refused"


def test_written_request_needed() -> None:
    h = Harness()
    with pytest.raises(DataMissing):
        h.open("contract_change", contract_ref="CT-7")
    with pytest.raises(DataMissing):
        h.engine.open("contract_change", actor=Actor("a", "agent"), data={"reason": "x"})
    # the written-request guard still holds for a variant opened without intake checks
    from servicewf.processes.contract_change import definition

    h.engine = Engine(MemoryStore(), h.clock,
                      [definition().derive(version=1).set_intake(()).own_fields(False).build()])
    bare = h.engine.open("contract_change", actor=Actor("a", "agent"), data={"reason": "x"})
    with pytest.raises(GuardFailed) as err:
        h.fire(bare, "negotiate")
    assert err.value.guard == "written_request"
