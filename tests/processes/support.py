"""Shared helpers for the built-in process tests: an engine on a frozen clock, sample data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pendulum

from servicewf import Actor, Case, Engine, Event, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.policies import default_sla

# Monday 2 March 2026, 09:00 in Shanghai.
START = pendulum.datetime(2026, 3, 2, 9, 0, tz="Asia/Shanghai")

VOCAB_SAMPLES: dict[str, Any] = {
    "channel": "電話", "priority": "緊急", "alert_kind": "delay", "contact_channel": "phone",
    "satisfaction": "滿意", "complaint_type": "服務態度", "level": "一般", "scope": "external",
    "remedy": "道歉", "feedback_channel": "email", "problem_type": "technical",
    "category": "accident", "customer_tier": "VIP", "mode": "remote", "origin": "complaint",
    "transfer_to": "complaint", "requester_kind": "customer",
    "kind": "customer_contact", "cadence": "weekly", "tz": "Asia/Shanghai",
    "start": "2026-03-02",
}
INSTANT_FIELDS = ("due", "task_due", "expected_completion", "new_deadline", "eta", "deadline",
                  "visit_time")
NOW_FIELDS = ("confirmed_at", "delivered_at")


def sample(field: str, now: pendulum.DateTime) -> Any:
    """A valid value for ``field`` at ``now``."""
    if field in VOCAB_SAMPLES:
        return VOCAB_SAMPLES[field]
    if field in INSTANT_FIELDS:
        return now.add(days=5).isoformat()
    if field in NOW_FIELDS:
        return now.isoformat()
    if field == "retain_until":
        return now.add(years=5).date().isoformat()
    if field in ("requested_scope", "approved_scope"):
        return ["basic_profile"]
    if field == "actions":
        return ["IA-1"]
    if field == "reported_to":
        return ["regulator", "customers", "internal_audit"]
    return f"{field}-value"


class Harness:
    """An engine on a frozen clock with the built-in registry, and terse fire helpers."""

    def __init__(self, start: pendulum.DateTime = START, *, with_sla: bool = False) -> None:
        self.clock = FrozenClock(start)
        self.sla = default_sla() if with_sla else None
        self.engine = Engine(MemoryStore(), self.clock, builtin_registry(),
                             processors=[self.sla] if self.sla is not None else [])

    def open(self, process: str, role: str = "agent", **data: Any) -> Case:
        return open_case(self.engine, process, actor=Actor(f"{role}-1", role), data=data)

    def data_for(self, case: Case, trigger: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Valid samples for every field the trigger requires, then ``overrides`` (a value of
        ``None`` drops the field)."""
        definition = self.engine.registry.get(case.process)
        fields: list[str] = []
        for t in definition.compiled.options(trigger, case.state):
            fields += [f for f in t.required if f not in fields]
        data = {f: sample(f, self.clock.now()) for f in fields}
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    def fire(self, case: Case, trigger: str, role: str = "agent", *, actor_id: str | None = None,
             **overrides: Any) -> Case:
        data = self.data_for(case, trigger, overrides)
        return self.engine.fire(case, trigger, actor=Actor(actor_id or f"{role}-1", role),
                                data=data)

    def run(self, case: Case, *steps: str | tuple[str, str] | tuple[str, str, dict[str, Any]]
            ) -> Case:
        """Fire steps: ``"trigger"``, ``(trigger, role)`` or ``(trigger, role, overrides)``."""
        for step in steps:
            if isinstance(step, str):
                case = self.fire(case, step)
            elif len(step) == 2:
                case = self.fire(case, step[0], step[1])
            else:
                case = self.fire(case, step[0], step[1], **step[2])  # type: ignore[misc]
        return case

    def history(self, case: Case) -> list[Event]:
        return self.engine.history(case.id)

    def trail(self, case: Case) -> list[tuple[str | None, str | None, str]]:
        """``(trigger, source, dest)`` of every event."""
        return [(e.trigger, e.source, e.dest) for e in self.history(case)]

    def triggers(self, case: Case) -> list[str | None]:
        return [e.trigger for e in self.history(case)][1:]
