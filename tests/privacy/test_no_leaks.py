"""No classified value in a repr, an error message, a log line, or a view for a role that
may not see it."""

from __future__ import annotations

import logging
import re

import pendulum
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicewf import Actor, CommandRefused, MemoryStore
from servicewf.context import CommandContext
from servicewf.privacy import FieldClass, RedactingFilter, builtin_catalogues
from servicewf.processes import builtin_registry
from servicewf.storage import OutboxMessage, Timer
from tests.contract.backends import case, moved

from .support import AGENT, privacy_stack

PHONE = "13812345678"
NAME = "陈小明"


def test_reprs_of_cases_events_contexts_timers_and_messages_name_fields_not_values():
    # Before: attrs' default repr printed every value of data, comments and payloads.
    c = case("c1", data={"contact": PHONE, "signer": NAME})
    e = moved("c1", 2, "new", "done", data={"contact": PHONE}, comment=f"call {PHONE}")
    ctx = CommandContext(c, builtin_registry().get("service_request"), "register",
                         Actor("li", "agent"), {"contact": PHONE}, c.updated_at,
                         f"call {PHONE}")
    t = Timer("c1", "sla:x", c.updated_at, "ticket", {"contact": PHONE})
    m = OutboxMessage("m1", "c1", 2, "notice", "customer", {"to": PHONE, "name": NAME},
                      created_at=c.updated_at)
    for value in (c, e, ctx, t, m):
        text = repr(value)
        assert PHONE not in text and NAME not in text, text
    assert "'contact': …" in repr(c) and "'contact': …" in repr(e)
    assert c.data["contact"] == PHONE  # the value itself is untouched


roles = st.sampled_from(["agent", "supervisor", "finance", "customer", "technician", "dpo",
                         "manager", "auditor"])
# At least four distinct digits: a shrunk "15000000000" is also a substring of SLA durations
# in microseconds in the case's extensions (a coincidence, not a leak).
phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).filter(lambda p: len(set(p)) >= 4)


def shows(phone: str, text: str) -> bool:
    """Whether ``text`` shows ``phone`` as a number of its own: "13200000000" inside the
    epoch microseconds 1772413200000000 of an SLA instant is a coincidence, not a leak."""
    return re.search(rf"(?<![0-9]){phone}(?![0-9])", text) is not None
names = st.text(alphabet="陈李王张刘小明华芳", min_size=2, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phones, names, st.lists(roles, min_size=1, max_size=4))
# Drawn once in a full run: the epoch microseconds of the stack's clock, 1772413200000000,
# hold it (the plain substring check called that a leak).
@example("13200000000", "陈小明", ["agent", "supervisor"])
def test_views_histories_and_exports_never_show_a_class_to_a_role_that_may_not_see_it(
        phone, name, readers):
    stack, privacy, _clock = privacy_stack(MemoryStore())
    engine = stack.engine
    ref = f"C-{phone[-6:]}"
    c = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": ref, "description": f"customer {name} rang"})
    c = privacy.fire(engine, c, "register", actor=AGENT, data={
        "request_type": "repair", "need": "fix", "contact": phone},
        comment=f"call back on {phone}")
    catalogue = builtin_catalogues().for_process("service_request")
    for role in readers:
        reader = Actor(f"r-{role}", role)
        sees = catalogue.may_see(role, FieldClass.PERSONAL)
        outputs = [repr(privacy.view(c, reader)), repr(privacy.history(c.id, reader)),
                   repr(privacy.masker(reader, purpose="report")(c.id, c.process, c.data))]
        for text in outputs:
            # the stored case and its events hold only sealed tokens...
            assert shows(phone, text) is sees and (ref in text) is sees, (role, text)
        # ...and every unmasked read was audited, naming fields, never values
        records = privacy.access_log.records(actor_id=reader.id)
        assert bool(records) is sees
        assert not any(shows(phone, repr(r)) for r in records)
    for text in (repr(c), repr(engine.history(c.id)), repr(engine.get(c.id).data)):
        assert not shows(phone, text) and ref not in text  # names in free text: not recognisable


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phones, names, st.sampled_from(["register", "confirm", "cancel", "reject",
                                       "request_info", "nonsense"]),
       st.sampled_from(["contact", "customer_ref", "signer", "need", "reason", "due"]),
       st.sampled_from(["agent", "customer", "technician"]))
def test_no_refusal_message_carries_a_classified_value(phone, name, trigger, field, role):
    stack, privacy, _clock = privacy_stack(MemoryStore())
    engine = stack.engine
    c = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "description": "fix the door"})
    for value in (phone, name, {"nested": phone}, [name, phone]):
        for through_privacy in (False, True):
            try:
                if through_privacy:
                    privacy.fire(engine, c, trigger, actor=Actor("x", role), data={field: value})
                else:
                    engine.fire(c, trigger, actor=Actor("x", role), data={field: value})
            except CommandRefused as refused:
                text = f"{refused} {refused!r} {vars(refused)}"
                assert not shows(phone, text) and name not in text, text


def test_a_clear_personal_field_is_refused_on_every_path_naming_the_field_not_the_value():
    from servicewf import PersonalDataUnsealed

    stack, privacy, _clock = privacy_stack(MemoryStore())
    engine = stack.engine
    with pytest.raises(PersonalDataUnsealed) as refused:
        engine.open("service_request", actor=AGENT, data={
            "channel": "phone", "customer_ref": "C-1", "description": "door"})
    assert refused.value.fields == ("customer_ref",) and "C-1" not in str(refused.value)
    c = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "description": "door"})
    with pytest.raises(PersonalDataUnsealed) as refused:
        engine.fire(c, "register", actor=AGENT, data={
            "request_type": "repair", "need": "x", "contact": PHONE})
    assert refused.value.fields == ("contact",)
    with pytest.raises(PersonalDataUnsealed) as refused:
        engine.record(c, "note", actor=AGENT, comment=f"she said call {PHONE}")
    assert refused.value.fields == ("comment",) and PHONE not in str(refused.value)
    assert engine.get(c.id).version == 1  # nothing was written


def test_the_redacting_filter_cleans_log_lines(caplog):
    logger = logging.getLogger("servicewf.test_privacy")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="servicewf.test_privacy"):
        logger.info("hook failed for %s at %s", PHONE, "chen@example.com")
        logger.info("nothing personal here: %d cases", 3)
    assert caplog.messages == ["hook failed for [mobile] at [email]",
                               "nothing personal here: 3 cases"]


def test_library_log_lines_of_a_sweep_carry_no_case_data(caplog):
    stack, privacy, clock = privacy_stack(MemoryStore())
    c = privacy.open(stack.engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-77", "description": f"call {PHONE}"})
    clock.set(clock.now() + pendulum.duration(days=40))
    with caplog.at_level(logging.DEBUG, logger="servicewf"):
        stack.sweeper.run()
    assert stack.engine.get(c.id).version > 1  # the sweep did act
    assert all(PHONE not in r.getMessage() and "C-77" not in r.getMessage()
               for r in caplog.records)
