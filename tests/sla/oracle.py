"""A deliberately simple reference model of the SLA clocks, written apart from the fold.

It shares no code with ``servicewf.sla`` beyond reading the declarative specs (``ClockSpec``,
``On``, targets: plain data). Business time is computed here on its own small calendar,
:class:`OracleCalendar` (a fixed UTC offset, two intervals on weekdays, listed holidays and
make-up days), by walking the working intervals of each day; the real calendar it is
compared with is built from :meth:`OracleCalendar.to_dict`. The clock rules are written
from ``docs/sla.md``:

- a clock starts, stops (met / breached / too early / no goal), is cancelled, or reopened on
  history events whose enter / leave / trigger match (any part), the opening event entering
  the initial state; a stay-in-place transition enters and leaves nothing;
- it is paused while held (``pause``/``resume`` events) or while the case is in a
  ``pause_in`` state; the deadline is the target measured from the start, then each paused
  span's working time added and each extension applied, in history order (a re-classified
  target is measured from the original start with the same adjustments replayed);
- a cancel or stop while paused ends the pause there; reopening counts the stopped span as
  paused; a new cycle starts from scratch, and the finished one is kept in ``past``;
- a warning falls at ``fraction`` of the granted budget or ``lead`` before the deadline (the
  earlier), deferred to the next opening for business-hours-only warnings, recorded at most
  once per cycle and only by a sweep before the deadline; a sweep after the deadline records
  the breach only; a breach is sticky for the cycle;
- an extension moves the deadline of a running (or paused) cycle only.

Instants are epoch microseconds (UTC), as in the package.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from servicewf.sla import BusinessHours, ClockHours, ClockSpec, On, Until, WorkingDays

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EPOCH = dt.date(1970, 1, 1)


# --- the calendar ----------------------------------------------------------------------------


class OracleCalendar:
    """Working intervals per local day, at a fixed offset from UTC (no DST)."""

    def __init__(self, zone: str, offset_hours: int, weekday_hours: list[tuple[int, int]],
                 holidays: Iterable[dt.date] = (), makeup_days: Iterable[dt.date] = ()) -> None:
        self.zone = zone
        self.offset = offset_hours * HOUR
        self.hours = weekday_hours  # [(start minute, end minute)] of the local day, Mon-Fri
        self.holidays = frozenset(holidays)
        self.makeup = frozenset(makeup_days)

    def to_dict(self) -> dict[str, Any]:
        """The same calendar for :class:`servicewf.calendar.BusinessCalendar`."""
        spans = [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"]
                 for a, b in self.hours]
        return {
            "timezone": self.zone,
            "weekly": {d: (spans if i < 5 else []) for i, d in enumerate(
                ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])},
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "extra_workdays": sorted(d.isoformat() for d in self.makeup),
        }

    def local_date(self, t: int) -> dt.date:
        return EPOCH + dt.timedelta(days=(t + self.offset) // DAY)

    def intervals(self, day: dt.date) -> list[tuple[int, int]]:
        works = (day.weekday() < 5 and day not in self.holidays) or day in self.makeup
        if not works:
            return []
        midnight = (day - EPOCH).days * DAY - self.offset
        return [(midnight + a * MINUTE, midnight + b * MINUTE) for a, b in self.hours]

    def working(self, a: int, b: int) -> int:
        """Working time in [a, b) (negative when b < a)."""
        if b < a:
            return -self.working(b, a)
        total = 0
        day = self.local_date(a)
        last = self.local_date(b)
        while day <= last:
            for x, y in self.intervals(day):
                total += max(0, min(y, b) - max(x, a))
            day += dt.timedelta(days=1)
        return total

    def add(self, t: int, d: int) -> int:
        """``t`` plus ``d`` of working time; forward from the next opening, a result on a
        closing time stays there; backward (``d < 0``) the mirror image."""
        if d == 0:
            return self.next_opening(t)
        day = self.local_date(t)
        step = dt.timedelta(days=1 if d > 0 else -1)
        need = abs(d)
        for _ in range(20 * 366):
            spans = self.intervals(day)
            for x, y in (spans if d > 0 else reversed(spans)):
                if d > 0 and y > t:
                    s = max(x, t)
                    if need <= y - s:
                        return s + need
                    need -= y - s
                elif d < 0 and x < t:
                    e = min(y, t)
                    if need <= e - x:
                        return e - need
                    need -= e - x
            day += step
        raise AssertionError("the oracle calendar ran out of working time")

    def next_opening(self, t: int) -> int:
        day = self.local_date(t)
        for _ in range(20 * 366):
            for x, y in self.intervals(day):
                if y > t:
                    return max(x, t)
            day += dt.timedelta(days=1)
        raise AssertionError("no opening")

    def working_day_end(self, t: int, n: int) -> int:
        """The end of the ``n``-th working day after ``t``'s local day."""
        day = self.local_date(t)
        while True:
            day += dt.timedelta(days=1)
            spans = self.intervals(day)
            if spans:
                n -= 1
                if n == 0:
                    return spans[-1][1]


