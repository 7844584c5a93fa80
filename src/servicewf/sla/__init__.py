"""SLA clocks: named clocks per process, business-time deadlines, warnings, breaches,
extensions, escalation, and the sweep. See ``docs/sla.md``.

A deadline is a pure function of (policy, calendars, history): :func:`recompute` folds a
history into :class:`ClockStates`, and the :class:`SLA` processor runs the same fold
incrementally inside every engine command.
"""

from __future__ import annotations

from servicewf.errors import ExtensionConditionsUnmet, GoalUndefined, InvalidPolicyData
from servicewf.sla._fold import BUILTIN_CALENDARS, CASE_CALENDAR, BoundPolicy, recompute
from servicewf.sla.data import POLICY_SCHEMA, load_policy, policy_from_dict, policy_to_dict
from servicewf.sla.policy import ExtensionRequest, Policy
from servicewf.sla.processor import SLA, TIMER_PREFIX, Breaching, escalated_tier
from servicewf.sla.spec import (
    GOAL_CHANGES,
    WORKING_DAY_CONVENTIONS,
    BusinessHours,
    CaseCalendar,
    ClockHours,
    ClockSpec,
    DueField,
    ExtensionRule,
    FieldCondition,
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
    "CASE_CALENDAR",
    "GOAL_CHANGES",
    "IDLE",
    "MET",
    "NO_GOAL",
    "PAUSED",
    "POLICY_SCHEMA",
    "RUNNING",
    "SLA",
    "STOPPED",
    "TIMER_PREFIX",
    "TOO_EARLY",
    "WORKING_DAY_CONVENTIONS",
    "ActionContext",
    "BoundPolicy",
    "Breaching",
    "BusinessHours",
    "CaseCalendar",
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
    "FieldCondition",
    "GoalTable",
    "GoalUndefined",
    "InvalidPolicyData",
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
    "load_policy",
    "policy_from_dict",
    "policy_to_dict",
    "recompute",
    "sla_handlers",
    "sweep",
    "target_from_dict",
]
