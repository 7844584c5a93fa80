"""Every rule of every built-in process, refused by name and passed when complied with.

The table (``rule_table.py``) is written by hand from the guidelines. For each step this file
checks that the compliant command reaches its state and stores its data, that each refusal
names the guard and rule (or the missing field, or the allowed roles) that said no and changes
nothing, and that the table covers every guard, required field and role restriction of the
definitions (so a rule added without a test, or removed, fails here).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from servicewf import (
    Actor,
    Case,
    CommandRefused,
    DataMissing,
    Engine,
    GuardFailed,
    MemoryStore,
    RoleNotPermitted,
    TriggerNotAllowed,
)
from servicewf.processes import builtin_definitions
from tests.processes.rule_table import (
    PROCESS_TABLE,
    Advance,
    Bad,
    Expect,
    Fire,
    G,
    M,
    PathItem,
    Process,
    R,
    Reserved,
    Step,
    step_for,
)
from tests.processes.support import Harness

DEFINITIONS = {d.name: d for d in builtin_definitions()}


# --- running the table ----------------------------------------------------------------------


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def open_case(h: Harness, name: str, overrides: Mapping[str, Any] = {}, *,
              bare: bool = False) -> Case:
    """Open a case with the table's intake and ``overrides``; ``bare`` opens it on the
    definition without intake checks (for the guards that re-check the intake)."""
    if bare:
        derived = DEFINITIONS[name].derive(version=1).set_intake(()).own_fields(False).build()
        h.engine = Engine(MemoryStore(), h.clock, [derived])
    data = _clean({**PROCESS_TABLE[name].intake, **overrides})
    return h.engine.open(name, actor=Actor("desk", "agent"), data=data)


def fire(h: Harness, case: Case, trigger: str, data: Mapping[str, Any], role: str,
         by: str | None = None) -> Case:
    return h.engine.fire(case, trigger, actor=Actor(by or f"{role}-1", role), data=data)


def walk(h: Harness, process: Process, case: Case, path: tuple[PathItem, ...]) -> Case:
    for item in path:
        if isinstance(item, Advance):
            h.clock.advance(days=item.days)
        elif isinstance(item, Fire):
            case = fire(h, case, item.trigger, item.data, item.role)
        else:
            step = step_for(process, item)
            case = fire(h, case, step.trigger, step.data, step.role, step.by)
    return case


def check_refusal(refusal: CommandRefused, expect: Expect, trigger: str) -> None:
    """The refusal is the expected one: its exact class and what it names."""
    assert refusal.trigger == trigger
    if isinstance(expect, G):
        assert type(refusal) is GuardFailed, refusal
        assert (refusal.guard, refusal.rule) == (expect.guard, expect.rule), refusal
    elif isinstance(expect, M):
        assert type(refusal) is DataMissing, refusal
        assert refusal.missing == expect.missing
    elif isinstance(expect, R):
        assert type(refusal) is RoleNotPermitted, refusal
        assert refusal.allowed == expect.allowed
    else:
        # A field another command owns (the one place to adapt when ownership is enforced by
        # the engine rather than by the reserved_fields guard).
        assert isinstance(expect, Reserved)
        assert type(refusal) is GuardFailed, refusal
        assert (refusal.guard, refusal.rule) == ("reserved_fields", "audit integrity")


def _reserved_row(process: Process, step: Step) -> Bad | None:
    for field, (owners, value) in process.reserved.items():
        if step.trigger not in owners:
            return Bad(Reserved(), {field: value})
    return None


def refusal_rows(name: str) -> Iterator[tuple[str, Step | None, Bad]]:
    """``(id, step, refusal)``; ``step`` is ``None`` for the intake."""
    process = PROCESS_TABLE[name]
    for f in process.intake_needs:
        yield f"{name}-open-needs-{f}", None, Bad(M((f,)), intake={f: None})
    for j, row in enumerate(process.intake_refusals):
        yield f"{name}-open-{j}", None, row
    for i, step in enumerate(process.steps):
        for f in step.needs:
            yield f"{name}-{i}-{step.trigger}-needs-{f}", step, Bad(M((f,)), {f: None})
        for j, row in enumerate(step.refusals):
            yield f"{name}-{i}-{step.trigger}-{j}", step, row
        reserved = _reserved_row(process, step) if step is step_for(process, step.trigger) \
            else None
        if reserved is not None:
            yield f"{name}-{i}-{step.trigger}-reserved", step, reserved


REFUSALS = [pytest.param(name, step, row, id=rid)
            for name in PROCESS_TABLE for rid, step, row in refusal_rows(name)]
STEPS = [pytest.param(name, step, id=f"{name}-{i}-{step.trigger}")
         for name, process in PROCESS_TABLE.items() for i, step in enumerate(process.steps)]


@pytest.mark.parametrize(("name", "step"), STEPS)
def test_compliant_step_reaches_its_state_and_stores_its_data(name: str, step: Step) -> None:
    h = Harness()
    process = PROCESS_TABLE[name]
    case = walk(h, process, open_case(h, name, step.intake), step.at)
    source = case.state
    case = fire(h, case, step.trigger, step.data, step.role, step.by)
    assert case.state == step.dest
    for field, value in step.data.items():
        assert case.data[field] == value
    last = h.history(case)[-1]
    assert (last.trigger, last.source, last.dest) == (step.trigger, source, step.dest)
    assert dict(last.data) == dict(step.data)
    assert last.role == step.role


@pytest.mark.parametrize(("name", "step", "row"), REFUSALS)
def test_refusal_names_its_rule(name: str, step: Step | None, row: Bad) -> None:
    h = Harness()
    process = PROCESS_TABLE[name]
    if step is None:  # the intake
        with pytest.raises(CommandRefused) as err:
            open_case(h, name, {**row.intake, **row.data}, bare=row.bare)
        check_refusal(err.value, row.expect, "open")
        return
    case = open_case(h, name, {**step.intake, **row.intake}, bare=row.bare)
    case = walk(h, process, case, step.at if row.path is None else row.path)
    seen = len(h.history(case))
    role = row.role or step.role
    with pytest.raises(CommandRefused) as err:
        fire(h, case, step.trigger, _clean({**step.data, **row.data}), role, row.by or step.by)
    check_refusal(err.value, row.expect, step.trigger)
    assert h.engine.get(case.id) == case  # a refused command changes nothing
    assert len(h.history(case)) == seen


# --- the table covers every rule of the definitions -------------------------------------------


def _covered_guards(process: Process) -> set[tuple[str, str]]:
    covered = {("open", row.expect.guard) for row in process.intake_refusals
               if isinstance(row.expect, G)}
    for step in process.steps:
        for row in step.refusals:
            if isinstance(row.expect, G):
                covered.add((step.trigger, row.expect.guard))
            covered.update((step.trigger, g) for g in row.covers)
        if step is step_for(process, step.trigger) and _reserved_row(process, step):
            covered.add((step.trigger, "reserved_fields"))
    return covered


@pytest.mark.parametrize("name", list(PROCESS_TABLE))
def test_table_covers_every_guard_of_every_transition(name: str) -> None:
    definition, process = DEFINITIONS[name], PROCESS_TABLE[name]
    pairs = {(t.trigger, g) for t in definition.transitions for g in (*t.conditions, *t.unless)}
    pairs |= {("open", g) for g in definition.intake_guards}
    assert set(process.unreachable) <= pairs, "an 'unreachable' entry names no guard in use"
    missing = pairs - _covered_guards(process) - set(process.unreachable)
    assert not missing, f"{name}: no refusal row for (trigger, guard) {sorted(missing)}"
    unused = set(definition.guards) - {g for _, g in pairs}
    assert not unused, f"{name}: guards defined but never used {sorted(unused)}"


@pytest.mark.parametrize("name", list(PROCESS_TABLE))
def test_table_names_every_required_field(name: str) -> None:
    definition, process = DEFINITIONS[name], PROCESS_TABLE[name]
    required = {(t.trigger, f) for t in definition.transitions for f in t.required}
    required |= {("open", f) for f in definition.intake}
    table = {(s.trigger, f) for s in process.steps for f in s.needs}
    table |= {("open", f) for f in process.intake_needs}
    assert table == required


@pytest.mark.parametrize("name", list(PROCESS_TABLE))
def test_table_names_every_role_restriction(name: str) -> None:
    definition, process = DEFINITIONS[name], PROCESS_TABLE[name]
    restricted = {(t.trigger, tuple(sorted(t.roles))) for t in definition.transitions
                  if t.roles}
    table = {(s.trigger, r.expect.allowed) for s in process.steps for r in s.refusals
             if isinstance(r.expect, R)}
    assert table == restricted
    # and each restricted step has a compliant row fired by an allowed role
    for step in process.steps:
        roles = {r for t in definition.transitions if t.trigger == step.trigger
                 for r in t.roles}
        assert not roles or step.role in roles


@pytest.mark.parametrize("name", list(PROCESS_TABLE))
def test_table_has_a_compliant_step_for_every_trigger_and_state(name: str) -> None:
    definition, process = DEFINITIONS[name], PROCESS_TABLE[name]
    assert {s.trigger for s in process.steps} == set(definition.triggers)
    assert {s.dest for s in process.steps} | {definition.initial.id} == {
        s.id for s in definition.states}


def test_every_built_in_process_has_a_table() -> None:
    assert set(PROCESS_TABLE) == set(DEFINITIONS)


# Where each process ends (the catalogue's closing states): a case there is closed.
ENDS = {
    "service_request": {"archived", "cancelled", "rejected"},
    "complaint": {"invalid", "archived"},
    "consultation": {"closed", "transferred"},
    "service_problem": {"reviewed"},
    "incident": {"closed"},
    "after_sales": {"closed"},
    "improvement_action": {"closed"},
    "survey_campaign": {"actions_raised"},
    "obligation": {"ended"},
    "contract": {"sealed"},
    "contract_change": {"refused", "filed"},
    "customer_data_change": {"applied", "rejected"},
    "access_grant": {"revoked"},
}


@pytest.mark.parametrize("name", list(PROCESS_TABLE))
def test_a_case_ends_where_the_process_ends_and_nowhere_else(name: str) -> None:
    """The closing states are final and accept nothing (not even an any-state trigger such
    as cancel); every other state has a way out."""
    definition = DEFINITIONS[name]
    assert {s.id for s in definition.states if definition.is_final(s.id)} == ENDS[name]
    for state in definition.states:
        exits = definition.compiled.triggers_by_state.get(state.id, ())
        assert (state.id in ENDS[name]) == (not exits), state.id


# --- rules kept by the shape of the machine ---------------------------------------------------

# (process, path, trigger, why): the trigger is not offered where the path ends.
NOT_YET = [
    ("service_request", ("register", "confirm", "propose_plan"), "start",
     "C3 (000 §2.4): no work before the customer agrees the plan"),
    ("service_request", ("register", "confirm", "propose_plan", "agree_plan", "revise_plan"),
     "start", "C3: a revised plan must be agreed again"),
    ("service_request", ("register",), "start", "C2: type, priority, owner and due first"),
    ("service_request", ("register", "confirm", "propose_plan", "agree_plan", "start"),
     "accept", "C4 (001 §3.3): deliver before acceptance"),
    ("service_request", ("register", "confirm", "propose_plan", "agree_plan", "start",
                         "deliver"), "archive", "001 §3.4: follow up before archiving"),
    ("complaint", ("record", "classify"), "acknowledge",
     "C6 (000 §5.2): a supervisor confirms the classification first"),
    ("complaint", ("record",), "acknowledge", "C6: classify first"),
    ("complaint", ("record", "classify", "confirm_classification"), "resolve",
     "C7 (000 §5.2): acknowledge to the customer before resolving"),
    ("complaint", (), "classify", "C10 (001 §7.1–7.2): record with a tracker first"),
    ("complaint", ("record", "classify", "confirm_classification", "acknowledge",
                   "investigate", "resolve"), "close", "C8 (001 §7.3): feedback first"),
    ("complaint", ("record", "classify", "confirm_classification"), "classify",
     "000 §5.2-2: a confirmed classification is not changed"),
    ("service_problem", ("report", "analyse", "resolve"), "archive",
     "C12 (000 §3.3): verify before archiving"),
    ("service_problem", ("report",), "resolve", "000 §3.3: analyse before resolving"),
    ("service_problem", ("report", "analyse", "resolve", "verify"), "review",
     "001 §4.2: archive before the review"),
    ("incident", ("classify", "respond", "recover"), "review",
     "003 §10.3: customers notified before review"),
    ("incident", ("classify",), "update_customers", "progress updates while responding"),
    ("after_sales", ("classify", "prioritise", "assign", "dispatch", "resolve"), "close",
     "004 §6: the customer is told the result and followed up first"),
    ("after_sales", ("classify", "prioritise"), "dispatch", "004 §1: assigned first"),
    ("improvement_action", (), "start", "C13 (001 §4.3): plan first"),
    ("improvement_action", ("plan", "start"), "close", "PDCA: checked (驗收) before closing"),
    ("contract", ("draft",), "sign", "003 §7.1: reviewed before signing"),
    ("contract", ("draft", "submit_review"), "seal", "signed before sealing"),
    ("contract_change", (), "agree", "003 §7.1: negotiated first"),
    ("contract_change", ("negotiate",), "file", "agreed and signed before filing"),
    ("customer_data_change", (), "apply", "002 §2.1: only after approval"),
    ("customer_data_change", (), "approve", "submitted for approval first"),
    ("access_grant", (), "activate", "002 §7.2: approved before active"),
    ("access_grant", ("approve",), "audit", "audits of active access"),
    ("access_grant", ("revoke",), "approve", "revoked is final"),
    ("survey_campaign", ("dispatch",), "analyse", "responses collected first"),
    ("survey_campaign", ("dispatch", "collect"), "raise_actions",
     "001 §4.1: reported at a meeting before actions"),
    ("consultation", ("answer", "close"), "transfer", "closed is final"),
    ("obligation", ("end",), "fulfil", "an ended obligation is no longer owed"),
]


@pytest.mark.parametrize(("name", "path", "trigger", "why"), NOT_YET,
                         ids=[f"{n}-{t}-{i}" for i, (n, _p, t, _w) in enumerate(NOT_YET)])
def test_trigger_not_offered_before_its_time(name: str, path: tuple[str, ...], trigger: str,
                                             why: str) -> None:
    h = Harness()
    process = PROCESS_TABLE[name]
    case = walk(h, process, open_case(h, name), path)
    step = step_for(process, trigger)
    with pytest.raises(TriggerNotAllowed) as err:
        fire(h, case, trigger, step.data, step.role, step.by)
    assert (err.value.trigger, err.value.state) == (trigger, case.state), why
    assert trigger not in err.value.allowed
    assert h.engine.get(case.id) == case


# --- guards the built-in machine cannot reach, kept for derived definitions -------------------


def _derived_engine(h: Harness, name: str, trigger: str, source: str, sources: tuple[str, ...]
                    ) -> None:
    """An engine whose ``name`` also offers ``trigger`` from ``source`` (a derivation that
    skips a step); the guard must still refuse."""
    b = DEFINITIONS[name].derive(version=1)
    b.update_transition(trigger, source, sources=sources)
    h.engine = Engine(MemoryStore(), h.clock, [b.build()])


def test_classification_confirmed_on_a_derivation() -> None:
    h = Harness()
    _derived_engine(h, "complaint", "acknowledge", "confirmed", ("classified", "confirmed"))
    case = walk(h, PROCESS_TABLE["complaint"], open_case(h, "complaint"),
                ("record", "classify"))
    with pytest.raises(GuardFailed) as err:
        fire(h, case, "acknowledge", step_for(PROCESS_TABLE["complaint"], "acknowledge").data,
             "agent")
    assert (err.value.guard, err.value.rule) == ("classification_confirmed", "C6 (000 §5.2)")


def test_plan_agreed_on_a_derivation() -> None:
    h = Harness()
    _derived_engine(h, "service_request", "start", "plan_agreed", ("planned", "plan_agreed"))
    process = PROCESS_TABLE["service_request"]
    case = walk(h, process, open_case(h, "service_request"),
                ("register", "confirm", "propose_plan"))
    with pytest.raises(GuardFailed) as err:
        fire(h, case, "start", step_for(process, "start").data, "agent")
    assert (err.value.guard, err.value.rule) == ("plan_agreed", "C3 (000 §2.4)")


def test_problem_verified_on_a_derivation() -> None:
    h = Harness()
    _derived_engine(h, "service_problem", "archive", "verified", ("resolved", "verified"))
    process = PROCESS_TABLE["service_problem"]
    case = walk(h, process, open_case(h, "service_problem"), ("report", "analyse", "resolve"))
    with pytest.raises(GuardFailed) as err:
        fire(h, case, "archive", step_for(process, "archive").data, "agent")
    assert (err.value.guard, err.value.rule) == ("problem_verified", "C12 (000 §3.3)")


def test_plan_complete_on_a_derivation() -> None:
    h = Harness()
    _derived_engine(h, "improvement_action", "start", "planned", ("identified", "planned"))
    case = open_case(h, "improvement_action")
    with pytest.raises(GuardFailed) as err:
        fire(h, case, "start", {}, "agent")
    assert (err.value.guard, err.value.rule) == ("plan_complete", "C13 (001 §4.3)")
