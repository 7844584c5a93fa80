"""Exports (XES, OCEL 2.0 JSON and SQLite, CSV) and reports (JSON, HTML) through the masking
hook: no classified value reaches a reader whose role may not see it, on any output."""

from __future__ import annotations

import io
import logging
import sqlite3
from collections import Counter
from pathlib import Path

import pendulum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, MemoryStore
from servicewf.interop import export
from servicewf.privacy import ConsentLedger, Privacy, Pseudonym
from servicewf.reporting import from_store, render_html

from .support import AGENT, SECRET, privacy_stack

# The oracle, written from 002 §7.2 and docs/privacy.md, not read from the catalogue code:
# the staff serving a case (and the DPO) see customer data; finance, technicians, auditors
# and anyone unnamed do not.
SEES_PERSONAL = {"agent", "supervisor", "manager", "account_manager", "dpo"}

roles = st.sampled_from(["agent", "supervisor", "finance", "customer", "technician", "dpo",
                         "manager", "auditor", "account_manager", "anonymous"])
phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).filter(lambda p: len(set(p)) >= 4)
refs = st.from_regex(r"CUST-[A-Z]{4}[0-9]{3}", fullmatch=True)


def _sqlite_text(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables
                         for row in db.execute(f'SELECT * FROM "{t}"'))
    finally:
        db.close()


