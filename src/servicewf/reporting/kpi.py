"""KPIs as pure functions of the audit log, the SLA policies and their calendars.

:func:`compute` reads the events once, in log order (any store's
:meth:`~servicewf.storage.base.Store.read_log`, or the histories of some cases), and returns
a :class:`Report` of typed rows. Each KPI has a written, versioned definition
(:data:`~servicewf.reporting.definitions.DEFINITIONS`). The SLA verdicts (met, breached,
deadlines, tiers) come from the SLA's own fold (:meth:`BoundPolicy.fold
<servicewf.sla.BoundPolicy.fold>`) over each case's history, so a report agrees with the
clocks the engine kept; durations and pauses are measured here from the same events.

Nothing here reads the wall clock: the report instant ``as_of`` is an argument. No
personal data enters a report: rows name processes, clocks, levels, tiers and counts, and
the per-cycle rows name cases by their opaque id only.
"""

from __future__ import annotations

import bisect
import csv
import datetime as _dt
import io
import json
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import attrs
import pendulum

from servicewf.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from servicewf.clock import as_utc, epoch_us, from_epoch_us
from servicewf.definition import ProcessDefinition, Registry
from servicewf.events import Event, EventKind
from servicewf.processes.common import (
    COMPLAINT_LEVEL,
    INCIDENT_LEVEL,
    REQUEST_PRIORITY,
    SATISFACTION,
    Vocabulary,
)
from servicewf.reporting.definitions import DEFINITIONS
from servicewf.sla import SLA, BoundPolicy, ClockSpec
from servicewf.sla.state import CANCELLED, IDLE, MET, NO_GOAL, RUNNING, STOPPED, TOO_EARLY
from servicewf.storage.base import Store

__all__ = [
    "PROFILES",
    "AttainmentRow",
    "BacklogRow",
    "CsatRow",
    "CycleRow",
    "DurationRow",
    "EscalationRow",
    "HandlingRow",
    "ObligationRow",
    "ProcessProfile",
    "ReopenRow",
    "Report",
    "ReportMask",
    "Table",
    "WithinDeadlineRow",
    "case_index",
    "compute",
    "from_store",
    "percentile",
]

_TOP2 = frozenset({"very_satisfied", "satisfied"})


# --- what each process means for the KPIs ---------------------------------------------------


@attrs.frozen
class ProcessProfile:
    """What a ticket process's states and triggers mean for the KPIs.

    - ``resolved``: states whose entry resolves the case (the first one is its first
      resolution); ``ended``: states that end it without a resolution (besides the
      definition's final states);
    - ``reopen``: triggers that put a resolved case back to work;
    - ``waiting``: triggers that send the case back to the customer (not first contact);
    - ``asked``: states whose entry asks the customer's satisfaction;
    - ``level``: the data field holding the level or priority, and ``levels`` its vocabulary
      (reports name a level by its term id, e.g. ``urgent``, whatever the spelling stored);
    - ``response`` / ``resolution``: the SLA clocks of first response and of resolution;
    - ``invalid``: states of a case found invalid (handled without a resolution).
    """

    resolved: tuple[str, ...] = ("resolved",)
    ended: tuple[str, ...] = ()
    reopen: tuple[str, ...] = ("reopen",)
    waiting: tuple[str, ...] = ()
    asked: tuple[str, ...] = ()
    level: str = "level"
    levels: Vocabulary | None = None
    response: str | None = None
    resolution: str | None = None
    invalid: tuple[str, ...] = ()


PROFILES: Mapping[str, ProcessProfile] = {
    "service_request": ProcessProfile(
        resolved=("delivered",), reopen=("rework",), waiting=("request_info", "wait_customer"),
        asked=("delivered",), level="priority", levels=REQUEST_PRIORITY, response="first_response",
        resolution="resolution"),
    "complaint": ProcessProfile(
        resolved=("resolved",), reopen=("reopen",), asked=("feedback_given",),
        levels=COMPLAINT_LEVEL, response="acknowledge", resolution="resolve",
        invalid=("invalid",)),
    "incident": ProcessProfile(resolved=("recovered",), reopen=(), levels=INCIDENT_LEVEL,
                               response="response"),
    "after_sales": ProcessProfile(
        resolved=("resolved",), reopen=("reopen",), waiting=("wait_customer",),
        asked=("customer_notified",), level="priority", levels=REQUEST_PRIORITY),
    "consultation": ProcessProfile(resolved=("answered",), reopen=()),
    # An imported BPIC 2013 incident history (servicewf.interop.bpic2013): resolved when
    # Resolved, Closed or In Call; reopened when work resumes on a resolved incident; waiting
    # on the user or customer is no first contact; its level is the impact.
    "bpic2013_incident": ProcessProfile(
        resolved=("completed_resolved", "completed_closed", "completed_in_call"),
        ended=("completed_cancelled", "unmatched_unmatched"), reopen=("accepted_in_progress",),
        waiting=("accepted_wait_user", "accepted_wait_customer"), level="impact",
        resolution="resolution"),
}
"""The built-in ticket processes' profiles. Obligations (P8) have their own KPI; other
processes are reported by their SLA clocks only."""