class Absolute:
    """24x7 time."""

    def working(self, a: int, b: int) -> int:
        return b - a

    def add(self, t: int, d: int) -> int:
        return t + d


# --- targets ---------------------------------------------------------------------------------


def apply_target(target: Any, cal: OracleCalendar, start: int) -> int:
    if isinstance(target, ClockHours):
        return start + round(((target.days * 24 + target.hours) * 60 + target.minutes) * MINUTE)
    if isinstance(target, BusinessHours):
        return cal.add(start, round((target.hours * 60 + target.minutes) * MINUTE))
    if isinstance(target, WorkingDays):
        assert target.cutoff is None
        return cal.working_day_end(start, target.n)
    if isinstance(target, Until):
        return target.at
    raise AssertionError(f"the oracle does not know {target!r}")


def extend_target(target: Any, cal: OracleCalendar, deadline: int) -> int:
    if isinstance(target, Until):
        return max(deadline, target.at)
    if isinstance(target, WorkingDays):
        return cal.working_day_end(deadline, target.n)
    return apply_target(target, cal, deadline)


def matches(on: On | None, entering: str | None, leaving: str | None,
            trigger: str | None) -> bool:
    if on is None:
        return False
    return (entering in on.enter) or (leaving in on.leave) or (trigger in on.trigger)


# --- one clock -------------------------------------------------------------------------------


