"""Recurring obligations (P8): when each is due, which were missed.

The guidelines set cadences rather than single deadlines (000 §4.1–4.2, §4.4, §5.4, §7.2;
001 §5.1): a satisfaction survey every quarter for high-value or high-frequency service lines
and every six months for low-frequency ones, a team evaluation monthly, customer contact at
least weekly for VIP customers and twice a month for ordinary ones, a complaint report monthly
or quarterly.

An obligation "at least once per period" is modelled as consecutive periods anchored on a start
date (in a time zone): period *k* runs from ``anchor(k)`` to ``anchor(k + 1)``, and its due
instant is its end. A period is met when some completion falls inside it. Everything here is
pure: "now" comes from a :class:`~servicewf.clock.Clock`, the results are plain values another
component can turn into timers.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterable

import attrs
import pendulum

from servicewf.clock import Clock, as_utc
from servicewf.processes.common import CUSTOMER_TIER

__all__ = [
    "COMPLAINT_REPORT",
    "TEAM_EVALUATION",
    "Cadence",
    "CadenceStatus",
    "Period",
    "contact_cadence",
    "due_instants",
    "next_due",
    "period_bounds",
    "period_index",
    "periods",
    "survey_cadence",
]


class Cadence(str, enum.Enum):
    """How often an obligation recurs."""

    WEEKLY = "weekly"
    TWICE_MONTHLY = "twice_monthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"


TEAM_EVALUATION = Cadence.MONTHLY
"""Team satisfaction evaluation (000 §7.2)."""
COMPLAINT_REPORT = Cadence.MONTHLY
"""Complaint report: monthly by default, quarterly allowed (000 §5.4)."""


def survey_cadence(frequency: str) -> Cadence:
    """Satisfaction survey cadence of a service line (000 §4.2): ``"high"`` (high-value or
    high-frequency lines) → quarterly, ``"low"`` → every six months."""
    key = frequency.strip().lower()
    if key in ("high", "high_value", "high_frequency", "高頻", "高频", "高價值", "高价值"):
        return Cadence.QUARTERLY
    if key in ("low", "low_frequency", "低頻", "低频"):
        return Cadence.HALF_YEARLY
    raise ValueError(f"unknown service-line frequency {frequency!r}; use 'high' or 'low'")


def contact_cadence(tier: str) -> Cadence | None:
    """Customer contact cadence (001 §5.1): VIP weekly, ordinary twice a month; prospects have
    none (``None``). ``tier`` accepts any spelling of the customer-tier vocabulary."""
    found = CUSTOMER_TIER.canonical(tier)
    return {"vip": Cadence.WEEKLY, "ordinary": Cadence.TWICE_MONTHLY}.get(found)


def _anchor(cadence: Cadence, start: pendulum.DateTime, k: int) -> pendulum.DateTime:
    # Always computed from the start (never from the previous anchor), so month-end starts do
    # not drift: 31 Jan + 1 month = 28/29 Feb, + 2 months = 31 Mar.
    if cadence is Cadence.WEEKLY:
        return start.add(weeks=k)
    if cadence is Cadence.MONTHLY:
        return start.add(months=k)
    if cadence is Cadence.QUARTERLY:
        return start.add(months=3 * k)
    if cadence is Cadence.HALF_YEARLY:
        return start.add(months=6 * k)
    # Twice a month: the month's anchor and 15 days after it.
    month = start.add(months=k // 2)
    return month if k % 2 == 0 else month.add(days=15)


@attrs.frozen
class Period:
    """One period of an obligation: ``[start, due)``, and whether a completion fell in it."""

    index: int
    start: pendulum.DateTime
    due: pendulum.DateTime
    met: bool


@attrs.frozen
class CadenceStatus:
    """Where a recurring obligation stands at ``now``.

    ``next_due`` is the end of the current period; ``current_met`` says whether the current
    period already has a completion; ``missed`` are the due instants of past periods without
    one (oldest first).
    """

    cadence: Cadence
    now: pendulum.DateTime
    next_due: pendulum.DateTime
    current_met: bool
    missed: tuple[pendulum.DateTime, ...]


def _start(start: _dt.date | _dt.datetime, tz: str) -> pendulum.DateTime:
    if isinstance(start, _dt.datetime):
        return pendulum.instance(as_utc(start)).in_timezone(tz)
    return pendulum.datetime(start.year, start.month, start.day, tz=tz)


# Mean period lengths in seconds, only to guess an index that a few exact steps then correct.
_MEAN_SECONDS: dict[Cadence, float] = {
    Cadence.WEEKLY: 7 * 86400.0,
    Cadence.TWICE_MONTHLY: 365.2425 / 24 * 86400,
    Cadence.MONTHLY: 365.2425 / 12 * 86400,
    Cadence.QUARTERLY: 365.2425 / 4 * 86400,
    Cadence.HALF_YEARLY: 365.2425 / 2 * 86400,
}


def period_bounds(
    cadence: Cadence, start: _dt.date | _dt.datetime, k: int, *, tz: str = "UTC"
) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """``(start, due)`` of period ``k`` (``k >= 0``), in UTC, without walking the earlier
    periods: the same instants :func:`periods` gives for index ``k``."""
    if k < 0:
        raise ValueError(f"period index {k} is negative; periods are numbered from 0")
    origin = _start(start, tz)
    return as_utc(_anchor(cadence, origin, k)), as_utc(_anchor(cadence, origin, k + 1))


def period_index(
    cadence: Cadence, start: _dt.date | _dt.datetime, instant: _dt.datetime, *, tz: str = "UTC"
) -> int:
    """The index of the period ``instant`` falls in (a period includes its start and excludes
    its due instant); ``-1`` before the first period. Constant time: an estimate from the mean
    period length, corrected by exact steps."""
    origin = _start(start, tz)
    at = as_utc(instant)
    if at < origin:
        return -1
    k = max(0, int((at - origin).total_seconds() // _MEAN_SECONDS[cadence]) - 1)
    while k > 0 and _anchor(cadence, origin, k) > at:
        k -= 1
    while _anchor(cadence, origin, k + 1) <= at:
        k += 1
    return k


def periods(
    cadence: Cadence,
    start: _dt.date | _dt.datetime,
    until: _dt.datetime,
    *,
    tz: str = "UTC",
    done: Iterable[_dt.datetime] = (),
) -> list[Period]:
    """Every period that has begun at ``until`` (the last one is the current, open period).

    ``start`` is a date (midnight in ``tz``) or an aware datetime; ``done`` are the instants
    the obligation was fulfilled.
    """
    origin = _start(start, tz)
    end = as_utc(until)
    completions = sorted(as_utc(d) for d in done)
    out: list[Period] = []
    k = 0
    while True:
        begin = _anchor(cadence, origin, k)
        if begin > end and out:
            break
        due = _anchor(cadence, origin, k + 1)
        met = any(begin <= c < due for c in completions)
        out.append(Period(k, as_utc(begin), as_utc(due), met))
        if due > end:
            break
        k += 1
    return out


def due_instants(
    cadence: Cadence, start: _dt.date | _dt.datetime, until: _dt.datetime, *, tz: str = "UTC"
) -> list[pendulum.DateTime]:
    """The due instants (period ends) up to and including the first one after ``until``."""
    return [p.due for p in periods(cadence, start, until, tz=tz)]


def next_due(
    cadence: Cadence,
    start: _dt.date | _dt.datetime,
    clock: Clock,
    *,
    tz: str = "UTC",
    done: Iterable[_dt.datetime] = (),
) -> CadenceStatus:
    """The status of an obligation at ``clock.now()``: next due instant, whether the current
    period is met, and the missed due instants. Before ``start`` the first period is current."""
    now = as_utc(clock.now())
    all_periods = periods(cadence, start, now, tz=tz, done=done)
    current = next((p for p in all_periods if p.due > now), all_periods[-1])
    missed = tuple(p.due for p in all_periods if p.due <= now and not p.met)
    return CadenceStatus(cadence, now, current.due, current.met, missed)
