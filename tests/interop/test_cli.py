"""``servicewf import``, ``discover`` and ``export`` as a user runs them."""

from __future__ import annotations

import json
import sqlite3

import pytest

from servicewf.cli import main
from servicewf.interop import ColumnMap, read_log

from .helpers import write_csv

ROWS = [
    {"id": "A1", "status": "Queued", "when": "2026-03-02 09:00", "who": "ann", "prio": "1"},
    {"id": "A1", "status": "Working", "when": "2026-03-02 10:00", "who": "bob", "prio": "1"},
    {"id": "A1", "status": "Done", "when": "2026-03-02 11:00", "who": "bob", "prio": "2"},
    {"id": "B2", "status": "Working", "when": "2026-03-02 09:30", "who": "ann", "prio": ""},
    {"id": "B2", "status": "Queued", "when": "2026-03-02 12:00", "who": "ann", "prio": ""},
    {"id": "", "status": "Queued", "when": "2026-03-02 12:00", "who": "ann", "prio": ""},
    {"id": "B2", "status": "Done", "when": "not a time", "who": "ann", "prio": ""},
]
LOG = ["--case", "id", "--state", "status", "--time", "when", "--tz", "Asia/Shanghai",
       "--time-format", "%Y-%m-%d %H:%M", "--no-progress"]


@pytest.fixture
def csv_path(tmp_path):
    return write_csv(tmp_path / "tickets.csv", ROWS, ["id", "status", "when", "who", "prio"])


def test_discover_import_export(tmp_path, csv_path, capsys):
    definition = tmp_path / "def.json"
    assert main(["discover", str(csv_path), *LOG, "--out", str(definition),
                 "--name", "Help Desk"]) == 0
    data = json.loads(definition.read_text())
    assert data["name"] == "help_desk"
    assert {s["id"] for s in data["states"]} >= {"queued", "working", "done"}

    # Edit the discovered model: the move back from working to queued is not allowed.
    data["transitions"] = [t for t in data["transitions"]
                           if not (t["source"] == "working" and t["dest"] == "queued")]
    data["states"] = [s for s in data["states"] if s["id"] != "ended"]
    data["transitions"] = [t for t in data["transitions"] if t["dest"] != "ended"]
    for s in data["states"]:
        if s["id"] == "queued":
            s.pop("final", None)
    definition.write_text(json.dumps(data))

    db = tmp_path / "t.db"
    report = tmp_path / "report.json"
    code = main(["import", str(csv_path), *LOG, "--db", f"sqlite:///{db}",
                 "--definition", str(definition), "--actor", "who", "--data", "prio",
                 "--report", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    assert "fitness" in out and "rows dropped: missing_case_id" in out
    body = json.loads(report.read_text())
    assert body["rows_read"] == 7 and body["rows_imported"] == 5
    assert body["rows_dropped"] == {"missing_case_id": 1, "unparsable_time": 1}
    assert body["cases"] == 2 and body["cases_fitting"] == 1
    assert body["deviations"] == {"not_in_graph": 1}
    assert body["first_divergence"]["B2"]["label"] == "Queued"

    for fmt, name in (("xes", "o.xes"), ("ocel-json", "o.jsonocel"),
                      ("ocel-sqlite", "o.sqlite"), ("csv", "o.csv")):
        assert main(["export", "--db", f"sqlite:///{db}", "--format", fmt,
                     "--out", str(tmp_path / name), "--no-progress"]) == 0
    exported = read_log(tmp_path / "o.csv", ColumnMap(case="case_id", state="dest",
                                                      time="at", kind="kind", seq="seq"))
    # 5 facts, 2 openings in the initial state, 1 recorded deviation skipped as derived
    assert exported.report.rows_read == 8 and len(exported.report.skipped_derived) == 1
    with sqlite3.connect(tmp_path / "o.sqlite") as con:
        assert con.execute("SELECT count(*) FROM event").fetchone()[0] == 8
    assert "8 events" in capsys.readouterr().out


def test_usage_errors_are_one_line(tmp_path, csv_path, capsys):
    assert main(["import", str(tmp_path / "missing.csv"), *LOG, "--db", "sqlite:///x.db",
                 "--process", "complaint"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["import", str(csv_path), *LOG, "--db", str(tmp_path / "x.db"),
                 "--process", "complaint"]) == 2
    assert "is a path, not a database URL" in capsys.readouterr().err
    assert main(["discover", str(csv_path), "--case", "id", "--state", "status", "--time",
                 "when", "--tz", "Nowhere/City", "--out", str(tmp_path / "d.json")]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["import", str(csv_path), "--case", "id", "--activity", "a", "--state", "s",
              "--time", "when", "--tz", "UTC", "--db", "sqlite:///x.db", "--process", "p"])


def test_naive_times_without_zone_name_the_row(tmp_path, capsys):
    path = write_csv(tmp_path / "l.csv", ROWS[:1], ["id", "status", "when", "who", "prio"])
    # --tz is required by the parser; in the API, no zone is a NaiveTimestamp naming the row
    with pytest.raises(SystemExit):
        main(["discover", str(path), "--case", "id", "--state", "status", "--time", "when",
              "--out", str(tmp_path / "d.json")])
    from servicewf.errors import NaiveTimestamp
    with pytest.raises(NaiveTimestamp, match="row 1"):
        read_log(path, ColumnMap(case="id", state="status", time="when"),
                 time_format="%Y-%m-%d %H:%M")
