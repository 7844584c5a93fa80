"""History replay: facts checked against the definition, every deviation recorded, written
through the engine's import mode on every store."""

from __future__ import annotations

import pendulum
import pytest

from servicewf import Actor, Engine, FrozenClock
from servicewf.errors import (
    CaseAlreadyExists,
    HistoryMismatch,
    TimeOutOfOrder,
)
from servicewf.events import Event, EventKind
from servicewf.interop import HISTORY_DEVIATION, ColumnMap, import_log, read_log

from ..contract.backends import BACKENDS, make_store
from .helpers import engine_for, ticket

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
ACT = ColumnMap(case="case", activity="act", time="at", actor="who", role="role",
                data=["priority", "solution"])
STATE = ColumnMap(case="case", state="status", time="at", actor="who")


def rows(case, *steps, key="act"):
    return [{"case": case, key: s[0], "at": T.add(hours=i).isoformat(), "who": "ann",
             "role": s[1] if len(s) > 1 else "agent", **(s[2] if len(s) > 2 else {})}
            for i, s in enumerate(steps)]


@pytest.fixture(params=BACKENDS)
def store(request):
    yield from make_store(request.param, request)


def test_a_fitting_history_is_written_and_replays(store):
    engine = engine_for(store)
    log = read_log(rows("c1", ("start", "agent", {"priority": "high"}), ("wait",), ("resume",),
                        ("resolve", "agent", {"solution": "reboot"}), ("close", "lead")), ACT)
    result = import_log(engine, log, "ticket")
    assert result.cases == {"c1": ()} and result.cases_fitting == 1
    case = engine.get("c1")
    assert (case.state, case.version, case.data["solution"]) == ("closed", 6, "reboot")
    history = engine.history("c1")
    assert [e.trigger for e in history] == [None, "start", "wait", "resume", "resolve", "close"]
    assert history[1].at == T and history[-1].at == T.add(hours=4)
    assert history[-1].role == "lead"
    assert (history[0].actor_id, history[0].role) == ("ann", "agent")  # the log's own role
    from servicewf.engine import replay
    assert replay(ticket(), history).state == "closed"


def test_every_deviation_is_recorded_and_the_case_goes_on(store):
    engine = engine_for(store)
    log = read_log(rows("c1",
                        ("start",),                                # guard R1 fails
                        ("resolve", "agent"),                      # solution missing
                        ("fly",),                                  # unknown trigger
                        ("close", "customer"),                     # role not permitted
                        ("resume",)), ACT)                         # after final
    result = import_log(engine, log, "ticket")
    kinds = [(d.kind, d.rule, d.seq, d.row) for d in result.cases["c1"]]
    assert kinds == [("guard_failed", "R1", 2, 1), ("data_missing", None, 4, 2),
                     ("unknown_trigger", None, 6, 3), ("role_not_permitted", None, 8, 4),
                     ("after_final", None, 10, 5)]
    case = engine.get("c1")
    # The facts were applied: resume leads only to working, so that is where the case is.
    assert case.state == "working"
    history = engine.history("c1")
    recorded = [e for e in history if e.kind is HISTORY_DEVIATION]
    assert [e.data["deviation"] for e in recorded] == [d[0] for d in kinds]
    assert all(e.actor_id == "servicewf" and e.data["seq"] == e.seq - 1 for e in recorded)
    assert "[R1]" in recorded[0].data["reason"]


def test_state_logs_repeat_is_a_data_update_and_in_flight_opens(store):
    engine = engine_for(store)
    data = [*rows("c1", ("working",), ("working", "", {"x": 1}),
                    ("resolved", "", {"solution": "s"}), key="status"),
            *rows("c2", ("new",), ("closed",), key="status")]
    cols = ColumnMap(case="case", state="status", time="at", actor="who", data=["x", "solution"])
    result = import_log(engine, read_log(data, cols), "ticket", in_flight=True)
    assert result.cases["c1"] == ()
    h = engine.history("c1")
    assert [(e.kind, e.dest) for e in h] == [
        (EventKind.OPENED, "working"), (EventKind.NOTE, "working"),
        (EventKind.TRANSITION, "resolved")]
    assert h[2].trigger == "resolve" and engine.get("c1").data == {"x": 1, "solution": "s"}
    # new -> closed: no trigger leads there; recorded, the case is closed all the same
    [d] = result.cases["c2"]
    assert (d.kind, d.state, d.label) == ("not_in_graph", "new", "closed")
    assert engine.get("c2").state == "closed"
    assert engine.history("c2")[1].trigger == "import"


