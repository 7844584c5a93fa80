"""Reading logs: columns, time zones, the loss report (every row accounted for)."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf.errors import LogImportError, NaiveTimestamp
from servicewf.interop import ColumnMap, read_log

from .helpers import write_csv

FIELDS = ["id", "what", "when", "who", "prio"]
COLS = ColumnMap(case="id", activity="what", time="when", actor="who", data={"prio": "priority"})


def test_naive_times_need_a_zone_and_are_read_in_it(tmp_path):
    path = write_csv(tmp_path / "l.csv", [
        {"id": "c1", "what": "open", "when": "2026-03-02 09:00:00"},
        {"id": "c1", "what": "close", "when": "2026-03-02T10:00:00+08:00"},
    ], FIELDS)
    with pytest.raises(NaiveTimestamp, match="never guesses UTC"):
        read_log(path, COLS)
    log = read_log(path, COLS, tz="Asia/Shanghai")
    events = log.cases["c1"]
    # pm4py's probe: read as UTC, 09:00 would sort after 10:00+08:00 (= 02:00 UTC).
    assert [e.label for e in events] == ["open", "close"]
    assert events[0].at == pendulum.datetime(2026, 3, 2, 1, 0, tz="UTC")
    assert events[1].at == pendulum.datetime(2026, 3, 2, 2, 0, tz="UTC")
    assert log.report.rows_coerced == {}


def test_time_format_and_gzip(tmp_path):
    path = write_csv(tmp_path / "l.csv.gz", [
        {"id": "c1", "what": "open", "when": "02/03/2026 09:30"},
    ], FIELDS, gz=True)
    log = read_log(path, COLS, tz="Europe/Brussels", time_format="%d/%m/%Y %H:%M")
    assert log.cases["c1"][0].at == pendulum.datetime(2026, 3, 2, 8, 30, tz="UTC")


def test_unknown_zone_and_bad_map_are_refused(tmp_path):
    path = write_csv(tmp_path / "l.csv", [], FIELDS)
    with pytest.raises(LogImportError, match="unknown time zone"):
        read_log(path, COLS, tz="Mars/Olympus")
    with pytest.raises(LogImportError, match="either an activity"):
        ColumnMap(case="id", time="when")
    with pytest.raises(LogImportError, match="either an activity"):
        ColumnMap(case="id", time="when", activity="a", state="s")


def test_every_row_is_accounted_for_with_its_reason_and_number(tmp_path):
    rows = [
        {"id": "c1", "what": "open", "when": "2026-03-02T09:00:00Z", "prio": "high"},  # 1
        {"id": "", "what": "open", "when": "2026-03-02T09:00:00Z"},                   # 2
        {"id": "c1", "what": "", "when": "2026-03-02T09:00:00Z"},                     # 3
        {"id": "c1", "what": "go", "when": "yesterday"},                              # 4
        {"id": "c1", "what": "open", "when": "2026-03-02T09:00:00Z", "prio": "high"},  # 5 dup
        {"id": "c1", "what": "early", "when": "2026-03-02T08:00:00Z"},                # 6 ooo
        {"id": "c1", "what": "bad\x00name", "when": "2026-03-02T08:00:00Z"},          # 7
        {"id": "c2", "what": "open", "when": "2026-03-02T09:00:00Z", "who": " "},     # 8
    ]
    log = read_log(write_csv(tmp_path / "l.csv", rows, FIELDS), COLS)
    r = log.report
    assert r.rows_read == 8
    assert r.dropped == {"missing_case_id": [2], "missing_activity": [3],
                         "unparsable_time": [4], "duplicate": [5], "invalid_value": [7, 8]}
    assert r.coerced == {"out_of_order": [6]}
    assert r.rows_imported == 2 and r.complete
    assert [e.label for e in log.cases["c1"]] == ["early", "open"]
    assert log.cases["c1"][1].data == {"priority": "high"}
    assert r.to_dict()["rows_dropped"]["invalid_value"] == 2


def test_dataframe_with_missing_values_and_timestamps():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "id": ["c1", "c1", None, "c2"],
        "what": ["open", "close", "open", "open"],
        "when": [pd.Timestamp("2026-03-02 09:00", tz="UTC"), pd.NaT,
                 pd.Timestamp("2026-03-02 09:00", tz="UTC"),
                 pd.Timestamp("2026-03-02 10:00", tz="Asia/Shanghai")],
        "prio": [1.0, float("nan"), 2.0, 3.5],
    })
    log = read_log(frame, COLS)
    assert log.report.dropped == {"unparsable_time": [2], "missing_case_id": [3]}
    assert log.cases["c1"][0].data == {"priority": 1.0}
    assert log.cases["c2"][0].at == pendulum.datetime(2026, 3, 2, 2, 0, tz="UTC")


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849.2016" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="org:resource" value="robot"/></global>
  <trace><string key="concept:name" value="t1"/>
    <event><string key="concept:name" value="open"/>
      <date key="time:timestamp" value="2026-03-02T09:00:00.000+01:00"/>
      <int key="n" value="3"/></event>
    <event><string key="concept:name" value="close"/>
      <date key="time:timestamp" value="2026-03-02T10:00:00.000+01:00"/>
      <string key="org:resource" value="ann"/></event>
  </trace>
</log>"""


