"""The consent ledger's records (written against mutation-test survivors)."""

from __future__ import annotations

import pytest

from servicewf import FieldNotOwned, MemoryStore
from servicewf.privacy import ConsentLedger, consent_case_id, consent_definition

from .support import AGENT, CUSTOMER, privacy_stack


def test_the_consent_process_is_version_one_and_owns_its_fields():
    definition = consent_definition()
    assert definition.key == ("consent", 1) and definition.owned_fields
    stack, privacy, _ = privacy_stack(MemoryStore())
    ledger = ConsentLedger(stack.engine, privacy)
    case = ledger.give("C-1", "service", scope="contact", channel="web", actor=CUSTOMER)
    assert case.definition_version == 1
    with pytest.raises(FieldNotOwned):  # a withdrawal cannot rewrite the purpose
        stack.engine.fire(case, "withdraw", actor=CUSTOMER,
                          data={"channel": "web", "purpose": "marketing"})


def test_scope_text_is_one_item_and_evidence_is_kept_only_when_given():
    stack, privacy, clock = privacy_stack(MemoryStore())
    ledger = ConsentLedger(stack.engine, privacy)
    ledger.give("C-1", "service", scope="contact", channel="web", actor=CUSTOMER)
    clock.advance(minutes=1)
    ledger.give("C-1", "service", scope={"contact", "address"}, channel="phone",
                actor=AGENT, consent_version="2", evidence="rec-17")
    clock.advance(minutes=1)
    ledger.withdraw("C-1", "service", channel="app", actor=CUSTOMER, evidence="app-form-3")
    first, second, third = ledger.records("C-1", "service")
    assert first.scope == ["contact"] and second.scope == ["address", "contact"]
    assert (first.consent_version, second.consent_version) == ("1", "2")
    assert (first.channel, second.channel, third.channel) == ("web", "phone", "app")
    assert third.action == "withdrawn" and third.recorded_by == CUSTOMER.id
    history = stack.engine.history(consent_case_id(privacy.subject_ref("C-1"), "service"))
    assert "evidence" not in history[0].data
    assert history[1].data["evidence"] == "rec-17" and history[2].data["evidence"] == "app-form-3"
