"""Every KPI that applies to an imported BPIC 2013 incident history equals the same KPI
computed by hand with pandas from the stored events (tests/reporting/pandas_bpic.py).

A slice of the log by default; the whole log under ``@pytest.mark.slow``. Skipped with a
reason when the log is absent."""

from __future__ import annotations

import math
import pathlib
from typing import Any

import pandas as pd
import pendulum
import pytest

from servicewf import Engine, FrozenClock
from servicewf.clock import epoch_us
from servicewf.definition import Registry
from servicewf.interop import bpic2013 as bpic
from servicewf.reporting import Report, from_store
from servicewf.storage.sql import SQLStore
from tests.interop.helpers import BPIC
from tests.reporting import pandas_bpic

pytestmark = pytest.mark.skipif(not BPIC.exists(), reason=f"BPIC 2013 log not at {BPIC}")

SLICE = 600
AS_OF = pendulum.datetime(2012, 6, 1, tz="UTC")  # after the log's last event
PERIODS = [
    (None, None),
    (pendulum.datetime(2012, 1, 1, tz="UTC"), pendulum.datetime(2012, 4, 1, tz="UTC")),
]
TZ = "Europe/Stockholm"  # Volvo IT's days and weeks


def _imported(path: pathlib.Path, cases: int | None) -> str:
    url = f"sqlite:///{path}"
    store = SQLStore(url)
    try:
        engine = Engine(store, FrozenClock(AS_OF), [bpic.definition()], processors=[bpic.sla()])
        bpic.import_incidents(engine, BPIC, cases=cases)
    finally:
        store.close()
    return str(path)


def _computed(path: str) -> dict[int, tuple[Report, dict[str, pd.DataFrame]]]:
    registry = Registry([bpic.definition()])
    sla = bpic.sla()
    frame = pandas_bpic.frame_from_sqlite(path)
    assert frame["at"].max() < epoch_us(AS_OF)
    out = {}
    store = SQLStore(f"sqlite:///{path}")
    try:
        for i, (lo, hi) in enumerate(PERIODS):
            report = from_store(store, sla=sla, registry=registry, as_of=AS_OF, start=lo,
                                end=hi or AS_OF, tz=TZ, page=700)
            oracle = pandas_bpic.kpis(frame, as_of=epoch_us(AS_OF),
                                      lo=None if lo is None else epoch_us(lo),
                                      hi=epoch_us(hi or AS_OF), tz=TZ)
            out[i] = (report, oracle)
    finally:
        store.close()
    return out


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory
             ) -> dict[int, tuple[Report, dict[str, pd.DataFrame]]]:
    return _computed(_imported(tmp_path_factory.mktemp("bpic") / "bpic.db", SLICE))


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and not (isinstance(b, float) and math.isnan(b)) \
            and math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
    return bool(a == b)


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str],
             columns: list[str]) -> None:
    a = {tuple(r[k] for k in keys): r for r in ours.to_dict("records")}
    b = {tuple(r[k] for k in keys): r for r in theirs.to_dict("records")}
    assert set(a) == set(b)
    assert a, "the imported history must give rows to compare"
    for key in a:
        for c in columns:
            assert _same(a[key][c], b[key].get(c)), (key, c, a[key][c], b[key].get(c))


def _check(computed: dict[int, tuple[Report, dict[str, pd.DataFrame]]]) -> None:
    for period, (report, oracle) in computed.items():
        _compare(report.attainment.to_dataframe(), oracle["attainment"],
                 ["process", "clock", "by", "key"],
                 ["met", "breached", "too_early", "cancelled", "no_goal", "open",
                  "open_overdue", "attainment"])
        _compare(report.durations.to_dataframe(), oracle["durations"], ["process", "clock"],
                 ["cycles", "reopened", "paused", "calendar_median", "calendar_p90",
                  "business_median", "business_p90"])
        _compare(report.within_deadline.to_dataframe(), oracle["within_deadline"],
                 ["process", "clock"], ["closed", "within", "rate"])
        _compare(report.reopen.to_dataframe(), oracle["reopen"], ["process"],
                 ["resolved", "reopened", "first_contact", "reopen_rate", "fcr"])
        _compare(report.backlog.to_dataframe(), oracle["backlog"], ["process", "day"],
                 ["open", "age_median", "age_p90", "age_max", "created", "resolved"])
        if period == 0:
            ours = report.cycles.to_dataframe()
            _compare(ours, oracle["cycles"], ["case_id", "cycle"],
                     ["outcome", "overdue", "reopens"])
            theirs = {r["case_id"]: r for r in oracle["cycles"].to_dict("records")}
            for r in ours.to_dict("records"):
                if r["outcome"] in ("met", "breached"):
                    assert r["calendar"] * 1e6 == pytest.approx(theirs[r["case_id"]]["calendar"])
                    assert r["business"] * 1e6 == pytest.approx(theirs[r["case_id"]]["business"])


def test_kpis_equal_pandas_on_a_slice(computed: dict[int, tuple[Report, Any]]) -> None:
    _check(computed)
    report = computed[0][0]
    # the paths that matter are exercised: pauses, reopens, breaches, open incidents
    durations = report.durations.to_dataframe()
    assert durations["paused"].sum() > 0 and durations["reopened"].sum() > 0
    overall = next(r for r in report.attainment if r.by == "all")
    assert overall.met and overall.breached
    assert report.reopen.rows[0].reopened > 0


@pytest.mark.slow
def test_kpis_equal_pandas_on_the_whole_log(tmp_path: pathlib.Path) -> None:
    _check(_computed(_imported(tmp_path / "bpic.db", None)))
