"""Export -> import gives the same histories (CSV, XES, OCEL 2.0 JSON and SQLite), and the
exports read back in pm4py with the same counts and pass its OCEL 2.0 SQLite validation."""

from __future__ import annotations

import io
import json
import sqlite3
import xml.etree.ElementTree as ET

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.interop import ColumnMap, import_log, read_log
from servicewf.interop.export import (
    write_csv,
    write_ocel_json,
    write_ocel_sqlite,
    write_xes,
)
from servicewf.storage import MemoryStore

from .helpers import engine_for

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
STATES = ["new", "working", "waiting", "resolved", "closed", "limbo"]
FIELDS = {"n": st.integers(-10**12, 10**12),
          "x": st.floats(allow_nan=False, allow_infinity=False),
          "flag": st.booleans(),
          "text": st.text(alphabet="ab é张\"<>&,';{}", min_size=1, max_size=12).map(
              str.strip).filter(bool)}

_step = st.tuples(
    st.sampled_from(STATES),
    st.integers(0, 3 * 3600 * 10**6),  # microseconds after the previous step
    st.sampled_from(["ann", "bob", "张三"]),
    st.fixed_dictionaries({}, optional=FIELDS),
)
_case = st.lists(_step, min_size=1, max_size=8)
_log = st.lists(_case, min_size=1, max_size=4)


def source_rows(cases):
    rows = []
    for i, steps in enumerate(cases):
        at = T
        for state, gap, who, data in steps:
            at = at.add(microseconds=gap)
            rows.append({"case": f"c{i}", "status": state, "at": at, "who": who, **data})
    return rows


def first_import(cases):
    engine = engine_for(MemoryStore())
    cols = ColumnMap(case="case", state="status", time="at", actor="who", data=list(FIELDS))
    import_log(engine, read_log(source_rows(cases), cols), "ticket")
    return engine


def _comparable(e):
    # A deviation names the row of the log it came from: provenance, which differs between
    # the first log and the export (everything else must be equal).
    if e.kind == "history_deviation":
        return attrs.evolve(e, data={k: v for k, v in e.data.items() if k != "row"})
    return e


def histories(engine):
    return {cid: [_comparable(e) for e in engine.history(cid)] for cid in sorted(
        {e.case_id for _, e in engine.store.read_log()})}


# Our exports say which column is what: the state after each event, its kind, its order.
MAPS = {
    "csv": ColumnMap(case="case_id", state="dest", time="at", actor="actor", role="role",
                     kind="kind", seq="seq", data_json="data"),
    "xes": ColumnMap(case="case:concept:name", state="servicewf:dest", time="time:timestamp",
                     actor="org:resource", role="org:role", kind="servicewf:kind",
                     seq="servicewf:seq", data=list(FIELDS)),
    "ocel-json": ColumnMap(case="case", state="dest", time="time", actor="actor",
                           role="role", kind="kind", seq="seq", data=list(FIELDS)),
    "ocel-sqlite": ColumnMap(case="case", state="dest", time="time", actor="actor",
                             role="role", kind="kind", seq="seq", data=list(FIELDS)),
}
SUFFIX = {"csv": "csv", "xes": "xes", "ocel-json": "jsonocel", "ocel-sqlite": "sqlite"}


def export(store, fmt, path):
    if fmt == "ocel-sqlite":
        return write_ocel_sqlite(store, path)
    writer = {"csv": write_csv, "xes": write_xes, "ocel-json": write_ocel_json}[fmt]
    with open(path, "w", encoding="utf-8") as f:
        return writer(store, f)


