"""Every KPI of servicewf.reporting equals the same KPI computed by hand with pandas from the
stored events of a demo run (tests/reporting/pandas_kpis.py)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pendulum
import pytest

from servicewf.calendar import china_office
from servicewf.clock import epoch_us
from servicewf.demo import TZ, run_demo
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.reporting import Report, from_store
from servicewf.storage.sql import SQLStore
from tests.reporting import pandas_kpis

PERIODS = [
    (None, None),  # everything up to the end of the run
    (pendulum.datetime(2026, 9, 21, tz=TZ), pendulum.datetime(2026, 10, 1, tz=TZ)),
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pendulum.DateTime]:
    path = tmp_path_factory.mktemp("reporting") / "demo.db"
    summary = run_demo(cases=160, seed=2026, days=14, db=f"sqlite:///{path}")
    return str(path), summary.simulated_to


@pytest.fixture(scope="module")
def computed(demo_db: tuple[str, pendulum.DateTime]) -> dict[int, tuple[Report, Any]]:
    path, end = demo_db
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    frame = pandas_kpis.frame_from_sqlite(path)
    out = {}
    store = SQLStore(f"sqlite:///{path}")
    try:
        for i, (lo, hi) in enumerate(PERIODS):
            report = from_store(store, sla=sla, registry=registry, as_of=end, start=lo,
                                end=hi or end, tz=TZ, page=500)
            oracle = pandas_kpis.kpis(frame, calendar=china_office(), as_of=epoch_us(end),
                                      lo=None if lo is None else epoch_us(lo),
                                      hi=epoch_us(hi or end), tz=TZ)
            out[i] = (report, oracle)
    finally:
        store.close()
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        # the same formula in another order of floating-point operations
        return b is not None and not (isinstance(b, float) and math.isnan(b)) \
            and math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
    return bool(a == b)


def _by_key(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in keys): r for r in frame.to_dict("records")}


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str],
             columns: list[str]) -> None:
    a, b = _by_key(ours, keys), _by_key(theirs, keys)
    assert set(a) == set(b)
    assert a, "the demo's data must give rows to compare"
    for key in a:
        for c in columns:
            assert _same(a[key][c], b[key].get(c)), (key, c, a[key][c], b[key].get(c))


@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_attainment(computed: dict[int, tuple[Report, Any]], period: int) -> None:
    report, oracle = computed[period]
    _compare(report.attainment.to_dataframe(), oracle["attainment"],
             ["process", "clock", "by", "key"],
             ["met", "breached", "too_early", "cancelled", "no_goal", "open", "open_overdue",
              "attainment"])


@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_durations(computed: dict[int, tuple[Report, Any]], period: int) -> None:
    report, oracle = computed[period]
    _compare(report.durations.to_dataframe(), oracle["durations"], ["process", "clock"],
             ["cycles", "reopened", "paused", "calendar_median", "calendar_p90",
              "business_median", "business_p90"])
    # pauses and reopens occur in the data, so those paths are compared too
    durations = report.durations.to_dataframe()
    assert durations["reopened"].sum() > 0 and durations["paused"].sum() > 0


def test_cycles(computed: dict[int, tuple[Report, Any]]) -> None:
    report, oracle = computed[0]
    ours = pd.DataFrame([{**r.to_dict(), "start": epoch_us(r.started)} for r in report.cycles])
    theirs = oracle["cycles"]
    _compare(ours, theirs, ["case_id", "clock", "cycle"], ["outcome", "overdue", "reopens"])
    a = _by_key(ours, ["case_id", "clock", "cycle"])
    for r in theirs.to_dict("records"):
        if r["stop"] is not None and not (isinstance(r["stop"], float) and math.isnan(r["stop"])):
            mine = a[(r["case_id"], r["clock"], r["cycle"])]
            assert mine["calendar"] * 1e6 == pytest.approx(r["calendar"], abs=1)
            assert mine["business"] * 1e6 == pytest.approx(r["business"], abs=1)


@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_case_kpis(computed: dict[int, tuple[Report, Any]], period: int) -> None:
    report, oracle = computed[period]
    _compare(report.reopen.to_dataframe(), oracle["reopen"], ["process"],
             ["resolved", "reopened", "first_contact", "reopen_rate", "fcr"])
    _compare(report.escalations.to_dataframe(), oracle["escalations"], ["process"],
             ["escalations", "handovers", "escalated_cases", "tier_hops", "ping_pong_cases"])
    _compare(report.csat.to_dataframe(), oracle["csat"], ["process"],
             ["asked", "answered", "ratings", "satisfied", "csat", "response_rate"])
    _compare(report.handling.to_dataframe(), oracle["handling"], ["process"],
             ["received", "handled"])
    _compare(report.within_deadline.to_dataframe(), oracle["within_deadline"],
             ["process", "clock"], ["closed", "within", "rate"])


@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_backlog_and_obligations(computed: dict[int, tuple[Report, Any]], period: int) -> None:
    report, oracle = computed[period]
    _compare(report.backlog.to_dataframe(), oracle["backlog"], ["process", "day"],
             ["open", "age_median", "age_p90", "age_max", "created", "resolved"])
    _compare(report.obligations.to_dataframe(), oracle["obligations"], ["kind", "cadence"],
             ["met", "missed"])