# --- rows -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return pendulum.instance(value).in_timezone("UTC").isoformat()
    return value


class _Row:
    """Conversions shared by every row class."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (instants as ISO 8601 text in UTC)."""
        fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _plain(getattr(self, f.name)) for f in fields}


@attrs.frozen
class AttainmentRow(_Row):
    """SLA attainment of one clock, overall (``by="all"``) or for one ``level``, ``tier`` or
    ``period`` (``key``)."""

    process: str
    clock: str
    by: str
    key: str
    met: int
    breached: int
    too_early: int
    cancelled: int
    no_goal: int
    open: int
    open_overdue: int

    @property
    def attainment(self) -> float | None:
        """met / (met + breached + too early), ``None`` without completed cycles."""
        done = self.met + self.breached + self.too_early
        return self.met / done if done else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "attainment": self.attainment}


@attrs.frozen
class DurationRow(_Row):
    """Durations of one clock's completed cycles, in seconds (``None`` without cycles)."""

    process: str
    clock: str
    role: str
    cycles: int
    reopened: int
    paused: int
    calendar_median: float | None
    calendar_p90: float | None
    business_median: float | None
    business_p90: float | None


@attrs.frozen
class CycleRow(_Row):
    """One cycle of one clock of one case: the facts every clock KPI is computed from.
    Durations are in seconds; ``stopped`` is ``None`` while the cycle is open."""

    case_id: str
    process: str
    clock: str
    cycle: int
    level: str
    tier: str
    started: pendulum.DateTime
    stopped: pendulum.DateTime | None
    deadline: pendulum.DateTime | None
    outcome: str
    breached: bool
    overdue: bool
    reopens: int
    calendar: float | None
    business: float | None
    paused_calendar: float | None
    paused_business: float | None


@attrs.frozen
class ReopenRow(_Row):
    """Reopen rate and first-contact resolution of one process."""

    process: str
    resolved: int
    reopened: int
    first_contact: int

    @property
    def reopen_rate(self) -> float | None:
        """reopened / resolved."""
        return self.reopened / self.resolved if self.resolved else None

    @property
    def fcr(self) -> float | None:
        """first_contact / resolved."""
        return self.first_contact / self.resolved if self.resolved else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reopen_rate": self.reopen_rate, "fcr": self.fcr}


@attrs.frozen
class EscalationRow(_Row):
    """Escalations and tier hops of one process."""

    process: str
    escalations: int
    handovers: int
    escalated_cases: int
    ping_pong_cases: int

    @property
    def tier_hops(self) -> int:
        """escalations + handovers."""
        return self.escalations + self.handovers

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "tier_hops": self.tier_hops}


@attrs.frozen
class CsatRow(_Row):
    """CSAT and response rate of one process."""

    process: str
    asked: int
    answered: int
    ratings: int
    satisfied: int

    @property
    def csat(self) -> float | None:
        """satisfied / ratings."""
        return self.satisfied / self.ratings if self.ratings else None

    @property
    def response_rate(self) -> float | None:
        """answered / asked."""
        return self.answered / self.asked if self.asked else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "csat": self.csat, "response_rate": self.response_rate}


@attrs.frozen
class BacklogRow(_Row):
    """The backlog of one process at the end of one day (ages in seconds)."""

    process: str
    day: str
    at: pendulum.DateTime
    open: int
    age_median: float | None
    age_p90: float | None
    age_max: float | None
    created: int
    resolved: int


@attrs.frozen
class HandlingRow(_Row):
    """Complaint handling rate (處理率)."""

    process: str
    received: int
    handled: int

    @property
    def rate(self) -> float | None:
        """handled / received."""
        return self.handled / self.received if self.received else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rate": self.rate}


@attrs.frozen
class WithinDeadlineRow(_Row):
    """Tickets closed within their deadline (工單處理率) of one process."""

    process: str
    clock: str
    closed: int
    within: int

    @property
    def rate(self) -> float | None:
        """within / closed."""
        return self.within / self.closed if self.closed else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rate": self.rate}


@attrs.frozen
class ObligationRow(_Row):
    """Recurring obligations of one kind and cadence (P8)."""

    kind: str
    cadence: str
    met: int
    missed: int

    @property
    def rate(self) -> float | None:
        """met / (met + missed)."""
        done = self.met + self.missed
        return self.met / done if done else None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rate": self.rate}


