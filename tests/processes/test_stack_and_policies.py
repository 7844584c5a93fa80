"""The default stack and the default SLA wiring (each test pins a behaviour a surviving
mutant broke)."""

from __future__ import annotations

import pendulum
import pytest

from servicewf import FrozenClock, MemoryStore, Registry
from servicewf.errors import InvalidPolicy
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.processes.stack import builtin_stack


def test_the_default_stack_claims_a_thousand_timers_at_a_time() -> None:
    stack = builtin_stack(MemoryStore(), FrozenClock(pendulum.datetime(2026, 3, 2, tz="UTC")))
    assert stack.sweeper.batch == 1000
    assert stack.engine.processors == [stack.sla, stack.obligations]
    assert stack.registry is stack.engine.registry


def test_default_sla_checks_its_policies_against_the_registry_at_once() -> None:
    complaint = builtin_registry().get("complaint")
    # The presets cancel the complaint clocks on entering "invalid": a complaint process
    # without that state is refused when the SLA is built, not at the first command.
    trimmed = complaint.derive(version=1).remove_state("invalid").build()
    others = [d for d in builtin_registry() if d.name != "complaint"]
    with pytest.raises(InvalidPolicy, match="invalid"):
        default_sla(registry=Registry([*others, trimmed]))