def test_not_in_flight_a_later_first_state_is_judged_as_a_move(store):
    engine = engine_for(store)
    result = import_log(engine, read_log(rows("c1", ("waiting",), key="status"), STATE),
                        "ticket")
    [d] = result.cases["c1"]
    assert d.kind == "not_in_graph" and d.state == "new"
    assert [e.dest for e in engine.history("c1")][:2] == ["new", "waiting"]
    assert engine.history("c1")[0].role == "import"  # the log names no role


def test_unknown_state_is_a_deviation(store):
    engine = engine_for(store)
    result = import_log(engine, read_log(rows("c1", ("limbo",), key="status"), STATE),
                        "ticket", in_flight=True)
    assert [d.kind for d in result.cases["c1"]] == ["unknown_state"]


def test_import_refuses_an_existing_case_and_live_clock_still_guards(store):
    engine = engine_for(store)
    log = read_log(rows("c1", ("start", "agent", {"priority": "p"})), ACT)
    import_log(engine, log, "ticket")
    with pytest.raises(CaseAlreadyExists):
        import_log(engine, log, "ticket")
    # The live path still refuses a clock before the case's last change.
    live = Engine(store, FrozenClock(T.subtract(days=1)), [ticket()])
    with pytest.raises(TimeOutOfOrder):
        live.fire("c1", "wait", actor=Actor("ann", "agent"))


def test_plan_history_checks_what_every_write_must_hold():
    from servicewf.storage import MemoryStore
    engine = engine_for(MemoryStore())
    from servicewf.case import Case
    opened = Event("c1", 1, T, EventKind.OPENED, "a", "agent", None, None, "new")
    moved = Event("c1", 2, T.subtract(hours=1), EventKind.TRANSITION, "a", "agent", "start",
                  "new", "working")
    case = Case("c1", "ticket", 1, "working", 2, T, T.subtract(hours=1))
    with pytest.raises(TimeOutOfOrder, match="sort the case's events"):
        engine.plan_history(case, [opened, moved])
    gap = Event("c1", 3, T, EventKind.TRANSITION, "a", "agent", "start", "new", "working")
    with pytest.raises(HistoryMismatch, match="breaks the sequence") as info:
        engine.plan_history(Case("c1", "ticket", 1, "working", 3, T, T), [opened, gap])
    assert (info.value.case_id, info.value.seq) == ("c1", 3)
    with pytest.raises(HistoryMismatch, match="first event"):
        engine.plan_history(Case("c1", "ticket", 1, "new", 1, T, T), [moved.__class__(
            "c1", 1, T, EventKind.TRANSITION, "a", "agent", "x", "new", "new")])
    with pytest.raises(HistoryMismatch, match="at least one"):
        engine.plan_history(Case("c1", "ticket", 1, "new", 1, T, T), [])
    with pytest.raises(HistoryMismatch, match="not at its last event"):
        engine.plan_history(Case("c1", "ticket", 1, "new", 2, T, T), [opened])
    write = engine.plan_history(Case("c1", "ticket", 1, "new", 1, T, T), [opened])
    assert write.expected_version == 0 and write.events == (opened,)


def test_replay_names_case_and_seq():
    bad = [Event("c9", 1, T, EventKind.OPENED, "a", "agent", None, None, "new"),
           Event("c9", 2, T, EventKind.TRANSITION, "a", "agent", "close", "new", "closed")]
    from servicewf.engine import replay
    with pytest.raises(HistoryMismatch) as info:
        replay(ticket(), bad)
    assert (info.value.case_id, info.value.seq) == ("c9", 2)


def test_plan_history_checks_data_a_caller_froze_by_hand():
    from types import MappingProxyType

    from servicewf.case import Case
    from servicewf.errors import InvalidData
    from servicewf.storage import MemoryStore
    engine = engine_for(MemoryStore())
    bad = Event("c1", 1, T, EventKind.OPENED, "a", "agent", None, None, "new",
                MappingProxyType({"x": float("nan")}))
    with pytest.raises(InvalidData):
        engine.plan_history(Case("c1", "ticket", 1, "new", 1, T, T), [bad])
    with pytest.raises(InvalidData):
        engine.plan_history(Case("c1", "ticket", 1, "new", 1, T, T,
                                 MappingProxyType({"y": float("inf")})),
                            [Event("c1", 1, T, EventKind.OPENED, "a", "agent", None, None,
                                   "new")])


