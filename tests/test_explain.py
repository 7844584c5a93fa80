"""servicewf.explain: refusals in plain words, in English, 繁體 and 简体, from the refusal's
attributes and the definition's labels — never with a data value or the case id."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.errors import (
    CaseMismatch,
    CommandRefused,
    DataMissing,
    EventNotRecordable,
    FieldNotOwned,
    GuardFailed,
    HookFailed,
    InvalidData,
    InvalidIdentifier,
    MigrationRefused,
    RoleNotPermitted,
    StaleVersion,
    TimeOutOfOrder,
    TriggerNotAllowed,
    UnknownTrigger,
)
from servicewf.explain import LANGUAGES, explain, language
from servicewf.processes import builtin_definitions
from servicewf.processes.explanations import GUARD_EXPLANATIONS
from tests.helpers import START, ticket_definition

CJK = re.compile(r"[\u4e00-\u9fff]")
TRADITIONAL_ONLY = re.compile("[須們這處說確記錄擇時間據權範審檔級層戶]")
SIMPLIFIED_ONLY = re.compile("[须们这处说确记录择时间据权范审档级层户]")
AGENT = Actor("a1", "agent")


def refused(call) -> CommandRefused:
    with pytest.raises(CommandRefused) as info:
        call()
    return info.value


@pytest.fixture
def engine() -> Engine:
    return Engine(MemoryStore(), FrozenClock(START), [ticket_definition()])


def test_language_aliases() -> None:
    assert language("zh") == language("zh-TW") == language("ZH_HANT") == "zh_hant"
    assert language("zh-CN") == "zh_hans" and language("en") == "en"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        language("fr")


def test_every_builtin_guard_explains_itself_in_three_languages() -> None:
    for definition in builtin_definitions():
        for name, guard in definition.guards.items():
            en, hant, hans = (guard.explanation(lang) for lang in LANGUAGES)
            assert en == guard.explain and en, (definition.name, name)
            assert CJK.search(hant) and CJK.search(hans), (definition.name, name)
            # No script mix-ups: characters that exist only in the other script.
            assert not TRADITIONAL_ONLY.search(hans), (definition.name, name, hans)
            assert not SIMPLIFIED_ONLY.search(hant), (definition.name, name, hant)


def test_the_catalogue_names_only_guards_that_exist() -> None:
    known = {(d.name, n) for d in builtin_definitions() for n in d.guards}
    assert set(GUARD_EXPLANATIONS) <= known


def test_a_state_the_trigger_does_not_leave_is_named_by_its_labels(engine: Engine) -> None:
    case = engine.open("ticket", actor=AGENT)
    refusal = refused(lambda: engine.fire(case, "start", actor=AGENT))
    assert isinstance(refusal, TriggerNotAllowed)
    definition = engine.registry.get("ticket")
    assert explain(refusal, definition=definition) == (
        "start is not possible in the state Received; possible there: register, cancel")
    hant = explain(refusal, definition=definition, lang="zh_hant")
    assert "「已接收」" in hant and "register、cancel" in hant
    # Without the definition, the names as they are.
    assert "state received" in explain(refusal)


def test_a_failed_guard_gives_its_explanation_and_rule(engine: Engine) -> None:
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
    refusal = refused(lambda: engine.fire(case, "start", actor=AGENT))
    assert isinstance(refusal, GuardFailed)
    definition = engine.registry.get("ticket")
    assert explain(refusal, definition=definition) == (
        "the customer must approve the plan first (rule C3 (000 §2.4))")
    assert explain(refusal) == explain(refusal, definition=definition)  # from the refusal
    assert explain(refusal, cite_rule=False) == "the customer must approve the plan first"
    assert explain(refusal, lang="zh_hans").endswith("（规则 C3 (000 §2.4)）")


def test_builtin_refusal_in_chinese_cites_the_rule() -> None:
    from servicewf.processes import builtin_registry, open_case
    from servicewf.processes.complaint import definition as complaint

    engine = Engine(MemoryStore(), FrozenClock(START), builtin_registry())
    case = open_case(engine, "complaint", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "content": "late"})
    case = engine.fire(case, "record", actor=AGENT, data={"tracker": "a1",
                                                          "first_receiver": "a1"})
    refusal = refused(lambda: engine.fire(case, "classify", actor=AGENT, data={
        "complaint_type": "product", "level": "no-such-level", "scope": "external"}))
    assert isinstance(refusal, GuardFailed) and refusal.guard == "level_known"
    for lang, rule in (("zh_hant", "（規則 vocabulary"), ("zh_hans", "（规则 vocabulary")):
        text = explain(refusal, definition=complaint(), lang=lang)
        assert text.startswith("level 須為已知取值之一" if lang == "zh_hant"
                               else "level 须为已知取值之一") and rule in text
        assert "no-such-level" not in text
    moved = explain(refused(lambda: engine.fire(case, "archive", actor=AGENT)),
                    definition=complaint(), lang="zh_hans")
    assert "“已登记”" in moved


@pytest.mark.parametrize(("make", "en"), [
    (lambda: DataMissing("m", case_id="c", trigger="t", missing=("a", "b")),
     "required information is missing: a, b"),
    (lambda: RoleNotPermitted("m", case_id="c", trigger="t", role="customer",
                              allowed=("agent", "manager")),
     "the role customer may not do this; ask someone with the role agent, manager"),
    (lambda: RoleNotPermitted("m", case_id="c", trigger="t", role="customer", allowed=()),
     "the role customer may not do this"),
    (lambda: FieldNotOwned("m", case_id="c", trigger="t", fields=("tier",)),
     "t may not change these fields: tier"),
    (lambda: StaleVersion.for_case("c", 1, 2), "someone else changed the case meanwhile: "
     "reload it and try again"),
    (lambda: UnknownTrigger("m", case_id="c", trigger="zap"), "the process has no step zap"),
    (lambda: CommandRefused("m", case_id="c"), "the command was refused"),
    (lambda: InvalidIdentifier("m", what="actor id"), "the actor id is not a valid identifier"),
    (lambda: HookFailed("m", case_id="c", trigger="t", hook="before_commit:publish"),
     "an integration check stopped the command (before_commit:publish)"),
    (lambda: MigrationRefused("m"), "the case cannot move to that version of its process"),
    (lambda: CaseMismatch("m", case_id="c"),
     "the case shown is not the stored one: reload it and try again"),
    (lambda: TimeOutOfOrder("m", case_id="c"), "the time is earlier than the case's last event"),
    (lambda: EventNotRecordable("m"), "this kind of event cannot be recorded here"),
])
def test_each_refusal_class_has_a_sentence_in_every_language(make, en) -> None:
    refusal = make()
    assert explain(refusal) == en
    for lang in ("zh_hant", "zh_hans"):
        assert CJK.search(explain(refusal, lang=lang))


SECRET = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N")), min_size=6,
                 max_size=12).map(lambda s: "S3CR3T" + s)


@settings(max_examples=40, deadline=None)
@given(secret=SECRET, lang=st.sampled_from(LANGUAGES))
def test_no_data_value_ever_appears_in_an_explanation(secret: str, lang: str) -> None:
    engine = Engine(MemoryStore(), FrozenClock(START), [ticket_definition()])
    definition = engine.registry.get("ticket")
    case = engine.open("ticket", actor=AGENT, data={"name": secret})
    refusals = [
        refused(lambda: engine.fire(case, "start", actor=AGENT, data={"approved": secret})),
        refused(lambda: engine.fire(case, "register", actor=AGENT,
                                    data={"request_type": float("nan"), "x": secret})),
        refused(lambda: engine.fire(case, "finish", actor=Actor(secret[:20], "agent"))),
    ]
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": secret})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": secret})
    refusals.append(refused(lambda: engine.fire(case, "start", actor=AGENT,
                                                data={"approved": secret})))
    assert {type(r) for r in refusals} >= {TriggerNotAllowed, InvalidData, GuardFailed}
    for refusal in refusals:
        text = explain(refusal, definition=definition, lang=lang)
        assert secret not in text and secret[:10] not in text
        assert "case-" not in text and case.id not in text