def test_xes_applies_event_globals(tmp_path):
    path = tmp_path / "l.xes"
    path.write_text(XES)
    cols = ColumnMap(case="case:concept:name", activity="concept:name", time="time:timestamp",
                     actor="org:resource", data={"n": "n"})
    log = read_log(path, cols)
    assert [(e.label, e.actor, dict(e.data)) for e in log.cases["t1"]] == [
        ("open", "robot", {"n": 3}), ("close", "ann", {})]
    assert log.cases["t1"][0].at == pendulum.datetime(2026, 3, 2, 8, tz="UTC")


# --- property: the loss report against an independent oracle ------------------------------

_row = st.fixed_dictionaries({
    "id": st.sampled_from(["c1", "c2", "", " "]),
    "what": st.sampled_from(["a", "b", ""]),
    "when": st.one_of(st.sampled_from(["nope", ""]),
                      st.integers(0, 5).map(lambda h: f"2026-03-02T0{h}:00:00+00:00")),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(_row, max_size=25))
def test_loss_report_matches_an_oracle(tmp_path_factory, rows):
    path = write_csv(tmp_path_factory.mktemp("l") / "l.csv", rows, ["id", "what", "when"])
    log = read_log(path, ColumnMap(case="id", activity="what", time="when"))
    expected: dict[str, list[int]] = {}
    kept: dict[str, list[tuple[str, str]]] = {}
    for n, row in enumerate(rows, start=1):
        if not row["id"].strip():
            reason = "missing_case_id" if row["id"] == "" else "invalid_value"
        elif not row["what"]:
            reason = "missing_activity"
        elif not row["when"] or row["when"] == "nope":
            reason = "unparsable_time"
        elif (row["what"], row["when"]) in kept.setdefault(row["id"], []):
            reason = "duplicate"
        else:
            kept[row["id"]].append((row["what"], row["when"]))
            continue
        expected.setdefault(reason, []).append(n)
    assert log.report.dropped == expected
    assert log.report.rows_read == len(rows)
    assert log.report.complete
    for cid, events in log.cases.items():
        assert sorted(kept[cid], key=lambda p: p[1]) == [
            (e.label, e.at.isoformat()) for e in events]
        assert all(isinstance(e.at, dt.datetime) for e in events)


def test_equal_but_differently_typed_values_stay_apart():
    rows = [{"id": "c1", "what": "a", "when": "2026-03-02T09:00:00Z", "v": v}
            for v in (1, True, 1.0)]
    log = read_log(rows, ColumnMap(case="id", activity="what", time="when", data=["v"]))
    assert not log.report.dropped
    assert [type(e.data["v"]) for e in log.cases["c1"]] == [int, bool, float]


def test_gzipped_xes_and_event_count(tmp_path):
    import gzip

    path = tmp_path / "l.xes.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(XES)
    cols = ColumnMap(case="case:concept:name", activity="concept:name", time="time:timestamp")
    log = read_log(path, cols)
    assert log.events == 2 and [e.label for e in log.cases["t1"]] == ["open", "close"]


def test_values_without_a_json_form_are_coerced_and_counted():
    rows = [{"id": "c1", "what": "a", "when": f"2026-03-02T09:0{i}:00Z", "v": v}
            for i, v in enumerate([float("nan"), float("inf"), float("-inf"), 2.5,
                                   dt.datetime(2026, 1, 1), dt.date(2026, 1, 2)])]
    log = read_log(rows, ColumnMap(case="id", activity="what", time="when", data=["v"]))
    assert [dict(e.data) for e in log.cases["c1"]] == [
        {}, {}, {}, {"v": 2.5}, {"v": "2026-01-01T00:00:00"}, {"v": "2026-01-02"}]
    assert log.report.coerced == {"invalid_data": [1, 2, 3, 5, 6]}


def test_progress_is_told_every_ten_thousand_rows():
    rows = [{"id": f"c{i % 7}", "what": "a", "when": "2026-03-02T09:00:00Z", "n": i}
            for i in range(20_001)]
    told: list[int] = []
    log = read_log(rows, ColumnMap(case="id", activity="what", time="when", data=["n"]),
                   progress=told.append)
    assert told == [10_000, 20_000] and log.events == 20_001
