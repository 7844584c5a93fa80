"""Rows convert to JSON, CSV and DataFrames; percentiles match pandas; bad arguments are
refused."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf.events import Event, EventKind
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.reporting import (
    AttainmentRow,
    CycleRow,
    Table,
    compute,
    percentile,
    render_html,
)

REGISTRY = builtin_registry()
SLA = default_sla(registry=REGISTRY)
T0 = pendulum.datetime(2026, 9, 14, 9, tz="Asia/Shanghai")


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=60),
       st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
def test_percentile_is_pandas_linear_quantile(values: list[float], q: float) -> None:
    ours = percentile(sorted(values), q)
    theirs = float(pd.Series(values).quantile(q))
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-6)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 0.9) is None
    assert percentile([4.0], 0.9) == 4.0


def _complaint(case_id: str, level: str, resolve_after_h: float) -> list[Event]:
    steps = [("record", "received", "recorded", {}),
             ("classify", "recorded", "classified", {"level": level}),
             ("resolve", "classified", "resolved", {})]
    events = [Event(case_id, 1, T0, EventKind.OPENED, "a", "agent", None, None, "received",
                    {"channel": "phone"})]
    for seq, (trigger, source, dest, data) in enumerate(steps, start=2):
        at = T0.add(hours=resolve_after_h if trigger == "resolve" else seq - 1)
        events.append(Event(case_id, seq, at, EventKind.TRANSITION, "a", "agent", trigger,
                            source, dest, data))
    return events


def _report(**kwargs: object):  # type: ignore[no-untyped-def]
    events = [*_complaint("c1", "緊急", 5), *_complaint("c2", "一般", 24 * 10)]
    return compute(events, cases={"c1": "complaint", "c2": "complaint"}, sla=SLA,
                   registry=REGISTRY, as_of=T0.add(days=20), **kwargs)  # type: ignore[arg-type]


def test_a_small_history_by_hand() -> None:
    report = _report()
    overall = {r.clock: r for r in report.attainment if r.by == "all"}
    # 緊急: 2 working days, resolved after 5 h: met; 一般: 3 working days, after 10 days: late
    assert (overall["resolve"].met, overall["resolve"].breached) == (1, 1)
    assert overall["resolve"].attainment == 0.5
    levels = {r.key: (r.met, r.breached) for r in report.attainment
              if r.by == "level" and r.clock == "resolve"}
    assert levels == {"urgent": (1, 0), "general": (0, 1)}
    tiers = {r.key for r in report.attainment if r.by == "tier" and r.clock == "resolve"}
    assert tiers == {"manager", "agent"}  # the first tier follows the level (001 §7.2)
    row = next(r for r in report.durations if r.clock == "resolve")
    assert row.cycles == 2 and row.calendar_median == (5 + 240) / 2 * 3600
    cycle = next(c for c in report.cycles if c.case_id == "c1" and c.clock == "resolve")
    assert isinstance(cycle, CycleRow) and cycle.outcome == "met" and cycle.calendar == 5 * 3600
    # 09:00 to 14:00 on a Monday with a lunch break 12:00-13:00: 4 business hours
    assert cycle.business == 4 * 3600
    assert report.handling.rows[0].to_dict() == {"process": "complaint", "received": 2,
                                                 "handled": 2, "rate": 1.0}


def test_rows_convert_to_json_csv_and_dataframes() -> None:
    report = _report()
    data = json.loads(report.to_json())
    assert data["kpis"]["attainment"][0]["attainment"] is not None
    assert {"attainment", "durations", "reopen", "csat", "backlog", "obligations"} <= set(
        data["definitions"])
    table = report.attainment
    parsed = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert len(parsed) == len(table) and parsed[0]["process"] == "complaint"
    assert set(parsed[0]) == set(table.to_list()[0])
    frame = table.to_dataframe()
    assert list(frame.columns) == list(table.to_list()[0]) and len(frame) == len(table)
    cycles = report.cycles.to_list()
    assert cycles[0]["started"].endswith("+00:00")  # instants as ISO 8601 in UTC
    assert Table("empty", ()).to_csv() == ""
    row = AttainmentRow("p", "c", "all", "", 0, 0, 0, 3, 0, 0, 0)
    assert row.attainment is None and row.to_dict()["attainment"] is None


def test_the_period_and_the_report_instant() -> None:
    # a period that ends before the resolutions: nothing completed in it; the open counts
    # are as of the report instant
    early = _report(end=T0.add(hours=1))
    assert not [r for r in early.attainment if r.by == "all" and r.clock == "resolve"
                and (r.met or r.breached)]
    # the log as it stood an hour after the opening: the clocks still run
    young = compute([*_complaint("c1", "緊急", 5)], cases={"c1": "complaint"}, sla=SLA,
                    registry=REGISTRY, as_of=T0.add(hours=1, minutes=30))
    resolve = next(r for r in young.attainment if r.by == "all" and r.clock == "resolve")
    assert (resolve.open, resolve.met) == (1, 0) and young.events == 2


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="granularity"):
        _report(granularity="year")
    with pytest.raises(ValueError, match="unknown report language"):
        render_html(_report(), lang="fr")


def test_every_rate_and_its_empty_case() -> None:
    from servicewf.reporting import (
        CsatRow,
        EscalationRow,
        HandlingRow,
        ObligationRow,
        ReopenRow,
        WithinDeadlineRow,
    )

    assert ObligationRow("survey", "quarterly", 3, 1).rate == 0.75
    assert ObligationRow("survey", "quarterly", 0, 0).rate is None
    assert ObligationRow("survey", "quarterly", 3, 1).to_dict()["rate"] == 0.75
    assert HandlingRow("complaint", 4, 3).rate == 0.75
    assert HandlingRow("complaint", 0, 0).to_dict()["rate"] is None
    assert WithinDeadlineRow("complaint", "resolve", 4, 1).rate == 0.25
    assert WithinDeadlineRow("complaint", "resolve", 0, 0).to_dict()["rate"] is None
    r = ReopenRow("complaint", 8, 2, 5)
    assert (r.reopen_rate, r.fcr) == (0.25, 0.625)
    assert r.to_dict()["reopen_rate"] == 0.25 and r.to_dict()["fcr"] == 0.625
    assert ReopenRow("complaint", 0, 0, 0).to_dict()["fcr"] is None
    c = CsatRow("complaint", 10, 8, 4, 3)
    assert (c.csat, c.response_rate) == (0.75, 0.8)
    assert c.to_dict()["csat"] == 0.75 and c.to_dict()["response_rate"] == 0.8
    assert CsatRow("complaint", 0, 0, 0, 0).to_dict()["csat"] is None
    e = EscalationRow("complaint", 3, 2, 2, 0)
    assert e.tier_hops == 5 and e.to_dict()["tier_hops"] == 5
    a = AttainmentRow("p", "c", "all", "", 3, 1, 1, 9, 9, 9, 9)
    assert a.attainment == 0.6 and a.to_dict()["attainment"] == 0.6


def test_an_open_clock_is_overdue_only_after_its_deadline() -> None:
    # complaint "record": 24 clock hours from receipt; a deadline is met up to its instant
    opened = [Event("o", 1, T0, EventKind.OPENED, "a", "agent", None, None, "received", {})]

    def record(as_of: pendulum.DateTime) -> tuple[int, int]:
        report = compute(opened, cases={"o": "complaint"}, sla=SLA, registry=REGISTRY,
                         as_of=as_of)
        row = next(r for r in report.attainment if r.by == "all" and r.clock == "record")
        return row.open, row.open_overdue

    assert record(T0.add(hours=24)) == (1, 0)
    assert record(T0.add(hours=24, microseconds=1)) == (1, 1)


def _history(case_id: str, moves: list[tuple[str, str, str]]) -> list[Event]:
    at = pendulum.datetime(2012, 3, 1, 9, tz="UTC")
    out = [Event(case_id, 1, at, EventKind.OPENED, "a", "agent", None, None, "new")]
    for seq, (trigger, source, dest) in enumerate(moves, start=2):
        out.append(Event(case_id, seq, at.add(hours=seq), EventKind.TRANSITION, "a", "agent",
                         trigger, source, dest))
    return out


def test_a_reopen_trigger_fired_at_work_reopens_nothing() -> None:
    # BPIC's accepted_in_progress resumes work and also reopens a resolved incident: only
    # the firing on a resolved incident is a reopen, of the case and of its clock.
    from servicewf.definition import Registry
    from servicewf.interop import bpic2013 as bpic

    worked = _history("w", [
        ("accepted_in_progress", "new", "accepted_in_progress"),
        ("queued_awaiting_assignment", "accepted_in_progress", "queued_awaiting_assignment"),
        ("accepted_in_progress", "queued_awaiting_assignment", "accepted_in_progress"),
        ("completed_resolved", "accepted_in_progress", "completed_resolved")])
    reopened = _history("r", [
        ("accepted_in_progress", "new", "accepted_in_progress"),
        ("completed_resolved", "accepted_in_progress", "completed_resolved"),
        ("accepted_in_progress", "completed_resolved", "accepted_in_progress"),
        ("completed_resolved", "accepted_in_progress", "completed_resolved")])
    report = compute([*worked, *reopened], cases={"w": bpic.PROCESS, "r": bpic.PROCESS},
                     sla=bpic.sla(), registry=Registry([bpic.definition()]),
                     as_of=pendulum.datetime(2012, 4, 1, tz="UTC"))
    assert [(r.resolved, r.reopened) for r in report.reopen] == [(2, 1)]
    assert {r.case_id: r.reopens for r in report.cycles} == {"w": 0, "r": 1}
    assert [(r.cycles, r.reopened) for r in report.durations] == [(2, 1)]


def test_the_headline_says_how_many_cycles_met_their_goal_in_words() -> None:
    from servicewf.reporting import headline_lines

    report = _report()
    resolve = next(r for r in report.attainment if r.by == "all" and r.clock == "resolve")
    done = resolve.met + resolve.breached + resolve.too_early
    lines = headline_lines(report, registry=REGISTRY)
    assert f"({resolve.met} of {done} met; {resolve.open_overdue} open and overdue)" in "\n".join(
        lines)
    zh = "\n".join(headline_lines(report, lang="zh_hans", registry=REGISTRY))
    said = f"({done} 个已完成周期中 {resolve.met} 个达成;逾期未完成 {resolve.open_overdue} 个)"
    assert said in zh