@attrs.frozen
class Table:
    """Rows of one KPI, convertible to JSON-able data, CSV and a pandas DataFrame."""

    kpi: str
    rows: tuple[Any, ...]

    def to_list(self) -> list[dict[str, Any]]:
        """The rows as plain dictionaries."""
        return [r.to_dict() for r in self.rows]

    def to_csv(self) -> str:
        """The rows as CSV text with a header (empty text without rows)."""
        rows = self.to_list()
        if not rows:
            return ""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def to_dataframe(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (pandas must be installed)."""
        import pandas as pd

        return pd.DataFrame(self.to_list())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class ReportMask(Protocol):
    """The masking hook of a report (what ``Privacy.masker(actor, purpose=...)`` of
    :mod:`servicewf.privacy` returns; this module knows it by its shape only):
    ``mask(case_id, process, data)`` is ``data`` as the reader may see it, ``mask.label``
    how the report is labelled (PIPL Art. 73)."""

    label: str

    def __call__(self, case_id: str, process: str,
                 data: Mapping[str, Any]) -> Mapping[str, Any]: ...


_KPIS = ("attainment", "durations", "reopen", "escalations", "csat", "backlog", "handling",
         "within_deadline", "obligations", "cycles")


@attrs.frozen
class Report:
    """Every KPI over one period, as of one instant."""

    as_of: pendulum.DateTime
    start: pendulum.DateTime | None
    end: pendulum.DateTime
    tz: str
    granularity: str
    events: int
    cases: int
    attainment: Table
    durations: Table
    reopen: Table
    escalations: Table
    csat: Table
    backlog: Table
    handling: Table
    within_deadline: Table
    obligations: Table
    cycles: Table
    masking: str | None = None
    """The masker's label when the report was computed for a reader (PIPL Art. 73)."""

    def tables(self) -> dict[str, Table]:
        """KPI name → table."""
        return {k: getattr(self, k) for k in _KPIS}

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the period, the definitions' versions, every table's rows."""
        return {
            "as_of": _plain(self.as_of), "from": _plain(self.start), "to": _plain(self.end),
            "tz": self.tz, "granularity": self.granularity, "events": self.events,
            "cases": self.cases,
            "definitions": {k: d.to_dict() for k, d in DEFINITIONS.items()},
            "kpis": {k: t.to_list() for k, t in self.tables().items()},
            **({"masking": self.masking} if self.masking is not None else {}),
        }

    def to_json(self, *, indent: int | None = 1) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def headline(self) -> dict[str, Any]:
        """The short KPI headline: attainment per clock, median first response (business
        seconds), reopen rate and CSAT per process."""
        return {
            "attainment": {f"{r.process}.{r.clock}": r.attainment for r in self.attainment
                           if r.by == "all"},
            "first_response_median": {f"{r.process}.{r.clock}": r.business_median
                                      for r in self.durations if r.role == "response"},
            "reopen_rate": {r.process: r.reopen_rate for r in self.reopen},
            "csat": {r.process: r.csat for r in self.csat},
        }


# --- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) by linear interpolation between closest ranks (numpy's and
    pandas' default, Hyndman-Fan type 7); ``None`` for no values. ``values`` must be sorted."""
    n = len(values)
    if n == 0:
        return None
    h = (n - 1) * q
    lo = int(h)
    if lo + 1 >= n:
        return float(values[-1])
    return values[lo] + (h - lo) * (values[lo + 1] - values[lo])


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


# --- the per-case accumulator -----------------------------------------------------------------


class _Case:
    """What the pass keeps of one case (slots: there are many)."""

    __slots__ = ("asked", "backlog", "escalated_at", "events", "first_resolved", "handovers",
                 "invalid", "kind", "level", "opened", "process", "rating", "reopens",
                 "tiers", "version", "waited")

    def __init__(self, process: str, version: int | None) -> None:
        self.process = process
        self.version = version
        self.events: list[Event] = []
        self.opened: int | None = None
        self.first_resolved: int | None = None
        self.reopens = 0
        self.waited = False
        self.escalated_at: list[int] = []
        self.handovers: list[int] = []
        self.tiers: list[str] = []
        self.rating: tuple[int, Any] | None = None
        self.asked: int | None = None
        self.backlog: list[list[int | None]] = []
        self.level: str = ""
        self.invalid = False
        self.kind: tuple[str, str] = ("", "")


def case_index(store: Store, processes: Iterable[str] | None = None) -> dict[str, tuple[str, int]]:
    """case id → (process, definition version) for every case of ``store`` (of
    ``processes`` only, when given): what the log's events need to be read by process."""
    out: dict[str, tuple[str, int]] = {}
    for name in (processes if processes is not None else [None]):
        for case in store.find(process=name):
            out[case.id] = (case.process, case.definition_version)
    return out


def _in(t: int, start: int | None, end: int) -> bool:
    return (start is None or t >= start) and t < end


def _interval_sum(cal: BusinessCalendar, spans: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """(calendar µs, business µs) of disjoint spans."""
    c = b = 0
    for a, z in spans:
        if z > a:
            c += z - a
            b += cal.working_us(a, z)
    return c, b


_START, _STOP, _REOPEN, _PAUSE, _RESUME = 1, 2, 4, 8, 16


class _Spec:
    """A clock spec's conditions as bit flags per (source, dest, trigger), memoised."""

    __slots__ = ("conds", "memo", "pause_in", "pausing", "reopens", "spec")

    def __init__(self, spec: ClockSpec) -> None:
        self.spec = spec
        self.conds = tuple((bit, on) for bit, on in (
            (_START, spec.start), (_STOP, spec.stop), (_REOPEN, spec.reopen),
            (_PAUSE, spec.pause), (_RESUME, spec.resume)) if on is not None)
        self.pause_in = frozenset(spec.pause_in)
        self.reopens = spec.reopen is not None
        self.pausing = bool(spec.pause_in or spec.pause is not None or self.reopens)
        self.memo: dict[tuple[str | None, str, str | None], int] = {}

    def flags(self, e: Event) -> int:
        key = (e.source, e.dest, e.trigger)
        found = self.memo.get(key)
        if found is None:
            moved = e.source != e.dest
            entering = e.dest if moved else None
            leaving = e.source if moved else None
            found = 0
            for bit, on in self.conds:
                if entering in on.enter or leaving in on.leave or e.trigger in on.trigger:
                    found |= bit
            self.memo[key] = found
        return found


def _pauses(spec: _Spec, events: Sequence[Event]) -> list[tuple[int, int | None]]:
    """The instants where the clock is held, in a pause state, or stopped before a reopen
    (epoch µs; the last span may be open). Cycle windows are clipped against them."""
    spans: list[tuple[int, int | None]] = []
    since: int | None = None
    held = stopped_gap = False
    pause_in = spec.pause_in
    reopens = spec.reopens
    for e in events:
        if not e.moves:
            continue
        f = spec.flags(e)
        if f:
            if f & _START and not stopped_gap:
                held = False
            if f & _RESUME:
                held = False
            if f & _PAUSE:
                held = True
            if reopens:
                if stopped_gap and f & _REOPEN:
                    stopped_gap = held = False
                elif f & _STOP:
                    stopped_gap = True
                elif f & _START:
                    stopped_gap = False
        paused = held or stopped_gap or e.dest in pause_in
        if paused and since is None:
            since = epoch_us(e.at)
        elif not paused and since is not None:
            spans.append((since, epoch_us(e.at)))
            since = None
    if since is not None:
        spans.append((since, None))
    return spans


def _clip(spans: Sequence[tuple[int, int | None]], a: int, z: int) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        lo, hi = max(s, a), min(z if e is None else e, z)
        if hi > lo:
            out.append((lo, hi))
    return out


def _reopens(spec: _Spec, events: Sequence[Event], a: int, z: int) -> int:
    if not spec.reopens:
        return 0
    # A reopen is the reopen condition met while the clock stands stopped (as in _pauses and
    # the SLA fold): the same trigger fired while the clock runs reopens nothing (BPIC's
    # accepted_in_progress both resumes work and reopens a resolved incident).
    n = 0
    stopped = False
    for e in events:
        if not e.moves:
            continue
        f = spec.flags(e)
        if stopped and f & _REOPEN:
            stopped = False
            t = epoch_us(e.at)
            if a < t <= z:
                n += 1
        elif f & _STOP:
            stopped = True
        elif f & _START:
            stopped = False
    return n


# --- compute ----------------------------------------------------------------------------------


def compute(
    events: Iterable[Event],
    *,
    cases: Mapping[str, tuple[str, int] | str],
    sla: SLA,
    registry: Registry,
    as_of: _dt.datetime,
    start: _dt.datetime | None = None,
    end: _dt.datetime | None = None,
    tz: str = "UTC",
    granularity: str = "week",
    profiles: Mapping[str, ProcessProfile] | None = None,
    cycles: bool = True,
    masker: ReportMask | None = None,
) -> Report:
    """Every KPI over the period ``[start, end)`` (``end`` defaults to ``as_of``), read from
    ``events`` as the log stood at ``as_of`` (later events are ignored).

    ``events``: any order of cases, each case's events in ``seq`` order (a store's
    :meth:`read_log`, or histories one after the other); ``cases``: case id → process (or
    (process, definition version)), e.g. :func:`case_index`; events of cases it does not
    name are skipped. ``sla`` gives the policies and calendars, ``registry`` the definitions.
    ``tz`` is the zone of days and periods; ``granularity`` the attainment period
    (``"day"``, ``"week"`` or ``"month"``). ``cycles=False`` leaves out the per-cycle rows.

    ``masker`` (e.g. ``Privacy.masker(actor, purpose="report")``): the KPIs read each
    event's data as that reader may see it, and the report carries the masker's label. A
    report names no customer, but its per-level and per-tier rows come from case data: a
    value the reader may not see is never shown, not even as a group label.
    """
    if granularity not in ("day", "week", "month"):
        raise ValueError("granularity must be 'day', 'week' or 'month'")
    as_of_p = pendulum.instance(as_utc(as_of))
    end_p = pendulum.instance(as_utc(end)) if end is not None else as_of_p
    start_p = pendulum.instance(as_utc(start)) if start is not None else None
    horizon = epoch_us(as_of_p)
    lo = None if start_p is None else epoch_us(start_p)
    hi = epoch_us(end_p)
    profiles = PROFILES if profiles is None else profiles
    if masker is not None:
        events = _masked(events, cases, masker)

    accs: dict[str, _Case] = {}
    n_events = 0
    opened_kind = EventKind.OPENED
    transition = EventKind.TRANSITION
    escalated = EventKind.ESCALATED
    due = EventKind.OBLIGATION_DUE
    obligations: dict[tuple[str, str], list[int]] = {}
    escalate_triggers = {p.process: frozenset(p.escalate_triggers)
                         for p in sla.policies.values()}
    no_triggers: frozenset[str] = frozenset()
    finals: dict[tuple[str, int | None], frozenset[str]] = {}

    # The one pass over the log.
    for e in events:
        cid = e.case_id
        acc = accs.get(cid)
        if acc is None:
            entry = cases.get(cid)
            if entry is None:
                continue
            process, version = (entry, None) if isinstance(entry, str) else entry
            acc = accs[cid] = _Case(process, version)
        t = epoch_us(e.at)
        if t > horizon:
            continue
        n_events += 1
        acc.events.append(e)
        kind = e.kind
        if kind is transition or kind is opened_kind:
            process = acc.process
            prof = profiles.get(process)
            data = e.data
            if kind is opened_kind:
                acc.opened = t
                if process == "obligation":
                    acc.kind = (str(data.get("kind", "")), str(data.get("cadence", "")))
            dest = e.dest
            if prof is None:
                continue
            level = data.get(prof.level) if data else None
            if level is not None:
                acc.level = str(level) if prof.levels is None else str(
                    prof.levels.optional_id(level))
            if kind is opened_kind:
                acc.backlog.append([t, None])
            else:
                _moved(acc, prof, e, t, registry, finals,
                       escalate_triggers.get(process, no_triggers))
            if dest in prof.asked and acc.asked is None:
                acc.asked = t
            if data:
                rating = data.get("satisfaction")
                if rating is not None:
                    acc.rating = (t, rating)
        elif kind is escalated:
            acc.escalated_at.append(t)
            data = e.data
            if not acc.tiers and data.get("from") is not None:
                acc.tiers.append(str(data["from"]))
            if data.get("tier") is not None:
                acc.tiers.append(str(data["tier"]))
        elif kind is due:
            status = e.data.get("status")
            if status in ("met", "missed") and _in(t, lo, hi):
                counts = obligations.setdefault(acc.kind, [0, 0])
                counts[0 if status == "met" else 1] += 1

    report = _assemble(accs, n_events, obligations, sla=sla, registry=registry,
                       profiles=profiles, as_of=as_of_p, start=start_p, end=end_p, lo=lo,
                       hi=hi, tz=tz, granularity=granularity, with_cycles=cycles)
    return report if masker is None else attrs.evolve(report, masking=masker.label)


def _masked(events: Iterable[Event], cases: Mapping[str, tuple[str, int] | str],
            masker: ReportMask) -> Iterator[Event]:
    """``events`` with their data as the masker's reader may see it."""
    for e in events:
        entry = cases.get(e.case_id)
        if entry is None or not e.data:
            yield e
            continue
        process = entry if isinstance(entry, str) else entry[0]
        yield attrs.evolve(e, data=masker(e.case_id, process, e.data))


def _moved(acc: _Case, prof: ProcessProfile, e: Event, t: int, registry: Registry,
           finals: dict[tuple[str, int | None], frozenset[str]],
           escalate: frozenset[str]) -> None:
    """What a transition changes in a ticket's facts (resolution, reopen, escalation...)."""
    dest = e.dest
    trig = e.trigger
    data = e.data
    fkey = (acc.process, acc.version)
    final = finals.get(fkey)
    if final is None:
        final = finals[fkey] = _finals(registry, acc.process, acc.version)
    if dest in prof.resolved or dest in final or dest in prof.ended:
        if acc.first_resolved is None and dest in prof.resolved:
            acc.first_resolved = t
        if dest in prof.invalid:
            acc.invalid = True
        if acc.backlog and acc.backlog[-1][1] is None:
            acc.backlog[-1][1] = t
    elif trig in prof.reopen and acc.backlog and acc.backlog[-1][1] is not None:
        # A reopen puts a resolved (or ended) case back to work: the same trigger fired
        # while the case is at work reopens nothing (BPIC's accepted_in_progress).
        acc.reopens += 1
        acc.backlog.append([t, None])
    if trig in prof.waiting:
        acc.waited = True
    if trig in escalate:
        acc.escalated_at.append(t)
        tier = data.get("tier") if data else None
        if tier is not None:
            acc.tiers.append(str(tier))
    elif trig == "hand_over":
        acc.handovers.append(t)


def _finals(registry: Registry, process: str, version: int | None) -> frozenset[str]:
    try:
        d = registry.get(process, version)
    except Exception:  # an unknown process or version: no final states known
        return frozenset()
    return frozenset(s.id for s in d.states if s.final)


class _Periods:
    """Period keys of instants: the periods met so far, found by bisection."""

    def __init__(self, tz: str, granularity: str) -> None:
        self.tz = tz
        self.granularity = granularity
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.keys: list[str] = []

    def __call__(self, t: int) -> str:
        i = bisect.bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return self.keys[i]
        day = from_epoch_us(t).in_timezone(self.tz).start_of("day")
        if self.granularity == "week":
            first, after = day.subtract(days=day.weekday()), {"weeks": 1}
        elif self.granularity == "month":
            first, after = day.replace(day=1), {"months": 1}
        else:
            first, after = day, {"days": 1}
        self.starts.insert(i + 1, epoch_us(first))
        self.ends.insert(i + 1, epoch_us(first.add(**after)))
        self.keys.insert(i + 1, first.date().isoformat())
        return self.keys[i + 1]


class _Cyc(NamedTuple):
    """One clock cycle as the KPIs use it (instants in epoch µs, durations in µs)."""

    case_id: str
    process: str
    clock: str
    cycle: int
    level: str
    tier: str
    started: int
    stopped: int | None
    deadline: int | None
    outcome: str
    breached: bool
    overdue: bool
    reopens: int
    calendar: int | None
    business: int | None
    paused_calendar: int | None
    paused_business: int | None

    def row(self) -> CycleRow:
        def s(us: int | None) -> float | None:
            return None if us is None else us / 1e6

        return CycleRow(
            self.case_id, self.process, self.clock, self.cycle, self.level, self.tier,
            from_epoch_us(self.started),
            None if self.stopped is None else from_epoch_us(self.stopped),
            None if self.deadline is None else from_epoch_us(self.deadline),
            self.outcome, self.breached, self.overdue, self.reopens, s(self.calendar),
            s(self.business), s(self.paused_calendar), s(self.paused_business))


_SLOT = {MET: 0, TOO_EARLY: 2, CANCELLED: 3, NO_GOAL: 4}
_BY = ("all", "level", "tier", "period")


def _assemble(
    accs: Mapping[str, _Case], n_events: int, obligations: Mapping[tuple[str, str], list[int]],
    *, sla: SLA, registry: Registry, profiles: Mapping[str, ProcessProfile],
    as_of: pendulum.DateTime, start: pendulum.DateTime | None, end: pendulum.DateTime,
    lo: int | None, hi: int, tz: str, granularity: str, with_cycles: bool,
) -> Report:
    horizon = epoch_us(as_of)
    cycles: list[_Cyc] = []
    bound: dict[tuple[str, int | None], tuple[BoundPolicy, list[_Spec]] | None] = {}
    for cid, acc in accs.items():
        key = (acc.process, acc.version)
        if key in bound:
            b = bound[key]
        else:
            policy = _bind(sla, registry, acc.process, acc.version)
            b = bound[key] = None if policy is None else (
                policy, [_Spec(c) for c in policy.policy.enabled])
        if b is None or not acc.events:
            continue
        cycles.extend(_cycles(cid, acc, b[0], b[1], horizon))

    att: dict[tuple[str, str, str, str], list[int]] = {}
    samples: dict[tuple[str, str], list[Any]] = {}
    last_cycle: dict[tuple[str, str, str], _Cyc] = {}
    period = _Periods(tz, granularity)
    resolution = {p: prof.resolution for p, prof in profiles.items() if prof.resolution}
    for r in cycles:
        stopped = r.stopped
        if stopped is None:
            for by, k in (("all", ""), ("level", r.level), ("tier", r.tier)):
                row = att.get((r.process, r.clock, by, k))
                if row is None:
                    row = att[(r.process, r.clock, by, k)] = [0] * 7
                row[5] += 1
                row[6] += r.overdue
            continue
        if (lo is not None and stopped < lo) or stopped >= hi:
            continue
        slot = _SLOT.get(r.outcome, 1)
        for by, k in (("all", ""), ("level", r.level), ("tier", r.tier),
                      ("period", period(stopped))):
            row = att.get((r.process, r.clock, by, k))
            if row is None:
                row = att[(r.process, r.clock, by, k)] = [0] * 7
            row[slot] += 1
        if slot != 3:
            got = samples.get((r.process, r.clock))
            if got is None:
                got = samples[(r.process, r.clock)] = [[], [], 0, 0]
            got[0].append(r.calendar or 0)
            got[1].append(r.business or 0)
            got[2] += r.reopens > 0
            got[3] += bool(r.paused_calendar)
        if resolution.get(r.process) == r.clock:
            prev = last_cycle.get((r.case_id, r.process, r.clock))
            if prev is None or prev.cycle < r.cycle:
                last_cycle[(r.case_id, r.process, r.clock)] = r
    within: dict[tuple[str, str], list[int]] = {}
    for (_, process, clock), r in last_cycle.items():
        if r.outcome in (MET, TOO_EARLY) or r.breached:
            counts = within.setdefault((process, clock), [0, 0])
            counts[0] += 1
            counts[1] += r.outcome == MET

    order = _clock_order(sla)

    def sort_key(k: tuple[str, str, str, str]) -> tuple[int, int, str, str]:
        return (order.get((k[0], k[1]), 999), _BY.index(k[2]), k[3], k[0])

    attainment = tuple(AttainmentRow(p, c, by, k, *v)
                       for (p, c, by, k), v in sorted(att.items(), key=lambda i: sort_key(i[0])))
    durations = []
    for (p, c), (cal, bus, reopened, paused) in sorted(
            samples.items(), key=lambda i: (order.get(i[0], 999), i[0])):
        cal_s = sorted(x / 1e6 for x in cal)
        bus_s = sorted(x / 1e6 for x in bus)
        prof = profiles.get(p)
        role = ("response" if prof and prof.response == c else
                "resolution" if prof and prof.resolution == c else "other")
        durations.append(DurationRow(p, c, role, len(cal_s), reopened, paused, _median(cal_s),
                                     percentile(cal_s, 0.9), _median(bus_s),
                                     percentile(bus_s, 0.9)))

    reopen_rows, esc_rows, csat_rows, handling_rows = _case_kpis(accs, profiles, lo, hi)
    backlog = _backlog(accs, profiles, start, end, tz)
    return Report(
        as_of=as_of, start=start, end=end, tz=tz, granularity=granularity, events=n_events,
        cases=sum(1 for a in accs.values() if a.events),
        attainment=Table("attainment", attainment),
        durations=Table("durations", tuple(durations)),
        reopen=Table("reopen", reopen_rows),
        escalations=Table("escalations", esc_rows),
        csat=Table("csat", csat_rows),
        backlog=Table("backlog", backlog),
        handling=Table("handling", handling_rows),
        within_deadline=Table("within_deadline", tuple(
            WithinDeadlineRow(p, c, n, w) for (p, c), (n, w) in sorted(within.items()))),
        obligations=Table("obligations", tuple(
            ObligationRow(k, c, m, x) for (k, c), (m, x) in sorted(obligations.items()))),
        cycles=Table("cycles", tuple(c.row() for c in cycles) if with_cycles else ()),
    )


def _clock_order(sla: SLA) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for p in sla.policies.values():
        for c in p.clocks:
            out[(p.process, c.name)] = len(out)
    return out


def _bind(sla: SLA, registry: Registry, process: str, version: int | None) -> BoundPolicy | None:
    try:
        definition: ProcessDefinition = registry.get(process, version)
    except Exception:  # a process the registry does not know: no clocks to report
        return None
    return sla.bind(definition)


def _cycles(cid: str, acc: _Case, bound: BoundPolicy, specs: Sequence[_Spec],
            horizon: int) -> Iterator[_Cyc]:
    states = bound.fold(acc.events)
    tier = states.tier or bound.policy.initial_tier(_data(acc.events)) or ""
    calendars = bound.calendars
    for spec, state in zip(specs, states.clocks, strict=True):
        if state.status == IDLE:
            continue
        cal = calendars.get(spec.spec.calendar, TWENTY_FOUR_SEVEN)
        pauses: list[tuple[int, int | None]] | None = None
        runs: list[tuple[int, int | None, int | None, int | None, str | None, bool, str]] = [
            (c.number, c.started, c.stopped, c.deadline, c.outcome, c.breached, STOPPED)
            for c in state.past]
        runs.append((state.cycle, state.started, state.stopped, state.deadline,
                     state.outcome, state.breached, state.status))
        for number, started, stopped, deadline, outcome, breached, status in runs:
            if started is None:
                continue
            if status != STOPPED:
                overdue = breached or (status == RUNNING and deadline is not None
                                       and deadline < horizon)
                yield _Cyc(cid, acc.process, spec.spec.name, number, acc.level, tier, started,
                           None, deadline, "open", breached, overdue,
                           _reopens(spec, acc.events, started, horizon), None, None, None,
                           None)
                continue
            z = stopped if stopped is not None else started
            if spec.pausing:
                if pauses is None:
                    pauses = _pauses(spec, acc.events)
                pc, pb = _interval_sum(cal, _clip(pauses, started, z))
            else:
                pc = pb = 0
            yield _Cyc(cid, acc.process, spec.spec.name, number, acc.level, tier, started, z,
                       deadline, outcome or "", breached, False,
                       _reopens(spec, acc.events, started, z), z - started,
                       cal.working_us(started, z) - pb, pc, pb)


def _data(events: Sequence[Event]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in events:
        if e.moves and e.data:
            out.update(e.data)
    return out


def _case_kpis(
    accs: Mapping[str, _Case], profiles: Mapping[str, ProcessProfile], lo: int | None, hi: int,
) -> tuple[tuple[ReopenRow, ...], tuple[EscalationRow, ...], tuple[CsatRow, ...],
           tuple[HandlingRow, ...]]:
    reopen: dict[str, list[int]] = {}
    esc: dict[str, list[int]] = {}
    csat: dict[str, list[int]] = {}
    handling: dict[str, list[int]] = {}
    for acc in accs.values():
        p = acc.process
        prof = profiles.get(p)
        if prof is None:
            continue
        if acc.first_resolved is not None and _in(acc.first_resolved, lo, hi):
            r = reopen.setdefault(p, [0, 0, 0])
            r[0] += 1
            r[1] += acc.reopens > 0
            r[2] += not (acc.reopens or acc.waited or acc.escalated_at or acc.handovers)
        x = esc.setdefault(p, [0, 0, 0, 0])
        n_esc = sum(1 for t in acc.escalated_at if _in(t, lo, hi))
        x[0] += n_esc
        x[1] += sum(1 for t in acc.handovers if _in(t, lo, hi))
        x[2] += n_esc > 0
        x[3] += _ping_pong(acc.tiers)
        if prof.asked:
            c = csat.setdefault(p, [0, 0, 0, 0])
            if acc.asked is not None and _in(acc.asked, lo, hi):
                c[0] += 1
                c[1] += acc.rating is not None
            if acc.rating is not None and _in(acc.rating[0], lo, hi):
                c[2] += 1
                c[3] += SATISFACTION.normalise(acc.rating[1]) in _TOP2
        if prof.invalid and acc.opened is not None and _in(acc.opened, lo, hi):
            h = handling.setdefault(p, [0, 0])
            h[0] += 1
            h[1] += acc.first_resolved is not None or acc.invalid
    return (tuple(ReopenRow(p, *v) for p, v in sorted(reopen.items())),
            tuple(EscalationRow(p, *v) for p, v in sorted(esc.items())),
            tuple(CsatRow(p, *v) for p, v in sorted(csat.items())),
            tuple(HandlingRow(p, *v) for p, v in sorted(handling.items())))


def _ping_pong(tiers: Sequence[str]) -> bool:
    seen: set[str] = set()
    previous = None
    for t in tiers:
        if t == previous:
            continue
        if t in seen:
            return True
        seen.add(t)
        previous = t
    return False


def _backlog(
    accs: Mapping[str, _Case], profiles: Mapping[str, ProcessProfile],
    start: pendulum.DateTime | None, end: pendulum.DateTime, tz: str,
) -> tuple[BacklogRow, ...]:
    per: dict[str, list[_Case]] = {}
    first = None
    for acc in accs.values():
        if acc.process in profiles and acc.opened is not None:
            per.setdefault(acc.process, []).append(acc)
            first = acc.opened if first is None else min(first, acc.opened)
    if first is None:
        return ()
    begin = (start if start is not None else from_epoch_us(first)).in_timezone(tz)
    day = day_one = begin.start_of("day")
    ends: list[tuple[str, int]] = []
    stop = epoch_us(end)
    while True:
        close = epoch_us(day.add(days=1))
        at = min(close, stop)
        ends.append((day.date().isoformat(), at))
        if close >= stop:
            break
        day = day.add(days=1)
    sample_at = [at for _, at in ends]
    rows = []
    for process in sorted(per):
        ages: list[list[int]] = [[] for _ in ends]
        created = [0] * len(ends)
        resolved = [0] * len(ends)
        lows = [epoch_us(day_one), *sample_at[:-1]]
        for acc in per[process]:
            opened = acc.opened
            assert opened is not None
            for a, z in acc.backlog:
                assert a is not None
                i = bisect.bisect_left(sample_at, a)  # first sample at or after the start
                while i < len(sample_at) and (z is None or sample_at[i] < z):
                    if sample_at[i] >= a:
                        ages[i].append(sample_at[i] - opened)
                    i += 1
            # Day i is [lows[i], sample_at[i]): the first sample after the instant.
            i = bisect.bisect_right(sample_at, opened)
            if i < len(sample_at) and opened >= lows[i]:
                created[i] += 1
            if acc.first_resolved is not None:
                i = bisect.bisect_right(sample_at, acc.first_resolved)
                if i < len(sample_at) and acc.first_resolved >= lows[i]:
                    resolved[i] += 1
        for i, (day_key, at) in enumerate(ends):
            values = sorted(x / 1e6 for x in ages[i])
            rows.append(BacklogRow(process, day_key, from_epoch_us(at), len(values),
                                   _median(values), percentile(values, 0.9),
                                   values[-1] if values else None, created[i], resolved[i]))
    return tuple(rows)


def from_store(
    store: Store, *, sla: SLA, registry: Registry, as_of: _dt.datetime,
    start: _dt.datetime | None = None, end: _dt.datetime | None = None, tz: str = "UTC",
    granularity: str = "week", page: int = 20_000, cycles: bool = True,
    masker: ReportMask | None = None,
) -> Report:
    """:func:`compute` over every event of ``store``, read in pages of ``page`` events
    (``masker``: see :func:`compute`)."""
    index = case_index(store)

    def log() -> Iterator[Event]:
        after = 0
        while True:
            chunk = store.read_log(after, limit=page)
            for entry in chunk:
                yield entry.event
            if len(chunk) < page:
                return
            after = chunk[-1].position

    return compute(log(), cases=index, sla=sla, registry=registry, as_of=as_of, start=start,
                   end=end, tz=tz, granularity=granularity, cycles=cycles, masker=masker)

