"""The audit log's immutable events."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs
import pendulum

from servicewf.plain import frozen_mapping

__all__ = ["ENGINE_KINDS", "SYSTEM_KINDS", "Event", "EventKind"]


class EventKind(str, enum.Enum):
    """What an event records. Only ``OPENED`` and ``TRANSITION`` move a case between states."""

    OPENED = "opened"
    TRANSITION = "transition"
    CLOCK_WARNING = "clock_warning"
    CLOCK_BREACHED = "clock_breached"
    CLOCK_EXTENDED = "clock_extended"
    ESCALATED = "escalated"
    OBLIGATION_DUE = "obligation_due"
    MIGRATED = "migrated"
    NOTE = "note"


ENGINE_KINDS = frozenset({EventKind.OPENED, EventKind.TRANSITION, EventKind.MIGRATED})
"""Kinds the engine appends itself, through ``open``, ``fire`` and ``migrate``."""

SYSTEM_KINDS = frozenset({EventKind.CLOCK_WARNING, EventKind.CLOCK_BREACHED,
                          EventKind.ESCALATED, EventKind.OBLIGATION_DUE})
"""Kinds only the library's system actor records (the sweep's verdicts): a person's role can
never be granted them, so SLA state derived from them cannot be forged."""


@attrs.frozen(slots=True)
class Event:
    """One entry of a case's append-only history.

    ``seq`` starts at 1 and is contiguous per case; ``at`` is an aware instant (UTC);
    ``source`` and ``dest`` are the states before and after (equal for events that do not move
    the case, and ``source`` is ``None`` for the opening event); ``data`` is what the command
    supplied.
    """

    case_id: str
    seq: int
    at: pendulum.DateTime
    kind: EventKind
    actor_id: str
    role: str
    trigger: str | None
    source: str | None
    dest: str
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)
    comment: str | None = None

    @property
    def moves(self) -> bool:
        """True when the event changed (or set) the case's state."""
        return self.kind in (EventKind.OPENED, EventKind.TRANSITION)
