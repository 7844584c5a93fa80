"""Rules as plain data (schema, round trip, every problem named), the built-in catalogue as a
value, the incremental monitor inside the engine, and ``servicewf check``."""

from __future__ import annotations

import json

import jsonschema
import pytest

from servicewf import Actor, FrozenClock, MemoryStore
from servicewf.cli import main
from servicewf.compliance import (
    RULE_SCHEMA,
    RULES_SCHEMA,
    Alert,
    ComplianceMonitor,
    Precedence,
    Verdict,
    builtin_catalogue,
    builtin_environment,
    guideline_rules,
    rule_from_data,
    rule_to_data,
    rules_from_data,
    rules_to_data,
)
from servicewf.errors import InvalidRule
from servicewf.processes.stack import builtin_stack
from servicewf.testing import drive, open_case
from servicewf.testing.plugin import START


def test_every_built_in_rule_round_trips_through_plain_data():
    rules = list(builtin_catalogue())
    data = json.loads(json.dumps(rules_to_data(rules), ensure_ascii=False))
    jsonschema.Draft202012Validator(RULES_SCHEMA).validate(data)
    assert rules_from_data(data) == rules
    for r in rules:
        jsonschema.Draft202012Validator(RULE_SCHEMA).validate(rule_to_data(r))


def test_plain_data_problems_are_all_named_and_nothing_is_evaluated():
    with pytest.raises(InvalidRule) as err:
        rules_from_data({"rules": [
            {"template": "precedence", "id": "A", "source": "x"},          # no target
            {"template": "eval", "id": "B"},                               # unknown template
            {"template": "data", "id": "C", "activity": "close",
             "check": [{"field": "f", "op": "is", "value": "__import__('os')"}]},
            {"template": "response", "id": "D", "source": "a", "target": "b",
             "extra": 1},
        ]})
    text = str(err.value)
    assert "rule 0 (A)" in text and "target" in text
    assert "rule 1 (B)" in text
    assert "rule 2 (C)" in text and "unknown predicate" in text
    assert "rule 3 (D)" in text and "unknown key" in text
    rule = rule_from_data({"template": "precedence", "id": "C8", "cites": "001 §7.3",
                           "text": {"en": "Feedback first", "zh": "先反饋"},
                           "processes": ["complaint"], "source": "give_feedback",
                           "target": "close"})
    assert rule == Precedence(id="C8", cites="001 §7.3", text_en="Feedback first",
                              text_zh="先反饋", processes=("complaint",),
                              source="give_feedback", target="close")
    assert rule.text("zh") == "先反饋"


def test_the_catalogue_is_a_value_integrators_change():
    cat = builtin_catalogue()
    assert {f"C{i}" for i in range(1, 16)} | {"R1"} <= set(cat.ids)
    assert any(i.startswith("T:complaint.") for i in cat.ids)
    smaller = cat.remove("C14")
    assert "C14" not in smaller and "C14" in cat
    stricter = cat.override(Precedence(id="C6", source="confirm_classification",
                                       target=("acknowledge", "investigate")))
    assert stricter["C6"].target == ("acknowledge", "investigate")
    assert stricter.ids == cat.ids
    with pytest.raises(InvalidRule):
        cat.add(Precedence(id="C6", source="a", target="b"))
    with pytest.raises(KeyError):
        cat.remove("C99")
    assert all("complaint" in r.processes or not r.processes
               for r in cat.for_process("complaint"))
    assert {r.id for r in guideline_rules()} <= set(cat.ids)


def test_the_monitor_alerts_when_a_case_becomes_possibly_violated():
    clock = FrozenClock(START)
    engine = builtin_stack(MemoryStore(), clock).engine
    alerts: list[Alert] = []
    monitor = ComplianceMonitor(builtin_catalogue(), env=builtin_environment(),
                                on_alert=alerts.append).attach(engine)
    case = drive(engine, open_case(engine, "complaint"), to="closed")
    # closed: the 30-day follow-up clock runs, the case can still comply
    follow = monitor.verdicts(case.id)["T:complaint.follow_up"]
    assert follow.verdict is Verdict.POSSIBLY_VIOLATED
    # each clock alerted while it ran (possibly violated), nothing else did
    raised = [(a.outcome.rule, a.outcome.verdict) for a in alerts if a.case_id == case.id]
    assert {r for r, _ in raised} == {"T:complaint.record", "T:complaint.acknowledge",
                                      "T:complaint.resolve", "T:complaint.follow_up"}
    assert {v for _, v in raised} == {Verdict.POSSIBLY_VIOLATED}
    # every verdict the monitor holds equals the batch checker's on the stored history
    from servicewf.compliance import History, check

    batch = check([History(case.id, "complaint", engine.history(case.id), False)],
                  builtin_catalogue(), env=builtin_environment(),
                  as_of=engine.get(case.id).updated_at)
    assert {o.rule: o for o in batch.outcomes} == monitor.verdicts(case.id)
    # time passes without the follow-up: the next command shows the breach
    clock.advance(days=40)
    case = engine.fire(case, "follow_up", actor=Actor("wang", "agent"),
                       data={"follow_up_result": "ok"})
    assert monitor.verdicts(case.id)["T:complaint.follow_up"].verdict is Verdict.VIOLATED
    assert alerts[-1].outcome.rule == "T:complaint.follow_up"
    assert alerts[-1].outcome.verdict is Verdict.VIOLATED


def test_servicewf_check_on_a_demo_database(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", db, "--cases", "40", "--days", "3", "--no-progress"]) == 0
    capsys.readouterr()
    code = main(["check", "--db", db, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] >= 40
    rows = {r["id"]: r for r in out["rules"]}
    for key in ("id", "cites", "activations", "fulfilments", "violations", "pending",
                "violating_cases"):
        assert all(key in r for r in out["rules"])
    assert code == (1 if any(r["violations"] for r in out["rules"]) else 0)
    # the guards of the engine keep every guideline rule: no violation of C1–C15
    assert all(rows[f"C{i}"]["violations"] == 0 for i in range(1, 16))
    assert main(["check", "--db", db, "--process", "complaint"]) in (0, 1)
    table = capsys.readouterr().out
    assert "C9" in table and "C2" not in table.split("What the rules say")[0]
    assert main(["check", "--db", db, "--format", "html"]) in (0, 1)
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_servicewf_check_exit_codes_and_bad_invocations(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    main(["demo", "--db", db, "--cases", "10", "--days", "2", "--no-progress"])
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [
        {"template": "existence", "id": "never", "activity": "no_such_activity"}]}))
    capsys.readouterr()
    assert main(["check", "--db", db, "--only-rules", str(rules), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["rules"][0]["violating_cases"]
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"rules": [
        {"template": "absence", "id": "no_x", "activity": "no_such_activity"}]}))
    assert main(["check", "--db", db, "--only-rules", str(ok)]) == 0
    assert main(["check", "--db", db, "--as-of", "2026-09-14T10:00:00"]) == 2
    assert "no zone" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"template": "response", "id": "x"}]}))
    assert main(["check", "--db", db, "--only-rules", str(bad)]) == 2
    assert main(["check", "--db", str(tmp_path / "x.db")]) == 2
