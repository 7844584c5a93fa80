"""For every rule of the built-in catalogue the checker can be shown wrong on: compliant
histories made by a real engine (every guard passed) violate no rule, and the same histories
mutated to break one rule (servicewf.testing.mutate: an independent oracle of which events
must be reported) are reported as violating exactly that rule, at exactly those events."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from servicewf.compliance import (
    AllOf,
    Overdue,
    Verdict,
    builtin_environment,
    check,
    guideline_rules,
)
from servicewf.compliance.checker import History
from servicewf.processes import builtin_registry
from servicewf.testing import paths
from servicewf.testing.mutate import break_rule, mutable
from servicewf.testing.strategies import histories

REGISTRY = builtin_registry()
ENV = builtin_environment()
RULES = guideline_rules()
CASES = [(r, p) for r in RULES for p in r.processes]


def _activities(rule):
    names = set()
    for part in (rule.parts if isinstance(rule, AllOf) else (rule,)):
        for attr in ("activity", "source", "target"):
            names.update(getattr(part, attr, ()) or ())
    return names


def _main_end(definition):
    """The final state farthest from the start: the end of the main path (archived...)."""
    graph = paths(definition)
    finals = [s.id for s in definition.states if s.final]
    return max(finals, key=lambda f: len(graph.shortest(definition.initial.id, f) or ()))


def test_every_guideline_rule_can_be_broken_by_a_mutation():
    assert all(mutable(r) for r in RULES)
    assert {r.id for r in RULES} == {f"C{i}" for i in range(1, 16)} | {"R1"}


@pytest.mark.parametrize(("rule", "process"), CASES, ids=[f"{r.id}-{p}" for r, p in CASES])
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutation_is_reported_as_exactly_the_rule_it_breaks(rule, process, data):
    definition = REGISTRY.get(process)
    events = data.draw(histories(definition, through=_activities(rule),
                                 to=_main_end(definition)))
    clean = check([History(events[0].case_id, process, events)], RULES, registry=REGISTRY,
                  env=ENV)
    assert clean.violations == (), [o.reason for o in clean.violations]
    mutation = break_rule(events, rule)
    assume(mutation is not None and mutation.seqs)  # the history activates the rule
    assert mutation is not None
    report = check([History(events[0].case_id, process, mutation.events)], RULES,
                   registry=REGISTRY, env=ENV)
    assert report.violated_rules() == {rule.id}
    outcome = report.outcome(rule.id, events[0].case_id)
    assert outcome is not None and outcome.verdict is Verdict.VIOLATED
    assert set(outcome.violations) == set(mutation.seqs)


PROCESSES = ["service_request", "complaint", "incident", "after_sales", "service_problem",
             "improvement_action"]


@pytest.mark.parametrize("process", PROCESSES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_made_histories_violate_no_catalogue_rule(process, data):
    """The whole catalogue, timing rules included: a case handled within minutes meets every
    clock (the clocks still running are pending, not violated)."""
    from servicewf.compliance import builtin_catalogue

    definition = REGISTRY.get(process)
    events = data.draw(histories(definition, to=_main_end(definition)))
    report = check([History(events[0].case_id, process, events)], builtin_catalogue(),
                   registry=REGISTRY, env=ENV)
    assert report.violations == (), [(o.rule, o.reason) for o in report.violations]


OVERDUE = next(p for r in RULES if r.id == "C13" for p in r.parts if isinstance(p, Overdue))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_an_overdue_mutation_is_reported_at_exactly_the_late_step(data):
    """C13's second half (the overdue template): an improvement action re-planned after a
    deadline the mutation moved before it, without a cause analysis, violates C13 (and the
    overdue rule alone) at exactly the steps the mutation's oracle names."""
    definition = REGISTRY.get("improvement_action")
    events = data.draw(histories(definition, through=("mark_not_effective", "re_plan"),
                                 to=_main_end(definition)))
    mutation = break_rule(events, OVERDUE)
    assume(mutation is not None)
    assert mutation is not None and mutation.seqs  # the first re-plan, at least
    history = [History(events[0].case_id, "improvement_action", mutation.events)]
    report = check(history, RULES, registry=REGISTRY, env=ENV)
    assert report.violated_rules() == {"C13"}
    outcome = report.outcome("C13", events[0].case_id)
    assert outcome is not None and set(outcome.violations) == set(mutation.seqs)
    alone = check(history, [OVERDUE], registry=REGISTRY, env=ENV)
    found = alone.outcome(OVERDUE.id, events[0].case_id)
    assert found is not None and found.verdict is Verdict.VIOLATED
    assert set(found.violations) == set(mutation.seqs)