def test_judge_checks_plain_dict_data_and_reports_refusals():
    from servicewf.case import Case
    from servicewf.errors import InvalidData
    from servicewf.storage import MemoryStore
    engine = engine_for(MemoryStore())
    case = Case("c1", "ticket", 1, "working", 2, T, T)
    moved, refusal = engine.judge(case, "resolve", actor=Actor("a", "agent"),
                                  data={"solution": float("nan")}, at=T)
    assert moved is None and isinstance(refusal, InvalidData)
    moved, refusal = engine.judge(case, "resolve", actor=Actor("a", "agent"),
                                  data={"solution": "x"}, at=T)
    assert refusal is None and moved.dest == "resolved"


def test_replay_case_reports_fit_and_first_divergence_without_writing():
    from servicewf.events import SYSTEM_KINDS
    from servicewf.interop import replay_case
    from servicewf.storage import MemoryStore

    store = MemoryStore()
    engine = engine_for(store)
    log = read_log([*rows("ok", ("start", "agent", {"priority": "p"}), ("wait",)),
                    *rows("bad", ("wait",), ("start",))], ACT)
    good = replay_case(engine, ticket(), "ok", log.cases["ok"], mode="activity")
    assert good.fits and good.first_divergence is None
    assert (good.case.state, good.case.version) == ("waiting", 3)
    bad = replay_case(engine, ticket(), "bad", log.cases["bad"], mode="activity")
    assert not bad.fits
    # wait is not allowed from new, but it leads only to waiting: the case is there next
    assert [(d.kind, d.state) for d in bad.deviations] == [
        ("trigger_not_allowed", "new"), ("trigger_not_allowed", "waiting")]
    assert bad.first_divergence == bad.deviations[0]
    assert bad.first_divergence.to_dict() == {
        "case_id": "bad", "seq": 2, "row": 3, "kind": "trigger_not_allowed", "rule": None,
        "state": "new", "label": "wait", "reason": bad.deviations[0].reason}
    assert store.read_log() == []  # replaying writes nothing
    # Deviations are recorded by the system actor alone: no role can forge or hide them.
    assert HISTORY_DEVIATION in SYSTEM_KINDS and HISTORY_DEVIATION.system


def test_a_state_log_opening_without_intake_data_is_a_deviation():
    from servicewf import DefinitionBuilder
    from servicewf.storage import MemoryStore

    intake = (DefinitionBuilder("ticket", 1).add_state("new", initial=True)
              .add_state("working").add_state("closed", final=True)
              .set_intake(["customer"])
              .add_transition("start", "new", "working")
              .add_transition("close", "working", "closed").build())
    engine = engine_for(MemoryStore(), intake)
    cols = ColumnMap(case="case", state="status", time="at", data=["customer"])
    data = [*rows("c1", ("new", "", {"customer": "K1"}), ("working",), key="status"),
            *rows("c2", ("new",), ("working",), key="status"),
            *rows("c3", ("working", "", {"customer": "K3"}), key="status")]
    result = import_log(engine, read_log(data, cols), "ticket", in_flight=True)
    assert result.cases["c1"] == () and result.cases["c3"] == ()
    [d] = result.cases["c2"]
    assert (d.kind, d.seq, d.row) == ("data_missing", 1, 3)
    assert "customer" in d.reason


def test_batches_are_committed_as_progress_says():
    from servicewf.storage import MemoryStore

    store = MemoryStore()
    engine = engine_for(store)
    data = [r for i in range(5) for r in rows(f"c{i}", ("start", "agent", {"priority": "p"}))]
    seen: list[tuple[int, int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total, len({e.case_id for _, e in store.read_log()})))

    import_log(engine, read_log(data, ACT), "ticket", batch=2, progress=progress)
    assert seen == [(2, 5, 2), (4, 5, 4), (5, 5, 5)]


def test_a_repeated_final_state_is_after_final():
    from servicewf.storage import MemoryStore

    engine = engine_for(MemoryStore())
    cols = ColumnMap(case="case", state="status", time="at", data=["x"])
    data = rows("c1", ("closed",), ("closed", "", {"x": 1}), key="status")
    result = import_log(engine, read_log(data, cols), "ticket", in_flight=True)
    assert [(d.kind, d.seq) for d in result.cases["c1"]] == [("after_final", 2)]
    assert engine.get("c1").data == {"x": 1}
