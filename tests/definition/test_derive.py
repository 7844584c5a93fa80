from __future__ import annotations

import pytest

from servicewf import Guard, InvalidDefinition
from servicewf.diagrams import dot, mermaid
from tests.helpers import ticket_definition


def test_derive_changes_without_touching_the_original():
    base = ticket_definition()
    vip = Guard("vip", lambda ctx: ctx.value("tier") == "VIP", explain="VIP customers only")
    derived = (
        base.derive(name="vip_ticket")
        .add_state("waiting", "Waiting on customer")
        .add_transition("wait", "in_progress", "waiting")
        .add_transition("resume", "waiting", "in_progress")
        .add_guard(vip)
        .update_transition("finish", roles=("manager",), required=("summary",))
        .relabel_state("done", zh_hans="已办结")
        .remove_transition("revise")
        .build()
    )
    assert derived.name == "vip_ticket" and derived.version == 2
    assert "revise" not in derived.triggers and "revise" in base.triggers
    assert derived.compiled.options("finish", "in_progress")[0].roles == ("manager",)
    assert base.compiled.options("finish", "in_progress")[0].roles == ("supervisor",)
    assert derived.state("done").label("zh_hans") == "已办结"
    assert derived.state("done").label("zh_hant") == "已完成"


def test_removing_a_state_removes_its_transitions_and_reports_new_problems():
    with pytest.raises(InvalidDefinition) as info:
        ticket_definition().derive().remove_state("in_progress").build()
    assert "state 'planned' is a trap" not in str(info.value)  # cancel still leads out
    assert "finish" not in str(info.value)


def test_derive_rejects_unknown_names():
    with pytest.raises(KeyError, match="no transition 'nope'"):
        ticket_definition().derive().update_transition("nope", roles=("x",))
    with pytest.raises(KeyError, match="no state 'nope'"):
        ticket_definition().derive().relabel_state("nope", en="x")


def test_diagrams_use_labels_and_mark_finals():
    d = ticket_definition()
    m = mermaid(d, lang="zh_hant")
    assert m.startswith("stateDiagram-v2")
    assert 'state "已登記" as registered' in m
    assert "[*] --> received" in m and "done --> [*]" in m
    assert "registered --> planned: plan" in m  # unlabelled transitions fall back to the trigger
    g = dot(d, lang="en")
    assert 'done [label="Done", shape=doublecircle];' in g
    assert "__start -> received;" in g
    assert g.count("->") == 1 + len({(s, t) for s, t in _pairs(d)})


def _pairs(d):
    from servicewf.definition.validation import expand_sources

    for t in d.transitions:
        for s in expand_sources(t, d.states):
            yield s, t.target(s)
