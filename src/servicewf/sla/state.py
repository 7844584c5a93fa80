"""What the clocks of a case are: frozen values derived from its history.

:class:`ClockStates` is the result of folding a history (and what the processor keeps in
``case.extensions["sla"]`` as plain data); it does not depend on "now". :class:`ClockView`
is the reading of one clock at an instant, for people and reports.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, NamedTuple

import attrs
import pendulum

from servicewf.errors import UnknownClock
from servicewf.sla.spec import Target, target_from_dict

__all__ = [
    "BREACHED",
    "CANCELLED",
    "IDLE",
    "MET",
    "NO_GOAL",
    "PAUSED",
    "RUNNING",
    "STOPPED",
    "TOO_EARLY",
    "ClockState",
    "ClockStates",
    "ClockView",
    "Cycle",
]

# statuses
IDLE = "idle"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"
# outcomes of a stopped cycle
MET = "met"
BREACHED = "breached"
TOO_EARLY = "too_early"
CANCELLED = "cancelled"
NO_GOAL = "no_goal"


class Cycle(NamedTuple):
    """A finished cycle of a clock (instants are epoch microseconds, UTC).

    ``elapsed_*`` is the time the cycle counted (from start to stop, pauses excluded) and
    ``paused_*`` the time it was paused, each in calendar terms (absolute µs) and business
    terms (working µs on the clock's calendar): ``elapsed + paused`` is the cycle's span in
    either terms. Cycles recorded before these were kept read as ``None`` / 0.
    """

    number: int
    started: int
    stopped: int | None
    deadline: int | None
    outcome: str | None
    breached: bool
    elapsed_calendar: int | None = None
    elapsed_business: int | None = None
    paused_calendar: int = 0
    paused_business: int = 0

    def to_list(self) -> list[Any]:
        """Plain data."""
        return list(self)

    @classmethod
    def from_list(cls, data: list[Any]) -> Cycle:
        """Inverse of :meth:`to_list`."""
        return cls(*data)


Adjustment = int | Target
"""A deadline adjustment, in history order: paused time (µs of the clock's measure) or an
extension (a target added to the deadline)."""


class ClockState(NamedTuple):
    """One clock of a case, as the history left it (an immutable named tuple: a replay
    builds many of them).

    Instants (``started``, ``base``, ``deadline``, ``earliest``, ``pause_since``, ``stopped``)
    are epoch microseconds (UTC) or ``None``; ``paused`` is the total paused time of this
    cycle in the clock's measure. ``base`` is the deadline before pauses and extensions, and
    ``adjustments`` replays them in order. ``breached`` is sticky for the cycle: it stays
    ``True`` once a breach was recorded or the clock stopped late, even if a later change
    moves the deadline.
    """

    name: str
    cycle: int = 0
    status: str = IDLE
    outcome: str | None = None
    started: int | None = None
    target: Target | None = None
    base: int | None = None
    deadline: int | None = None
    earliest: int | None = None
    paused: int = 0
    pause_since: int | None = None
    held: bool = False
    stopped: int | None = None
    warned: bool = False
    breached: bool = False
    breach_recorded: bool = False
    early_attempts: int = 0
    extensions: int = 0
    adjustments: tuple[Adjustment, ...] = ()
    past: tuple[Cycle, ...] = ()
    paused_calendar: int = 0
    paused_business: int = 0
    calendar: str | None = None

    @property
    def running(self) -> bool:
        """True while started and not stopped (paused included)."""
        return self.status in (RUNNING, PAUSED)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able)."""
        return {
            "name": self.name, "cycle": self.cycle, "status": self.status,
            "outcome": self.outcome, "started": self.started,
            "target": None if self.target is None else self.target.to_dict(),
            "base": self.base, "deadline": self.deadline, "earliest": self.earliest,
            "paused": self.paused, "pause_since": self.pause_since, "held": self.held,
            "stopped": self.stopped, "warned": self.warned, "breached": self.breached,
            "breach_recorded": self.breach_recorded, "early_attempts": self.early_attempts,
            "extensions": self.extensions,
            "adjustments": [a if isinstance(a, int) else a.to_dict() for a in self.adjustments],
            "past": [c.to_list() for c in self.past],
            "paused_calendar": self.paused_calendar, "paused_business": self.paused_business,
            "calendar": self.calendar,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClockState:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        target = values.pop("target")
        values["target"] = None if target is None else target_from_dict(target)
        values["adjustments"] = tuple(a if isinstance(a, int) else target_from_dict(a)
                                      for a in values["adjustments"])
        values["past"] = tuple(Cycle.from_list(list(c)) for c in values["past"])
        return cls(**values)


@attrs.frozen
class ClockStates:
    """Every clock of one case, plus the case state and escalation tier the fold tracked."""

    policy: str
    state: str | None = None
    tier: str | None = None
    clocks: tuple[ClockState, ...] = ()
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)
    """The last values of the data fields the policy's conditions read (a ``changed``
    condition compares against them: the processor sees the data after a command only)."""

    def __getitem__(self, name: str) -> ClockState:
        for c in self.clocks:
            if c.name == name:
                return c
        raise UnknownClock(
            f"no clock {name!r} in policy {self.policy!r}; known: "
            f"{', '.join(c.name for c in self.clocks)}"
        )

    def names(self) -> tuple[str, ...]:
        """The clock names, in policy order."""
        return tuple(c.name for c in self.clocks)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as stored in ``case.extensions["sla"]``."""
        out = {"v": 1, "policy": self.policy, "state": self.state, "tier": self.tier,
               "clocks": [c.to_dict() for c in self.clocks]}
        if self.fields:
            out["fields"] = dict(self.fields)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClockStates:
        """Inverse of :meth:`to_dict`."""
        return cls(data["policy"], data.get("state"), data.get("tier"),
                   tuple(ClockState.from_dict(c) for c in data["clocks"]),
                   dict(data.get("fields") or {}))


@attrs.frozen
class ClockView:
    """One clock read at ``now``: what a dashboard shows.

    ``elapsed`` and ``remaining`` are in the clock's measure (business time on its calendar,
    or clock hours); ``remaining`` is negative once overdue and ``None`` without a deadline.
    ``breached`` is true once breached (recorded, stopped late, or overdue at ``now``).
    """

    name: str
    cycle: int
    status: str
    outcome: str | None
    target: str | None
    started_at: pendulum.DateTime | None
    deadline: pendulum.DateTime | None
    earliest: pendulum.DateTime | None
    warning_at: pendulum.DateTime | None
    stopped_at: pendulum.DateTime | None
    elapsed: _dt.timedelta
    remaining: _dt.timedelta | None
    paused: _dt.timedelta
    is_paused: bool
    breached: bool
    breach_recorded: bool
    warned: bool
    extensions: int
    past: tuple[Cycle, ...] = ()
