"""SLA verdicts on imported history.

The clocks of an imported case were folded by the SLA processor from the imported events'
own instants when the case was written (:meth:`servicewf.engine.Engine.plan_history` runs
the processors), so each deadline is where the policy and calendars put it, whatever a
sweep would have done. A clock is judged at its deadline: met when it stopped by then,
breached when it stopped late or was still running past it at ``as_of`` (default: the
case's last event), running otherwise.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import attrs

from servicewf.engine import Engine
from servicewf.sla import SLA

__all__ = ["ClockVerdict", "sla_verdicts"]


@attrs.frozen
class ClockVerdict:
    """One clock of one case: ``verdict`` is ``met``, ``breached``, ``running`` (no verdict
    yet at ``as_of``), ``cancelled`` or ``idle`` (never started)."""

    case_id: str
    clock: str
    verdict: str
    started_at: _dt.datetime | None
    deadline: _dt.datetime | None
    stopped_at: _dt.datetime | None
    paused: _dt.timedelta

    def to_dict(self) -> dict[str, Any]:
        """Plain data (instants as ISO 8601 text, the pause in seconds)."""
        def iso(m: _dt.datetime | None) -> str | None:
            return None if m is None else m.isoformat()
        return {"case_id": self.case_id, "clock": self.clock, "verdict": self.verdict,
                "started_at": iso(self.started_at), "deadline": iso(self.deadline),
                "stopped_at": iso(self.stopped_at), "paused_s": self.paused.total_seconds()}


def sla_verdicts(engine: Engine, sla: SLA, case_ids: Iterable[str], *,
                 as_of: _dt.datetime | None = None) -> list[ClockVerdict]:
    """The verdict of every clock of each case in ``case_ids`` (cases whose process has
    no policy are left out)."""
    out: list[ClockVerdict] = []
    for case_id in case_ids:
        case = engine.get(case_id)
        if case.process not in sla.policies:
            continue
        now = as_of or case.updated_at
        for view in sla.clocks(engine, case, now):
            if view.status == "cancelled":
                verdict = "cancelled"
            elif view.breached:
                verdict = "breached"
            elif view.started_at is None:
                verdict = "idle"
            elif view.stopped_at is not None:
                verdict = "met"
            else:
                verdict = "running"
            out.append(ClockVerdict(case_id, view.name, verdict, view.started_at,
                                    view.deadline, view.stopped_at, view.paused))
    return out
