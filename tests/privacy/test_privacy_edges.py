"""Edges of the privacy facade: who may record its events, ids as well as cases, the
processor on migrations and system events, the SQL vault under a race."""

from __future__ import annotations

import pytest

from servicewf import SYSTEM, Actor, MemoryStore, RoleNotPermitted
from servicewf.privacy import (
    ERASED,
    PERSONAL_DATA_ERASED,
    RETENTION_PURGED,
    ConsentLedger,
    consent_case_id,
)
from servicewf.privacy.vault import is_sealed, key_id_of

from .support import AGENT, CUSTOMER, privacy_stack


def test_the_erasure_and_purge_events_are_system_kinds_no_role_can_record():
    assert PERSONAL_DATA_ERASED.system and RETENTION_PURGED.system
    stack, privacy, _ = privacy_stack(MemoryStore())
    case = privacy.open(stack.engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "question": "hours?"})
    for kind in (PERSONAL_DATA_ERASED, RETENTION_PURGED):
        with pytest.raises(RoleNotPermitted):
            stack.engine.record(case, kind, actor=Actor("boss", "admin"), data={})


def test_fire_by_id_seals_under_the_cases_subject_and_the_subject_is_found_again():
    stack, privacy, _ = privacy_stack(MemoryStore())
    engine = stack.engine
    case = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-5", "description": "door"})
    case = privacy.fire(engine, case.id, "register", actor=AGENT, data={
        "request_type": "repair", "need": "x", "contact": "13812345678"})
    ref = privacy.subject_ref("C-5")
    assert privacy.case_subject(case) == ref
    key = privacy.vault.get(key_id_of(case.data["contact"]) or "")
    assert key is not None and key.subject == ref and key.case_id == case.id
    assert privacy.vault.cases_of(ref) == [case.id]


def test_a_case_without_a_subject_is_sealed_under_its_own_key_and_purged_with_it():
    stack, privacy, _ = privacy_stack(MemoryStore())
    engine = stack.engine
    # an incident names no customer: free text with a phone number is sealed per case
    case = privacy.open(engine, "incident", actor=AGENT, data={
        "description": "caller 13812345678 reports smoke"}, case_id="inc-1")
    assert is_sealed(case.data["description"])
    assert privacy.case_subject(case) is None
    assert privacy.vault.shred_case("inc-1") == 1
    assert privacy.view(case, AGENT)["data"]["description"] == ERASED


def test_system_events_and_notes_without_personal_data_pass_the_processor():
    stack, privacy, _ = privacy_stack(MemoryStore())
    engine = stack.engine
    case = privacy.open(engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "question": "hours?"})
    case = engine.record(case, "note", actor=AGENT, comment="asked about hours")
    case = engine.record(case, PERSONAL_DATA_ERASED, actor=SYSTEM, data={"scope": "test"})
    assert case.version == 3


def test_consent_can_be_retired_and_the_case_id_holds_no_subject_id():
    stack, privacy, _ = privacy_stack(MemoryStore())
    ledger = ConsentLedger(stack.engine, privacy)
    ledger.give("13812345678", "marketing", scope="sms", channel="web", actor=CUSTOMER)
    cid = consent_case_id(privacy.subject_ref("13812345678"), "marketing")
    assert "13812345678" not in cid and ledger.active("13812345678", "marketing")
    stack.engine.fire(cid, "retire", actor=AGENT, data={"reason": "campaign ended"})
    assert not ledger.active("13812345678", "marketing")
    assert ledger.records("nobody", "marketing") == []
    with pytest.raises(RoleNotPermitted):
        privacy.erase(stack.engine, "13812345678", actor=CUSTOMER, reason="x")


def test_a_view_of_an_erased_case_audits_nothing():
    stack, privacy, _ = privacy_stack(MemoryStore())
    engine = stack.engine
    case = privacy.open(engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-8", "question": "hours?"})
    privacy.erase(engine, "C-8", actor=Actor("d", "dpo"), reason="asked")
    view = privacy.view(case.id, AGENT)
    assert view["data"]["customer_ref"] == ERASED
    assert privacy.access_log.records(case_id=case.id) == []


def test_the_sql_vault_returns_the_key_a_concurrent_writer_created(tmp_path):
    from servicewf.privacy.sql import SQLVault
    from servicewf.storage.sql import SQLStore

    store = SQLStore.sqlite(tmp_path / "s.db")
    first, second = SQLVault.beside(store), SQLVault.beside(store)
    created = first.key_for("s", "c")
    # the second vault's read misses (it ran before the first one's insert), its insert
    # collides with the first one's, and it reads and returns the winner
    original = second._find
    calls: list[int] = []

    def miss_once(subject, case_id):  # type: ignore[no-untyped-def]
        calls.append(1)
        return None if len(calls) == 1 else original(subject, case_id)

    second._find = miss_once  # type: ignore[method-assign]
    assert second.key_for("s", "c") == created and len(calls) == 2
    assert first.cases_of("s") == ["c"] and first.shred_case("c") == 1
    assert first.get(created.key_id) is None
    store.close()


def test_personal_data_deep_in_a_long_text_is_still_refused_in_clear():
    from servicewf import PersonalDataUnsealed

    stack, privacy, _ = privacy_stack(MemoryStore())
    case = privacy.open(stack.engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "question": "hours?"})
    long_text = "x" * 5_000 + " call 13812345678"
    with pytest.raises(PersonalDataUnsealed) as refused:
        stack.engine.record(case, "note", actor=AGENT, comment=long_text)
    assert refused.value.fields == ("comment",)
    sealed = privacy.seal_comment(case.id, long_text, subject_ref=privacy.subject_ref("C-1"))
    assert stack.engine.record(case, "note", actor=AGENT, comment=sealed).version == 2


def test_seal_takes_the_subject_from_the_subject_field_unless_one_is_given():
    _stack, privacy, _ = privacy_stack(MemoryStore())
    data = {"customer_ref": "C-42", "contact": "13812345678", "need": "door"}
    sealed = privacy.seal("service_request", "c1", data)
    key = privacy.vault.get(key_id_of(sealed["contact"]) or "")
    assert key is not None and key.subject == privacy.subject_ref("C-42")
    assert sealed["need"] == "door"  # not classified, no personal text: as it is
    other = privacy.seal("service_request", "c2", data, subject="C-7")
    key = privacy.vault.get(key_id_of(other["contact"]) or "")
    assert key is not None and key.subject == privacy.subject_ref("C-7")
    none = privacy.seal("incident", "c3", {"description": "call 13812345678"})
    key = privacy.vault.get(key_id_of(none["description"]) or "")
    assert key is not None and key.subject.startswith("case:")
