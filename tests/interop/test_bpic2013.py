"""BPIC 2013 end to end: discovered, imported into SQLite and PostgreSQL with every row
accounted for, conformance reported; its Wait sub-statuses pause the resolution clock.

The log lives beside the project (``../shared/data``); these tests skip when it is absent.
Most run on a slice of the cases; the whole log is imported by the slow tests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from servicewf import Engine, FrozenClock
from servicewf.definition import DEFINITION_SCHEMA
from servicewf.interop import Log, discover, import_log, read_log
from servicewf.interop import bpic2013 as bpic
from servicewf.interop.conformance import conformance
from servicewf.interop.verdicts import sla_verdicts
from servicewf.storage import MemoryStore

from ..contract.backends import BACKENDS, make_store
from .helpers import BPIC, LATER

pytestmark = pytest.mark.skipif(not BPIC.exists(), reason=f"BPIC 2013 log not at {BPIC}")

SLICE = 400


@pytest.fixture(scope="module")
def log():
    return read_log(BPIC, bpic.COLUMNS)


def sliced(log, n=SLICE):
    return Log(dict(list(log.cases.items())[:n]), log.columns, log.report)


def engine_on(store):
    sla = bpic.sla()
    return Engine(store, FrozenClock(LATER), [bpic.definition()], processors=[sla]), sla


def test_every_row_is_accounted_for(log):
    r = log.report
    assert r.rows_read == 65_533
    assert r.complete
    assert r.rows_imported + sum(r.rows_dropped.values()) == r.rows_read
    assert len(log.cases) == 7_554
    assert log.events == r.rows_imported


def test_discovery_covers_every_move_and_validates(log):
    import jsonschema

    data = discover(log, "bpic2013")
    jsonschema.validate(data, DEFINITION_SCHEMA)
    labels = {s["labels"]["en"] for s in data["states"] if "labels" in s}
    assert labels == {e.label for rows in log.cases.values() for e in rows}
    # The discovered definition admits the whole log: every case fits it.
    engine = Engine(MemoryStore(), FrozenClock(LATER),
                    [__import__("servicewf").ProcessDefinition.from_dict(data)])
    result = import_log(engine, sliced(log, 300), "bpic2013")
    assert result.cases_fitting == 300


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_slice_imports_with_conformance_on_every_store(log, kind, request):
    gen = make_store(kind, request)
    store = next(gen)
    try:
        engine, _ = engine_on(store)
        part = sliced(log)
        result = import_log(engine, part, bpic.PROCESS, batch=97)
        report = conformance(result)
        assert report.cases == SLICE
        assert 0 < report.cases_fitting < SLICE
        assert sum(report.by_kind.values()) == len(result.deviations)
        assert set(report.first_divergence) == {c for c, d in result.cases.items() if d}
        # What was written is what was replayed: facts plus one event per deviation.
        rows = sum(len(v) for v in part.cases.values())
        written = sum(len(engine.history(c)) for c in part.cases)
        assert written == result.events_written
        assert written >= rows + len(result.deviations)
        body = json.loads(report.to_json())
        for key in ("rows_read", "rows_imported", "rows_dropped", "cases", "cases_fitting",
                    "deviations"):
            assert key in body
        assert "<script" not in report.to_html()
    finally:
        gen.close()


def _waits_oracle(rows):
    """Time spent in Wait sub-statuses before the first resolution, straight from the log
    (independent of the SLA code); None when the case reopens or never resolves."""
    waits = {"Accepted-Wait", "Accepted-Wait - User", "Accepted-Wait - Customer",
             "Accepted-Wait - Implementation", "Accepted-Wait - Vendor"}
    stops = {"Completed-Resolved", "Completed-Closed", "Completed-In Call"}
    paused = dt.timedelta()
    for i, row in enumerate(rows):
        if row.label in stops:
            later = {r.label for r in rows[i + 1:]}
            if later - {"Completed-Closed", "Completed-Resolved"}:
                return None
            return paused, row.at - rows[0].at
        if row.label in {"Completed-Cancelled", "Unmatched-Unmatched"}:
            return None
        if row.label in waits and i + 1 < len(rows):
            paused += rows[i + 1].at - row.at
    return None


def test_wait_sub_statuses_pause_the_resolution_clock(log):
    engine, sla = engine_on(MemoryStore())
    part = sliced(log)
    import_log(engine, part, bpic.PROCESS)
    verdicts = {v.case_id: v for v in sla_verdicts(engine, sla, part.cases)}
    checked = paused_cases = 0
    for case_id, rows in part.cases.items():
        oracle = _waits_oracle(rows)
        if oracle is None:
            continue
        paused, span = oracle
        v = verdicts[case_id]
        assert v.paused == paused, case_id
        elapsed = span - paused
        assert v.verdict == ("breached" if elapsed > dt.timedelta(days=5) else "met"), case_id
        checked += 1
        paused_cases += paused > dt.timedelta()
    assert checked > 100 and paused_cases > 10


@pytest.mark.slow
@pytest.mark.parametrize("kind", BACKENDS)
def test_the_whole_log_imports_on_every_store(log, kind, request):
    gen = make_store(kind, request)
    store = next(gen)
    try:
        engine, _ = engine_on(store)
        result = import_log(engine, log, bpic.PROCESS)
        assert len(result.cases) == 7_554
        report = conformance(result)
        assert report.loss["rows_read"] == 65_533
        assert 0 < report.fitness < 1
    finally:
        gen.close()
