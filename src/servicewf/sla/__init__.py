"""SLA clocks: named clocks per process, business-time deadlines, warnings, breaches,
extensions, escalation, and the sweep. See ``docs/sla.md``.

A deadline is a pure function of (policy, calendars, history): :func:`recompute` folds a
history into :class:`ClockStates`, and the :class:`SLA` processor runs the same fold
incrementally inside every engine command.
"""

from __future__ import annotations

from servicewf.errors import ExtensionConditionsUnmet, GoalUndefined
from servicewf.sla._fold import BUILTIN_CALENDARS, BoundPolicy, recompute
from servicewf.sla.policy import ExtensionRequest, Policy
from servicewf.sla.processor import SLA, TIMER_PREFIX, Breaching, escalated_tier
from servicewf.sla.spec import (
    BusinessHours,
    ClockHours,
    ClockSpec,
    DueField,
    ExtensionRule,
    GoalTable,
    On,
    Target,
    Until,
    Warn,
    WorkingDays,
    target_from_dict,
)
from servicewf.sla.state import (
    BREACHED,
    CANCELLED,
    IDLE,
    MET,
    NO_GOAL,
    PAUSED,
    RUNNING,
    STOPPED,
    TOO_EARLY,
    ClockState,
    ClockStates,
    ClockView,
    Cycle,
)
from servicewf.sla.sweep import (
    ActionContext,
    Sweeper,
    SweepEvent,
    SweepReport,
    TimerHandler,
    sla_handlers,
    sweep,
)

__all__ = [
    "BREACHED",
    "BUILTIN_CALENDARS",
    "CANCELLED",
    "IDLE",
    "MET",
    "NO_GOAL",
    "PAUSED",
    "RUNNING",
    "SLA",
    "STOPPED",
    "TIMER_PREFIX",
    "TOO_EARLY",
    "ActionContext",
    "BoundPolicy",
    "Breaching",
    "BusinessHours",
    "ClockHours",
    "ClockSpec",
    "ClockState",
    "ClockStates",
    "ClockView",
    "Cycle",
    "DueField",
    "ExtensionConditionsUnmet",
    "ExtensionRequest",
    "ExtensionRule",
    "GoalTable",
    "GoalUndefined",
    "On",
    "Policy",
    "SweepEvent",
    "SweepReport",
    "Sweeper",
    "Target",
    "TimerHandler",
    "Until",
    "Warn",
    "WorkingDays",
    "escalated_tier",
    "recompute",
    "sla_handlers",
    "sweep",
    "target_from_dict",
]