@pytest.mark.parametrize("fmt", list(MAPS))
@settings(max_examples=15, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(cases=_log)
def test_export_then_import_gives_the_same_histories(tmp_path, fmt, cases):
    a = first_import(cases)
    path = tmp_path / f"log.{SUFFIX[fmt]}"
    written = export(a.store, fmt, path)
    assert written == sum(len(h) for h in histories(a).values())
    b = engine_for(MemoryStore())
    log = read_log(path, MAPS[fmt])
    assert log.report.complete and not log.report.dropped
    import_log(b, log, "ticket")
    assert histories(b) == histories(a)
    for cid in histories(a):
        assert b.get(cid).state == a.get(cid).state
        assert b.get(cid).data == a.get(cid).data


def test_xes_is_well_formed_typed_and_declares_what_it_uses(tmp_path):
    engine = first_import([[("working", 1500, "ann", {"n": 3, "x": 0.5, "flag": True})]])
    out = io.StringIO()
    write_xes(engine.store, out, tz="Asia/Shanghai")
    root = ET.fromstring(out.getvalue())
    ns = "{http://www.xes-standard.org/}"
    assert float(root.get("xes.version")) == 2.0
    prefixes = {e.get("prefix") for e in root.findall(f"{ns}extension")}
    assert {"concept", "time", "org", "lifecycle", "servicewf"} <= prefixes
    globals_ = {a.get("key") for g in root.findall(f"{ns}global") for a in g}
    for c in root.findall(f"{ns}classifier"):
        assert set(c.get("keys").split()) <= globals_
    moved = root.findall(f"{ns}trace/{ns}event")[1]
    typed = {a.get("key"): a.tag.removeprefix(ns) for a in moved}
    assert typed["n"] == "int" and typed["x"] == "float" and typed["flag"] == "boolean"
    stamp = next(a.get("value") for a in moved if a.get("key") == "time:timestamp")
    assert stamp == "2026-03-02T17:00:00.001500+08:00"
    assert "nan" not in out.getvalue() and "NaT" not in out.getvalue()


def test_xes_lifecycle_marks_pauses():
    engine = first_import([[("working", 0, "ann", {}), ("waiting", 5, "ann", {}),
                            ("working", 5, "ann", {})]])
    out = io.StringIO()
    write_xes(engine.store, out, pause_states={"ticket": frozenset({"waiting"})})
    root = ET.fromstring(out.getvalue())
    ns = "{http://www.xes-standard.org/}"
    life = [next(a.get("value") for a in e if a.get("key") == "lifecycle:transition")
            for e in root.findall(f"{ns}trace/{ns}event")]
    # opened, start (refused by its guard: no priority), its deviation, wait, resume
    assert life == ["complete", "complete", "complete", "suspend", "resume"]


def test_ocel_objects_are_all_related_and_values_typed(tmp_path):
    engine = first_import([[("working", 0, "ann", {"n": 0})], [("waiting", 0, "bob", {})]])
    path = tmp_path / "o.jsonocel"
    export(engine.store, "ocel-json", path)
    doc = json.loads(path.read_text())
    related = {r["objectId"] for e in doc["events"] for r in e["relationships"]}
    assert {o["id"] for o in doc["objects"]} == related
    assert all(r["qualifier"] for e in doc["events"] for r in e["relationships"])
    values = [a["value"] for e in doc["events"] for a in e["attributes"] if a["name"] == "n"]
    assert values == [0] and type(values[0]) is int
    declared = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
                for t in doc["eventTypes"]}
    assert declared["start"]["n"] == "integer"


def test_ocel_sqlite_keys(tmp_path):
    engine = first_import([[("working", 0, "ann", {"n": 1})]])
    path = tmp_path / "o.sqlite"
    export(engine.store, "ocel-sqlite", path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        events = db.execute("SELECT count(*) FROM event").fetchone()[0]
        assert events == 3
        orphans = db.execute("SELECT count(*) FROM object WHERE ocel_id NOT IN "
                             "(SELECT ocel_object_id FROM event_object)").fetchone()[0]
        assert orphans == 0
    finally:
        db.close()


# --- pm4py reads them back (dev dependency only; AGPL, never imported by the package) -----

def test_pm4py_reads_every_export_with_the_same_counts(tmp_path):
    pm4py = pytest.importorskip("pm4py")
    from pm4py.objects.ocel.validation import ocel20_rel_validation

    engine = first_import([[("working", 0, "ann", {"n": 1}), ("waiting", 60, "bob", {})],
                           [("resolved", 0, "ann", {"text": "é"})]])
    events = sum(len(h) for h in histories(engine).values())
    for fmt in MAPS:
        export(engine.store, fmt, tmp_path / f"o.{SUFFIX[fmt]}")
    frame = pm4py.read_xes(str(tmp_path / "o.xes"))
    assert len(frame) == events and frame["case:concept:name"].nunique() == 2
    assert frame["servicewf:seq"].dtype.kind == "i"
    objects = json.loads((tmp_path / "o.jsonocel").read_text())["objects"]
    # two cases, ann, bob, and the system actor that records the deviation of c0's start
    assert len(objects) == 5
    for ocel in (pm4py.read_ocel2_json(str(tmp_path / "o.jsonocel")),
                 pm4py.read_ocel2_sqlite(str(tmp_path / "o.sqlite"))):
        assert len(ocel.events) == events
        assert len(ocel.objects) == len(objects)
    satisfied, unsatisfied = ocel20_rel_validation.apply(str(tmp_path / "o.sqlite"))
    assert unsatisfied == [] and len(satisfied) == 24
