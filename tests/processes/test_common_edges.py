"""Edges of the shared process helpers and notice templates (each test pins a behaviour a
surviving mutant broke)."""

from __future__ import annotations

import pendulum

from servicewf import Actor, Case
from servicewf.context import CommandContext
from servicewf.processes import builtin_registry
from servicewf.processes.common import SATISFACTION, fields_guard, instant_guard
from servicewf.processes.notices import Template, _plain_value

NOW = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")


def _ctx(**data: object) -> CommandContext:
    definition = builtin_registry().get("consultation")
    case = Case("c1", "consultation", 1, "received", 1, NOW, NOW)
    return CommandContext(case, definition, "answer", Actor("a", "agent"), data, NOW)


def test_satisfaction_scores_map_at_their_boundaries() -> None:
    assert [SATISFACTION.normalise(x) for x in (5, 4.5, 4.49, 3.5, 3.49, 2.5, 2.49, 1)] == [
        "very_satisfied", "very_satisfied", "satisfied", "satisfied", "neutral", "neutral",
        "dissatisfied", "dissatisfied"]
    assert SATISFACTION.normalise(0) is None and SATISFACTION.normalise(6) is None
    assert "_index" not in repr(SATISFACTION)  # the lookup index is not part of the value


def test_an_instant_exactly_now_is_not_in_the_past() -> None:
    g = instant_guard("due", not_before_now=True)
    assert g(_ctx(due=NOW.isoformat()))
    assert not g(_ctx(due=NOW.subtract(microseconds=1).isoformat()))
    assert not g(_ctx(due="not a time"))


def test_zero_and_false_are_values_not_blanks() -> None:
    g = fields_guard("given", ("score", "flag"), rule="r", explain="e")
    assert g(_ctx(score=0, flag=False))
    assert not g(_ctx(score=0, flag=[]))
    assert not g(_ctx(score="  ", flag=True))


def test_templates_show_a_dash_for_a_missing_field_and_text_for_other_values() -> None:
    t = Template({"en": "{case_id}: {missing}"}, {"en": "{when}"})
    out = t.render({"case_id": "c1", "when": None})
    assert out == {"subject": {"en": "c1: —"}, "body": {"en": "—"}}
    assert _plain_value(pendulum.date(2026, 3, 2)) == "2026-03-02"
    assert _plain_value(3) == 3 and _plain_value(None) is None


def test_a_notice_reads_the_deadline_of_the_clock_its_event_names() -> None:
    from servicewf.clock import epoch_us, from_epoch_us
    from servicewf.events import Event, EventKind
    from servicewf.processes.notices import _clock_of

    first, second = NOW.add(days=1), NOW.add(days=3)
    sla = {"clocks": [{"name": "acknowledge", "deadline": epoch_us(first)},
                      {"name": "resolve", "deadline": epoch_us(second)}]}
    case = Case("c1", "complaint", 1, "recorded", 2, NOW, NOW, extensions={"sla": sla})

    def event(**data: object) -> Event:
        return Event("c1", 2, NOW, EventKind.CLOCK_WARNING, "servicewf", "system", None,
                     "recorded", "recorded", data)

    text = from_epoch_us(epoch_us(second)).isoformat()
    assert _clock_of(case, event(clock="resolve")) == {"deadline": text, "new_deadline": text}
    assert _clock_of(case, event(clock="follow_up")) == {}
    assert _clock_of(case, event()) == {}
    bare = Case("c2", "complaint", 1, "recorded", 2, NOW, NOW)
    assert _clock_of(bare, event(clock="resolve")) == {}
