"""Erasure by crypto-shredding, retention purges and consent, on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from servicewf import (
    Actor,
    ConsentMissing,
    RetentionNotDue,
    RoleNotPermitted,
    Store,
    replay,
)
from servicewf.errors import InvalidCatalogue
from servicewf.privacy import (
    ERASED,
    PERSONAL_DATA_ERASED,
    RETENTION_PURGED,
    Catalogue,
    ConsentLedger,
    RetentionPolicy,
    builtin_catalogues,
)
from servicewf.reporting import from_store
from servicewf.storage.sql import SQLStore
from tests.contract.backends import BACKENDS, make_store

from .support import AGENT, CUSTOMER, DPO, privacy_stack

PHONE_A, PHONE_B = "13812345678", "13998765432"
REF_A, REF_B = "CUST-A-4411", "CUST-B-9902"
CARD_A = "6222020200112233446"  # a UnionPay-like card number typed into a comment (Luhn-valid)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def _everything_stored(store: Store) -> str:
    """Every row of every table the store's database holds, as text."""
    if not isinstance(store, SQLStore):
        cases = [store.load(c.id) for c in store.find()]
        return repr([(c.id, dict(c.data), dict(c.extensions)) for c in cases]) + repr(
            [(e.data, e.comment) for c in cases for e in store.history(c.id)]) + repr(
            [t.payload for c in cases for t in store.timers(c.id)])
    meta = sa.MetaData()
    cases = store.tables.cases
    meta.reflect(store.engine, schema=cases.schema)
    prefix = cases.name.removesuffix("cases")
    out = []
    with store.engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name.startswith(prefix):
                out.extend(str(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(out)


def _a_life(stack, privacy, clock, ref: str, phone: str) -> str:  # type: ignore[no-untyped-def]
    engine = stack.engine
    c = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": ref, "description": f"call {phone}"})
    clock.advance(minutes=20)
    c = privacy.fire(engine, c, "register", actor=AGENT, data={
        "request_type": "repair", "need": "door", "contact": phone},
        comment=f"card {CARD_A} on file")
    clock.advance(minutes=20)
    c = privacy.fire(engine, c, "confirm", actor=AGENT, data={
        "priority": "普通", "owner": "li", "due": "2026-03-20T18:00:00+08:00",
        "time_limit_notice": "told by phone"})
    return c.id


def test_erasing_a_subject_shreds_its_values_everywhere_and_keeps_history_replayable(store):
    stack, privacy, clock = privacy_stack(store)
    engine = stack.engine
    a1 = _a_life(stack, privacy, clock, REF_A, PHONE_A)
    a2 = _a_life(stack, privacy, clock, REF_A, PHONE_A)
    b = _a_life(stack, privacy, clock, REF_B, PHONE_B)
    stored = _everything_stored(store)
    for value in (PHONE_A, REF_A, PHONE_B, REF_B, CARD_A):
        assert value not in stored  # sealed from the start, in every table
    before = {cid: (engine.get(cid), stack.sla.recompute(engine, cid)) for cid in (a1, a2, b)}
    clock.advance(hours=1)
    with pytest.raises(RoleNotPermitted):
        privacy.erase(engine, REF_A, actor=AGENT, reason="asked")
    assert sorted(privacy.erase(engine, REF_A, actor=DPO, reason="PIPL Art. 47 request")) \
        == sorted([a1, a2])
    for cid in (a1, a2):
        view = privacy.view(cid, AGENT)
        assert view["data"]["contact"] == ERASED and view["data"]["customer_ref"] == ERASED
        rows = privacy.history(cid, AGENT)
        assert rows[1]["comment"] == ERASED
        last = engine.history(cid)[-1]
        assert last.kind is PERSONAL_DATA_ERASED and last.data["requested_by"] == DPO.id
    # The other subject is untouched.
    assert privacy.view(b, AGENT)["data"]["contact"] == PHONE_B
    # Sequence, states, timings: replay, SLA recompute and the KPI inputs are unchanged.
    for cid, (case_before, clocks_before) in before.items():
        history = engine.history(cid)
        definition = engine.registry.get("service_request", 1)
        rebuilt = replay(definition, history)
        assert rebuilt.state == case_before.state
        assert [e.at for e in history if e.moves] == [
            e.at for e in engine.history(cid)[:case_before.version] if e.moves]
        assert stack.sla.recompute(engine, cid) == clocks_before
    # The subject's keys are gone from the vault: nothing left to decrypt with.
    assert privacy.vault.cases_of(privacy.subject_ref(REF_A)) == []
    # Erasing again is harmless (idempotent: nothing left to shred).
    assert privacy.erase(engine, REF_A, actor=DPO, reason="again") == []


def _kpis(report):  # type: ignore[no-untyped-def]
    return {name: table.to_list() for name, table in report.tables().items()}


def test_erasing_a_subject_leaves_every_kpi_as_it_was(store):
    stack, privacy, clock = privacy_stack(store)
    engine = stack.engine
    lives = [_a_life(stack, privacy, clock, ref, phone)
             for ref, phone in ((REF_A, PHONE_A), (REF_B, PHONE_B), (REF_A, PHONE_A))]
    clock.advance(days=2)
    stack.sweeper.run()  # SLA clocks warn and breach: the KPIs have verdicts to keep
    engine.fire(lives[1], "cancel", actor=AGENT, data={"reason": "duplicate"})
    # One report instant after the erasure, for the report before and after it (a report as
    # of an earlier instant would ignore the erasure events and prove nothing).
    as_of = clock.now().add(days=1)

    def report(masker=None):  # type: ignore[no-untyped-def]
        return from_store(store, sla=stack.sla, registry=engine.registry, as_of=as_of,
                          masker=masker)

    before, before_masked = report(), report(privacy.masker(AGENT, purpose="report"))
    assert before.cases == 3 and any(len(t) for t in before.tables().values())
    clock.advance(hours=1)
    erased = privacy.erase(engine, REF_A, actor=DPO, reason="PIPL Art. 47 request")
    assert len(erased) == 2
    after, after_masked = report(), report(privacy.masker(AGENT, purpose="report"))
    assert _kpis(after) == _kpis(before)
    assert _kpis(after_masked) == _kpis(before_masked) == _kpis(before)
    assert after.cases == before.cases
    assert after.events == before.events + len(erased)  # the erasure's audit events


def _close(stack, privacy, clock) -> str:  # type: ignore[no-untyped-def]
    engine = stack.engine
    c = privacy.open(engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": REF_A, "question": f"call {PHONE_A}?"})
    c = privacy.fire(engine, c, "answer", actor=AGENT, data={"answer": "yes"})
    c = privacy.fire(engine, c, "close", actor=AGENT)
    return c.id


def test_a_purge_before_the_three_year_floor_is_refused_and_after_it_leaves_an_audit_event(
        store):
    stack, privacy, clock = privacy_stack(store)
    engine = stack.engine
    open_case = _a_life(stack, privacy, clock, REF_B, PHONE_B)
    with pytest.raises(RetentionNotDue, match="open"):
        privacy.purge(engine, open_case, actor=DPO, reason="old")
    cid = _close(stack, privacy, clock)
    closed_at = engine.history(cid)[-1].at
    clock.set(closed_at.add(years=3).subtract(microseconds=1))
    with pytest.raises(RetentionNotDue, match="kept until"):
        privacy.purge(engine, cid, actor=DPO, reason="old")
    assert engine.get(cid).version == 3  # the refusal wrote nothing
    with pytest.raises(RoleNotPermitted):
        privacy.purge(engine, cid, actor=AGENT, reason="old")
    clock.set(closed_at.add(years=3))
    purged = privacy.purge(engine, cid, actor=DPO, reason="retention ran out")
    last = engine.history(cid)[-1]
    assert last.kind is RETENTION_PURGED and last.data["retained_years"] == 3
    assert purged.state == "closed" and privacy.view(cid, AGENT)["data"]["customer_ref"] \
        == ERASED
    # The subject's other cases keep their data: a purge is per case.
    assert privacy.view(open_case, AGENT)["data"]["contact"] == PHONE_B


def test_a_legal_hold_keeps_a_case_and_a_policy_below_the_floor_is_refused(store):
    with pytest.raises(InvalidCatalogue, match="floor"):
        RetentionPolicy(years=2)
    stack, privacy, clock = privacy_stack(store, retention={
        "consultation": RetentionPolicy(years=5, legal_hold=lambda case: True)})
    cid = _close(stack, privacy, clock)
    clock.set(clock.now().add(years=10))
    with pytest.raises(RetentionNotDue, match="legal hold"):
        privacy.purge(stack.engine, cid, actor=DPO, reason="old")


def test_consent_is_checked_before_collecting_and_withdrawal_stops_processing(store):
    catalogues = builtin_catalogues()
    base = catalogues.for_process("service_request")
    catalogues = catalogues.with_catalogue(Catalogue(
        "service_request", base.fields, subject_field="customer_ref",
        consent_purposes=("service",)))
    stack, privacy, clock = privacy_stack(store, catalogues=catalogues)
    engine = stack.engine
    data = {"channel": "phone", "customer_ref": REF_A, "description": "door"}
    with pytest.raises(ConsentMissing) as refused:
        privacy.open(engine, "service_request", actor=AGENT, data=data)
    assert refused.value.purpose == "service" and REF_A not in str(refused.value)
    ledger = ConsentLedger(engine, privacy)
    ledger.give(REF_A, "service", scope=["customer_ref", "contact"], channel="phone",
                actor=CUSTOMER, evidence="call recording 2026-03-02")
    c = privacy.open(engine, "service_request", actor=AGENT, data=data)
    clock.advance(minutes=5)
    ledger.withdraw(REF_A, "service", channel="app", actor=CUSTOMER)
    assert not ledger.active(REF_A, "service")
    with pytest.raises(ConsentMissing):
        privacy.fire(engine, c, "register", actor=AGENT, data={
            "request_type": "repair", "need": "x", "contact": PHONE_A})
    # Views for that purpose stop showing personal data; the ledger keeps both entries.
    assert privacy.view(c, AGENT, purpose="service")["data"]["customer_ref"] != REF_A
    assert [r.action for r in ledger.records(REF_A, "service")] == ["given", "withdrawn"]
    clock.advance(minutes=5)
    ledger.give(REF_A, "service", scope="contact", channel="app", actor=CUSTOMER,
                consent_version="2")
    privacy.fire(engine, c, "register", actor=AGENT, data={
        "request_type": "repair", "need": "x", "contact": PHONE_A})
    assert ledger.records(REF_A, "service")[-1].consent_version == "2"
    # The consent cases name the subject only by its keyed reference.
    assert REF_A not in _everything_stored(store)


def test_the_access_log_lives_beside_the_store(store):
    stack, privacy, clock = privacy_stack(store)
    cid = _a_life(stack, privacy, clock, REF_A, PHONE_A)
    privacy.view(cid, AGENT, purpose="callback")
    privacy.view(cid, Actor("t", "technician"))  # sees no personal data: nothing to log
    (record,) = privacy.access_log.records(case_id=cid)
    assert (record.actor_id, record.role, record.purpose) == ("li", "agent", "callback")
    assert set(record.fields) >= {"customer_ref", "contact"}
    assert record.at == clock.now()
    assert privacy.access_log.records(actor_id="nobody") == []


def test_the_export_hook_stops_showing_personal_data_once_consent_is_withdrawn():
    from servicewf import MemoryStore

    catalogues = builtin_catalogues()
    base = catalogues.for_process("consultation")
    stack, privacy, _ = privacy_stack(MemoryStore(), catalogues=catalogues.with_catalogue(
        Catalogue("consultation", base.fields, consent_purposes=("service",))))
    ledger = ConsentLedger(stack.engine, privacy)
    ledger.give(REF_A, "service", scope="customer_ref", channel="phone", actor=CUSTOMER)
    case = privacy.open(stack.engine, "consultation", actor=AGENT, data={
        "channel": "phone", "customer_ref": REF_A, "question": "hours?"})
    mask = privacy.masker(AGENT, purpose="service")
    assert mask(case.id, case.process, case.data)["customer_ref"] == REF_A
    ledger.withdraw(REF_A, "service", channel="app", actor=CUSTOMER)
    assert mask(case.id, case.process, case.data)["customer_ref"] != REF_A
    # another purpose that needs no consent is unaffected (PIPL: no refusal of service)
    other = privacy.masker(AGENT, purpose="complaint handling")
    assert other(case.id, case.process, case.data)["customer_ref"] == REF_A