def _outputs(stack, privacy: Privacy, reader: Actor, tmp: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every output a reader can be handed, as text."""
    store = stack.engine.store
    out: dict[str, str] = {}
    for name, writer in (("xes", export.write_xes), ("csv", export.write_csv),
                         ("ocel-json", export.write_ocel_json)):
        buffer = io.StringIO()
        kwargs = {"customer_field": "customer_ref"} if name == "ocel-json" else {}
        writer(store, buffer, masker=privacy.masker(reader, purpose="export"), **kwargs)
        out[name] = buffer.getvalue()
    path = tmp / f"ocel-{reader.role}.sqlite"
    export.write_ocel_sqlite(store, path, customer_field="customer_ref",
                             masker=privacy.masker(reader, purpose="export"))
    out["ocel-sqlite"] = _sqlite_text(path)
    report = from_store(store, sla=stack.sla, registry=stack.engine.registry,
                        as_of=privacy.clock.now().add(days=1),
                        masker=privacy.masker(reader, purpose="report"))
    out["report-json"] = report.to_json()
    out["report-html"] = render_html(report, registry=stack.engine.registry)
    return out


def _cases(stack, privacy: Privacy, clock, phone: str, ref: str) -> list[str]:  # type: ignore[no-untyped-def]
    engine = stack.engine
    c = privacy.open(engine, "service_request", actor=AGENT, data={
        "channel": "phone", "customer_ref": ref, "description": f"call {phone}"})
    clock.advance(minutes=15)
    c = privacy.fire(engine, c, "register", actor=AGENT, data={
        "request_type": "repair", "need": "door", "contact": phone},
        comment=f"call back on {phone}")
    k = privacy.open(engine, "complaint", actor=AGENT, data={
        "channel": "phone", "customer_ref": ref, "content": f"nobody rang {phone}"})
    # A customer acting on their own consent case: their id is the customer reference.
    ledger = ConsentLedger(engine, privacy)
    ledger.give(ref, "marketing", scope=["contact"], channel="phone", actor=AGENT,
                evidence="call recording")
    clock.advance(minutes=5)
    ledger.withdraw(ref, "marketing", channel="app", actor=Actor(ref, "customer"))
    return [c.id, k.id]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(phones, refs, st.lists(roles, min_size=1, max_size=3, unique=True))
def test_no_output_shows_a_classified_value_to_a_role_that_may_not_see_it(
        tmp_path, caplog, phone, ref, readers):
    stack, privacy, clock = privacy_stack(MemoryStore())
    cases = _cases(stack, privacy, clock, phone, ref)
    for role in readers:
        reader = Actor(f"r-{role}", role)
        with caplog.at_level(logging.DEBUG, logger="servicewf"):
            outputs = _outputs(stack, privacy, reader, tmp_path)
            outputs["views"] = repr([privacy.view(c, reader, purpose="view") for c in cases])
            outputs["histories"] = repr([privacy.history(c, reader, purpose="view")
                                         for c in cases])
        sees = role in SEES_PERSONAL
        for name, text in outputs.items():
            if name.startswith("report"):
                # A report names no customer whoever reads it, and says how it was masked.
                assert phone not in text and ref not in text, (role, name)
                assert ("de-identified" in text) is not sees, (role, name)
            else:
                # An export shows the values exactly to the roles that may see them.
                assert (phone in text) is sees and (ref in text) is sees, (role, name)
        assert all(phone not in r.getMessage() and ref not in r.getMessage()
                   for r in caplog.records)
        # Unmasked reads are audited once per case and field for each output, never with
        # a value; masked reads leave no record.
        records = privacy.access_log.records(actor_id=reader.id)
        assert bool(records) is sees
        assert {r.case_id for r in records} <= set(cases)
        assert all(phone not in repr(r) and ref not in repr(r) for r in records)
        for purpose in ("export", "report"):
            per_output = Counter((r.case_id, f) for r in records if r.purpose == purpose
                                 for f in r.fields)
            # five writers (four exports) or one report per reader
            assert all(n == (4 if purpose == "export" else 1) for n in per_output.values()) \
                or not per_output
        caplog.clear()


def test_a_masker_records_each_case_and_field_once_per_output():
    stack, privacy, clock = privacy_stack(MemoryStore())
    cases = _cases(stack, privacy, clock, "13812345678", "CUST-ABCD123")
    masker = privacy.masker(AGENT, purpose="export")
    export.write_csv(stack.engine.store, io.StringIO(), masker=masker)
    records = privacy.access_log.records(actor_id=AGENT.id)
    pairs = [(r.case_id, f) for r in records for f in r.fields]
    assert len(pairs) == len(set(pairs))  # before: one record per event of the case
    assert {c for c, _ in pairs} == set(cases)
    assert (cases[0], "contact") in pairs
    # A second export is a second read: recorded again.
    export.write_csv(stack.engine.store, io.StringIO(),
                     masker=privacy.masker(AGENT, purpose="export"))
    assert len(privacy.access_log.records(actor_id=AGENT.id)) == 2 * len(records)


def test_without_a_masker_the_writers_write_what_the_store_holds():
    stack, privacy, clock = privacy_stack(MemoryStore())
    _cases(stack, privacy, clock, "13812345678", "CUST-ABCD123")
    raw = io.StringIO()
    export.write_csv(stack.engine.store, raw)
    # sealed tokens, never clear values, and the customer's own id as the actor
    assert "sealed:v1:" in raw.getvalue() and "13812345678" not in raw.getvalue()
    assert "CUST-ABCD123" in raw.getvalue()  # the consent withdrawal's actor
    masked = io.StringIO()
    export.write_csv(stack.engine.store, masked,
                     masker=privacy.masker(Actor("fa", "finance"), purpose="export"))
    assert "CUST-ABCD123" not in masked.getvalue() and "sealed:v1:" not in masked.getvalue()
    assert privacy.access_log.records(actor_id="fa") == []


def test_a_report_for_a_reader_keeps_the_kpis_of_the_unmasked_report():
    stack, privacy, clock = privacy_stack(MemoryStore())
    for i in range(3):
        _cases(stack, privacy, clock, f"1381234{i:04d}", f"CUST-ABCD{i:03d}")
    store, registry = stack.engine.store, stack.engine.registry
    as_of = clock.now().add(days=1)
    plain = from_store(store, sla=stack.sla, registry=registry, as_of=as_of)
    masked = from_store(store, sla=stack.sla, registry=registry, as_of=as_of,
                        masker=privacy.masker(Actor("fa", "finance"), purpose="report"))
    assert {k: t.to_list() for k, t in masked.tables().items()} == \
        {k: t.to_list() for k, t in plain.tables().items()}
    assert plain.masking is None and "masking" not in plain.to_dict()
    assert masked.masking == masked.to_dict()["masking"] == "de-identified (去标识化)"
    assert "de-identified (去标识化)" in render_html(masked)
    assert pendulum.instance(masked.as_of) == as_of


def test_a_customers_own_id_is_personal_data_and_staff_ids_are_not():
    _stack, privacy, _clock = privacy_stack(MemoryStore())
    ref = "CUST-ABCD123"
    pseudonym = Pseudonym().apply(ref, secret=SECRET)
    for role in ("finance", "technician", "anonymous", "auditor"):
        masker = privacy.masker(Actor("r", role), purpose="export")
        assert masker.actor_id(ref, "customer") == pseudonym
        assert masker.actor_id("li", "agent") == "li"
    for role in SEES_PERSONAL:
        masker = privacy.masker(Actor("r", role), purpose="export")
        assert masker.actor_id(ref, "customer") == ref
    # whose actors are data subjects is the integrator's to say
    masker = privacy.masker(Actor("r", "finance"), purpose="export", customer_roles=["member"])
    assert masker.actor_id(ref, "member") == pseudonym and masker.actor_id(ref, "customer") == ref


class _RedactPriority:
    """A report masker for a reader who may not see the priority (an integrator's catalogue
    could classify it): it reports what it was handed."""

    label = "de-identified"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, case_id: str, process: str, data):  # type: ignore[no-untyped-def]
        self.seen.append((case_id, process))
        return {k: "[redacted]" if k == "priority" else v for k, v in data.items()}


def test_a_report_reads_the_data_through_the_masker_and_shows_no_hidden_group():
    from .test_erasure_retention_consent import _a_life

    stack, privacy, clock = privacy_stack(MemoryStore())
    cid = _a_life(stack, privacy, clock, "CUST-ABCD123", "13812345678")
    clock.advance(days=2)
    stack.sweeper.run()
    store, registry = stack.engine.store, stack.engine.registry
    plain = from_store(store, sla=stack.sla, registry=registry, as_of=clock.now())
    masker = _RedactPriority()
    masked = from_store(store, sla=stack.sla, registry=registry, as_of=clock.now(),
                        masker=masker)
    assert {r.level for r in plain.cycles} == {"normal"}  # 普通, the priority given
    assert {r.level for r in masked.cycles} == {"[redacted]"}
    assert "normal" not in masked.to_json() and masked.masking == "de-identified"
    # only events with data reach the masker, each with its case's process
    assert set(masker.seen) == {(cid, "service_request")}
    assert len(masker.seen) == sum(1 for e in store.history(cid) if e.data)


def test_a_report_masks_only_the_cases_it_reports_on():
    from servicewf.reporting import compute

    from .test_erasure_retention_consent import _a_life

    stack, privacy, clock = privacy_stack(MemoryStore())
    kept = _a_life(stack, privacy, clock, "CUST-ABCD123", "13812345678")
    _a_life(stack, privacy, clock, "CUST-ABCD456", "13812345679")
    store = stack.engine.store
    masker = _RedactPriority()
    report = compute((e for _, e in export.iter_log(store)),
                     cases={kept: "service_request"}, sla=stack.sla,
                     registry=stack.engine.registry, as_of=clock.now(), masker=masker)
    assert report.cases == 1 and {c for c, _ in masker.seen} == {kept}
