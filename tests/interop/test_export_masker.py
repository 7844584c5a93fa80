"""The writers' masking hook, by its shape only (no privacy package): every writer shows the
masker's view of each event's data, comment and actor, OCEL's customer objects, and the
masker's label; without a masker nothing changes."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

import pendulum
import pytest

from servicewf import Actor, FrozenClock, MemoryStore
from servicewf.interop import export
from servicewf.processes.stack import builtin_stack

LABEL = "de-identified (去标识化)"


class Marking:
    """A masker that marks what it was handed, so a test sees where its view went."""

    label = LABEL

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, case_id: str, process: str, data: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append((case_id, process))
        return {k: f"M[{v}]" if isinstance(v, str) else v for k, v in data.items()}

    def text(self, process: str, text: str | None) -> str | None:
        return None if text is None else f"T[{process}:{text}]"

    def actor_id(self, actor_id: str, role: str) -> str:
        return f"A[{role}:{actor_id}]"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))
    engine = builtin_stack(store, clock).engine
    agent = Actor("li", "agent")
    c = engine.open("service_request", actor=agent, case_id="sr-1", data={
        "channel": "phone", "customer_ref": "CUST-77", "description": "door"})
    clock.advance(minutes=5)
    engine.fire(c, "register", actor=agent, data={
        "request_type": "repair", "need": "hinge", "contact": "ring twice"},
        comment="asked for mornings")
    return store


def _written(store: MemoryStore, fmt: str, tmp_path, masker: Any = None) -> str:  # type: ignore[no-untyped-def]
    if fmt == "ocel-sqlite":
        path = tmp_path / f"{fmt}-{masker is not None}.sqlite"
        export.write_ocel_sqlite(store, path, customer_field="customer_ref", masker=masker)
        db = sqlite3.connect(path)
        try:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                              "WHERE type='table' ORDER BY name")]
            return "\n".join(f"{t}: {row!r}" for t in names
                             for row in db.execute(f'SELECT * FROM "{t}"'))
        finally:
            db.close()
    out = io.StringIO()
    kwargs: dict[str, Any] = {"customer_field": "customer_ref"} if fmt == "ocel-json" else {}
    writer = {"xes": export.write_xes, "csv": export.write_csv,
              "ocel-json": export.write_ocel_json}[fmt]
    writer(store, out, masker=masker, **kwargs)
    return out.getvalue()


FORMATS = ["xes", "csv", "ocel-json", "ocel-sqlite"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_writer_shows_the_maskers_view(store, fmt, tmp_path):
    masker = Marking()
    text = _written(store, fmt, tmp_path, masker)
    assert "M[ring twice]" in text and "ring twice" not in text.replace("M[ring twice]", "")
    assert "A[agent:li]" in text
    # labelled, in the output's own text (CSV has fixed columns and no place for it)
    assert (LABEL in text) is (fmt != "csv")
    assert {c for c, _ in masker.calls} == {"sr-1"}
    assert {p for _, p in masker.calls} == {"service_request"}
    if fmt in ("xes", "csv"):  # OCEL has no comment attribute
        assert "T[service_request:asked for mornings]" in text
    if fmt.startswith("ocel"):  # the customer object is named by the masked reference
        assert "customer:M[CUST-77]" in text and "customer:CUST-77" not in text
    if fmt == "ocel-json":
        assert json.loads(text)["servicewf:masking"] == LABEL
    if fmt == "ocel-sqlite":
        assert f"servicewf_masking: ({LABEL!r},)" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_a_masker_the_export_is_what_the_store_holds(store, fmt, tmp_path):
    text = _written(store, fmt, tmp_path)
    assert "ring twice" in text and "M[" not in text and "servicewf_masking" not in text
    assert "servicewf:masking" not in text
    if fmt in ("xes", "csv"):
        assert "asked for mornings" in text
    if fmt.startswith("ocel"):
        assert "customer:CUST-77" in text
    if fmt == "ocel-json":
        assert "servicewf:masking" not in json.loads(text)


@pytest.mark.parametrize("masked", [False, True])
def test_csv_rows_are_the_events_fields(store, masked):
    import csv

    masker = Marking() if masked else None
    out = io.StringIO()
    assert export.write_csv(store, out, masker=masker) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    events = store.history("sr-1")
    assert [(r["trigger"], r["source"], r["dest"], r["role"]) for r in rows] == [
        (e.trigger or "", e.source or "", e.dest, e.role) for e in events]
    assert rows[1]["trigger"] == "register" and rows[1]["source"] == "received"
    # the data column is JSON with sorted keys (stable across runs and stores)
    keys = list(json.loads(rows[1]["data"]))
    assert keys == sorted(keys) and len(keys) == 3
    assert rows[1]["comment"] == ("T[service_request:asked for mornings]" if masked
                                  else "asked for mornings")
