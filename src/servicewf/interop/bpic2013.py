"""BPIC 2013 (Volvo IT incidents) wired for import: its column map, a prescribed incident
model to check it against, an SLA clock its Wait sub-statuses pause, and one function that
imports a BPIC-like CSV into a store (what the migration guide and KPI tests use).

The log (``bpic2013_incidents.csv.gz``, CC BY 4.0) is not shipped: pass its path.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from typing import Any

from servicewf.definition import DefinitionBuilder, ProcessDefinition
from servicewf.engine import Engine
from servicewf.interop.replay import ImportResult, import_log
from servicewf.interop.source import ColumnMap, Log, read_log
from servicewf.sla import SLA, ClockHours, ClockSpec, On, Policy

__all__ = ["COLUMNS", "FINAL", "PROCESS", "WAITS", "definition", "import_csv",
           "import_incidents", "sla"]

PROCESS = "bpic2013_incident"

COLUMNS = ColumnMap(
    case="SR Number", state="Activity", time="Change Date+Time", actor="Resource",
    data={"SR Latest Impact": "impact", "ST Level": "tier", "Product": "product",
          "Country": "country", "Involved ST": "team"})
"""The BPIC 2013 CSV's columns: a state-snapshot log (status and sub-status merged in
``Activity``); times carry their UTC offset."""

_WORK = ("accepted_in_progress", "accepted_assigned")
WAITS = ("accepted_wait", "accepted_wait_user", "accepted_wait_customer",
         "accepted_wait_implementation", "accepted_wait_vendor")
"""The Wait sub-statuses: the resolution clock does not count in them."""
FINAL = ("completed_closed", "completed_in_call", "completed_cancelled", "unmatched_unmatched")

_LABELS = {
    "queued_awaiting_assignment": "Queued-Awaiting Assignment",
    "accepted_in_progress": "Accepted-In Progress", "accepted_assigned": "Accepted-Assigned",
    "accepted_wait": "Accepted-Wait", "accepted_wait_user": "Accepted-Wait - User",
    "accepted_wait_customer": "Accepted-Wait - Customer",
    "accepted_wait_implementation": "Accepted-Wait - Implementation",
    "accepted_wait_vendor": "Accepted-Wait - Vendor",
    "completed_resolved": "Completed-Resolved", "completed_closed": "Completed-Closed",
    "completed_in_call": "Completed-In Call", "completed_cancelled": "Completed-Cancelled",
    "unmatched_unmatched": "Unmatched-Unmatched",
}


def definition() -> ProcessDefinition:
    """The prescribed incident model: queued and accepted sub-statuses move freely among
    themselves; an incident is resolved from work before it is closed; a resolved incident
    may be reopened; calls are completed in the call; anything open may be cancelled."""
    b = DefinitionBuilder(PROCESS, 1).add_state("new", initial=True, labels="New")
    for sid, label in _LABELS.items():
        b.add_state(sid, final=sid in FINAL, labels=label)
    active = ("new", "queued_awaiting_assignment", *_WORK, *WAITS)
    for target in ("queued_awaiting_assignment", *_WORK, *WAITS):
        b.add_transition(target, [s for s in active if s != target], target,
                         labels=_LABELS[target])
    b.add_transition("accepted_in_progress", "completed_resolved", "accepted_in_progress",
                     labels=_LABELS["accepted_in_progress"])
    b.add_transition("completed_resolved", [*_WORK, *WAITS], "completed_resolved",
                     labels=_LABELS["completed_resolved"])
    b.add_transition("completed_closed", "completed_resolved", "completed_closed",
                     labels=_LABELS["completed_closed"])
    b.add_transition("completed_in_call", ["new", "queued_awaiting_assignment", *_WORK],
                     "completed_in_call", labels=_LABELS["completed_in_call"])
    b.add_transition("completed_cancelled", [*active, "completed_resolved"],
                     "completed_cancelled", labels=_LABELS["completed_cancelled"])
    b.add_transition("unmatched_unmatched", list(active), "unmatched_unmatched",
                     labels=_LABELS["unmatched_unmatched"])
    return b.build()


def sla(hours: float = 5 * 24) -> SLA:
    """One clock, ``resolution``: from the opening to resolution (``hours`` of clock time,
    default five days), paused in the Wait sub-statuses, running again on a reopening,
    cancelled with the incident."""
    clock = ClockSpec(
        "resolution", start=On(enter="new"),
        stop=On(enter=("completed_resolved", "completed_closed", "completed_in_call")),
        cancel=On(enter=("completed_cancelled", "unmatched_unmatched")),
        # Reopened when work resumes (the only way out of resolved but closing/cancelling).
        reopen=On(trigger="accepted_in_progress"),
        pause_in=WAITS, target=ClockHours(hours), warn=None)
    return SLA([Policy("bpic2013_resolution", PROCESS, (clock,))])


def import_csv(engine: Engine, source: Any, process: str, columns: ColumnMap, *,
               tz: str | _dt.tzinfo | None = None, time_format: str | None = None,
               in_flight: bool = False, batch: int = 500,
               progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Read ``source`` (a CSV/XES/OCEL path or a DataFrame) with ``columns`` and import it
    into ``engine``'s store against ``process``: :func:`read_log` then :func:`import_log`."""
    log: Log = read_log(source, columns, tz=tz, time_format=time_format)
    return import_log(engine, log, process, in_flight=in_flight, batch=batch,
                      progress=progress)


def import_incidents(engine: Engine, path: str | os.PathLike[str], *,
                     cases: int | None = None, batch: int = 500) -> ImportResult:
    """Import the BPIC 2013 incidents CSV at ``path`` (its first ``cases`` cases when
    given) into ``engine``, whose registry must hold :func:`definition` (and whose
    processors may hold :func:`sla`)."""
    log = read_log(path, COLUMNS)
    if cases is not None:
        log = Log(dict(list(log.cases.items())[:cases]), log.columns, log.report)
    return import_log(engine, log, PROCESS, batch=batch)