class OracleClock:
    """One clock of one case."""

    def __init__(self, spec: ClockSpec, cal: OracleCalendar,
                 select: Any) -> None:
        self.spec = spec
        self.cal = cal
        self.absolute = spec.target.absolute
        self.m: Any = Absolute() if self.absolute else cal
        self.select = select  # data -> target | None
        self.cycle = 0
        self.status = "idle"
        self.outcome: str | None = None
        self.started: int | None = None
        self.target: Any = None
        self.adjustments: list[Any] = []  # paused µs (int) or an extension target
        self.held = False
        self.pause_since: int | None = None
        self.active_since: int | None = None
        self.active: list[tuple[int, int]] = []  # counted spans of this cycle
        self.stopped: int | None = None
        self.earliest: int | None = None
        self.warned = self.breached = self.recorded = False
        self.extensions = 0
        self.past: list[tuple[Any, ...]] = []

    # derived
    @property
    def running(self) -> bool:
        return self.status in ("running", "paused")

    @property
    def paused_total(self) -> int:
        return sum(a for a in self.adjustments if isinstance(a, int))

    @property
    def deadline(self) -> int | None:
        if self.target is None or self.started is None:
            return None
        d = apply_target(self.target, self.cal, self.started)
        for adj in self.adjustments:
            d = self.m.add(d, adj) if isinstance(adj, int) else extend_target(adj, self.cal, d)
        return d

    # transitions of the clock
    def _begin_active(self, t: int) -> None:
        if self.active_since is None:
            self.active_since = t

    def _end_active(self, t: int) -> None:
        if self.active_since is not None:
            self.active.append((self.active_since, t))
            self.active_since = None

    def _pause(self, t: int) -> None:
        if self.status == "running":
            self.status = "paused"
            self.pause_since = t
            self._end_active(t)

    def _unpause(self, t: int) -> None:
        if self.status == "paused":
            assert self.pause_since is not None
            w = self.m.working(self.pause_since, t)
            if w > 0:
                self.adjustments.append(w)
            self.pause_since = None
            self.status = "running"
            self._begin_active(t)

    def _start(self, t: int, data: Mapping[str, Any], in_pause_state: bool) -> None:
        if self.status == "stopped":
            # The cycle record: elapsed is the sum of the spans the clock counted, paused the
            # rest of [started, stopped), in calendar (absolute) and business terms.
            business: Any = Absolute() if self.spec.calendar == "24x7" else self.cal
            assert self.started is not None and self.stopped is not None
            elapsed_cal = sum(b - a for a, b in self.active)
            elapsed_bus = sum(business.working(a, b) for a, b in self.active)
            self.past.append((self.cycle, self.started, self.stopped, self.deadline,
                              self.outcome, self.breached, elapsed_cal, elapsed_bus,
                              self.stopped - self.started - elapsed_cal,
                              business.working(self.started, self.stopped) - elapsed_bus))
        self.cycle += 1
        self.status = "running"
        self.outcome = None
        self.started = t
        self.target = self.select(self.spec, data)
        self.adjustments = []
        self.held = False
        self.pause_since = None
        self.active = []
        self.active_since = t
        self.stopped = None
        self.warned = self.breached = self.recorded = False
        self.extensions = 0
        e = self.spec.earliest
        self.earliest = None if e is None else apply_target(e, self.cal, t)
        if in_pause_state:
            self._pause(t)

    def _finish(self, t: int, outcome: str) -> None:
        self._unpause(t)
        self._end_active(t)
        self.status = "stopped"
        self.outcome = outcome
        self.stopped = t

    def on_transition(self, t: int, source: str | None, dest: str, trigger: str | None,
                      data: Mapping[str, Any]) -> None:
        moved = source != dest
        entering = dest if moved else None
        leaving = source if moved else None
        s = self.spec

        def hit(on: On | None) -> bool:
            return matches(on, entering, leaving, trigger)

        in_pause_state = dest in s.pause_in
        if self.running:
            if hit(s.stop):
                if self.earliest is not None and t < self.earliest and s.early == "ignore":
                    return
                if self.earliest is not None and t < self.earliest:
                    self._finish(t, "too_early")
                else:
                    self._unpause(t)
                    d = self.deadline
                    late = self.breached or (d is not None and t > d)
                    self.breached = self.breached or late
                    self._finish(t, "breached" if late else "no_goal" if d is None else "met")
                if hit(s.start):
                    self._start(t, data, in_pause_state)
                return
            if hit(s.cancel):
                self._finish(t, "cancelled")
                return
            if hit(s.resume):
                self.held = False
            if hit(s.pause):
                self.held = True
            # Paused exactly while held or in a pause state.
            if self.held or in_pause_state:
                self._pause(t)
            else:
                self._unpause(t)
            return
        if self.status == "stopped" and self.outcome != "cancelled" and hit(s.reopen):
            assert self.stopped is not None
            gap = self.m.working(self.stopped, t)
            if gap > 0:
                self.adjustments.append(gap)
            self.status = "running"
            self.outcome = None
            self.stopped = None
            self.held = False
            self.active_since = t
            if in_pause_state:
                self._pause(t)
            return
        if hit(s.start):
            self._start(t, data, in_pause_state)

    def retarget(self, data: Mapping[str, Any]) -> None:
        if self.running:
            self.target = self.select(self.spec, data)

    def extend(self, by: Any) -> None:
        if self.running:
            self.adjustments.append(by)
            self.extensions += 1

    # warnings and the sweep
    def warning_at(self) -> int | None:
        w = self.spec.warn
        d = self.deadline
        if w is None or d is None or self.started is None:
            return None
        out = []
        if w.fraction is not None:
            budget = self.m.working(self.started, d) - self.paused_total
            if budget > 0:
                out.append(self.m.add(d, -round(budget * (1 - w.fraction))))
        if w.lead is not None:
            out.append(self.m.add(d, -(w.lead // dt.timedelta(microseconds=1))))
        return min(out) if out else None

    def alert(self, t: int) -> int:
        warn = self.spec.warn
        return self.cal.next_opening(t) if warn and warn.business_hours_only else t

    def due(self) -> tuple[str, int] | None:
        d = self.deadline
        if self.status != "running" or d is None or self.recorded:
            return None
        if not self.warned and not self.breached:
            w = self.warning_at()
            if w is not None and w < d and self.alert(w) < d:
                return "warning", self.alert(w)
        return "breach", d + 1

    def sweep(self, now: int) -> list[str]:
        """What a sweep at ``now`` records for this clock."""
        out: list[str] = []
        while True:
            action = self.due()
            if action is None or action[1] > now:
                return out
            d = self.deadline
            kind = "breach" if d is not None and d < now else action[0]
            if kind in out:
                return out
            out.append(kind)
            if kind == "warning":
                self.warned = True
            else:
                self.breached = self.recorded = True

    def view(self, now: int) -> dict[str, Any]:
        """What a :class:`~servicewf.sla.ClockView` should say at ``now``."""
        d = self.deadline
        end = self.stopped if self.status == "stopped" else max(now, self.started or now)
        elapsed = sum(self.m.working(a, b) for a, b in self.active)
        if self.active_since is not None:
            elapsed += self.m.working(self.active_since, max(end, self.active_since))
        paused = self.paused_total
        if self.status == "paused":
            assert self.pause_since is not None
            paused += self.m.working(self.pause_since, max(end, self.pause_since))
        overdue = self.status == "running" and d is not None and now > d
        warn = self.warning_at() if self.running else None
        return {
            "cycle": self.cycle, "status": self.status, "outcome": self.outcome,
            "started": self.started, "deadline": d, "earliest": self.earliest,
            "stopped": self.stopped, "elapsed": elapsed if self.started is not None else 0,
            "paused": paused if self.started is not None else 0,
            "remaining": self.m.working(now, d) if d is not None and self.running else None,
            "is_paused": self.status == "paused", "breached": self.breached or overdue,
            "breach_recorded": self.recorded, "warned": self.warned,
            "extensions": self.extensions,
            "warning_at": None if warn is None else self.alert(warn),
            "past": [tuple(p) for p in self.past],
        }


class OracleCase:
    """Every clock of one case, fed event by event."""

    def __init__(self, specs: Iterable[ClockSpec], cal: OracleCalendar, select: Any,
                 extend_triggers: Mapping[str, str] = {}) -> None:
        self.clocks = {s.name: OracleClock(s, cal, select) for s in specs}
        self.extend_triggers = dict(extend_triggers)
        self.data: dict[str, Any] = {}
        self.state: str | None = None

    def transition(self, t: int, source: str | None, dest: str, trigger: str | None,
                   data: Mapping[str, Any], extension: Any = None) -> None:
        """A moving or stay-in-place transition (or the opening, with ``source=None``).
        ``extension`` is the target an extend trigger grants (``Until``)."""
        self.data.update(data)
        self.state = dest
        for c in self.clocks.values():
            c.on_transition(t, source, dest, trigger, self.data)
        if data:
            for c in self.clocks.values():
                c.retarget(self.data)
        clock = self.extend_triggers.get(trigger or "")
        if clock is not None and extension is not None:
            self.clocks[clock].extend(extension)

    def sweep(self, now: int) -> set[tuple[str, str, int]]:
        out = set()
        for name, c in self.clocks.items():
            for kind in c.sweep(now):
                out.add((kind, name, c.cycle))
        return out
