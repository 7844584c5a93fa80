"""The checker agrees with pm4py's conformance_declare (AGPL: a test dependency only) on every
template both support: per case, the set of violated constraints is the same, on generated
logs, on the BPIC 2013 incidents log and on the demo's history."""

from __future__ import annotations

import collections

import pandas as pd
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf.compliance import History, Verdict, check
from servicewf.events import Event, EventKind
from tests.compliance.declare_models import BPIC, BPIC_MODEL, model_over, rule_id, rules_of

pm4py = pytest.importorskip("pm4py")

T0 = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


def pm4py_violations(frame: pd.DataFrame, model) -> dict[str, set[str]]:
    result = pm4py.conformance_declare(frame, model)
    ids = sorted(frame["case:concept:name"].unique())  # pm4py's order: sorted case ids
    assert len(ids) == len(result)
    return {cid: {rule_id(t, k) for t, k in r["deviations"]}
            for cid, r in zip(ids, result, strict=True)}


def our_violations(histories, model, **kw) -> dict[str, set[str]]:
    report = check(histories, rules_of(model), **kw)
    out: dict[str, set[str]] = collections.defaultdict(set)
    for o in report.outcomes:
        if o.verdict is Verdict.VIOLATED:
            out[o.case_id].add(o.rule)
    return out


def frame_of(histories) -> pd.DataFrame:
    rows = [(h.case_id, e.trigger, e.at) for h in histories for e in h.events]
    return pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp"])


def history(cid: str, acts: list[str]) -> History:
    return History(cid, None, [Event(cid, i, T0.add(minutes=i), EventKind.TRANSITION, "u",
                                     "agent", a, None, a) for i, a in enumerate(acts, 1)])


MODEL = model_over("a", "b", "c", "d")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcde"), min_size=1, max_size=9), min_size=1,
                max_size=80))
def test_agrees_on_generated_logs(traces):
    histories = [history(f"c{n:03d}", list(t)) for n, t in enumerate(traces)]
    theirs = pm4py_violations(frame_of(histories), MODEL)
    ours = our_violations(histories, MODEL)
    for h in histories:
        assert ours[h.case_id] == theirs[h.case_id], [e.trigger for e in h.events]


@pytest.mark.skipif(not BPIC.exists(), reason=f"BPIC 2013 log not found at {BPIC}")
def test_agrees_on_the_bpic_2013_incidents():
    from tests.compliance.declare_models import bpic_histories

    histories, frame = bpic_histories()
    assert len(histories) == 7554 and sum(len(h.events) for h in histories) == 65533
    theirs = pm4py_violations(frame, BPIC_MODEL)
    ours = our_violations(histories, BPIC_MODEL)
    disagree = [h.case_id for h in histories if ours[h.case_id] != theirs[h.case_id]]
    assert disagree == []
    assert sum(map(len, theirs.values())) > 1000  # the model is not trivially satisfied


def test_agrees_on_the_demo_history(tmp_path):
    from servicewf.demo import run_demo
    from servicewf.storage.sql import SQLStore

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(cases=80, days=4, db=db)
    store = SQLStore(db)
    try:
        histories = [History(c.id, c.process, store.history(c.id))
                     for p in ("service_request", "complaint") for c in store.find(process=p)]
    finally:
        store.close()
    rows = [(h.case_id, e.trigger or ("open" if e.kind is EventKind.OPENED else e.kind.value),
             e.at) for h in histories for e in h.events]
    frame = pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp"])
    model = model_over("open", "record", "classify", "reopen")
    for template in ("response", "precedence", "succession", "chainresponse"):
        model[template][("register", "confirm")] = {}
        model[template][("give_feedback", "close")] = {}
    model["absence"]["clock_breached"] = {}
    theirs = pm4py_violations(frame, model)
    ours = our_violations(histories, model, complete=True)
    assert {h.case_id: ours[h.case_id] for h in histories} == \
        {h.case_id: theirs[h.case_id] for h in histories}
    assert any(theirs.values())
