"""Masking operators and the catalogue."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf import MemoryStore
from servicewf.errors import InvalidCatalogue
from servicewf.privacy import (
    DEFAULT_VISIBILITY,
    Catalogue,
    Encrypt,
    FieldClass,
    FieldRule,
    PartialMask,
    Privacy,
    Pseudonym,
    Redact,
    builtin_catalogues,
    is_sealed,
    keyed_hash,
)
from servicewf.privacy.vault import ERASED, MemoryVault, seal_value, unseal_value
from servicewf.processes import builtin_definitions

from .support import SECRET

plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


@given(st.text(max_size=40), st.integers(0, 12), st.integers(0, 12))
def test_a_partial_mask_never_keeps_more_than_a_third_and_keeps_the_length(text, start, end):
    masked = PartialMask(keep_start=start, keep_end=end).apply(text, secret=SECRET)
    assert len(masked) == len(text)
    kept = [i for i, (a, b) in enumerate(zip(text, masked, strict=True)) if b != "*"]
    assert len(kept) <= len(text) // 3
    # what is kept is a prefix and a suffix of the original, character for character
    assert all(text[i] == masked[i] for i in kept)
    assert sum(1 for i in kept if i < len(text) / 2) <= start


def test_a_phone_keeps_its_last_three_digits_and_a_name_its_first_character():
    assert PartialMask(keep_end=4).apply("13812345678", secret=SECRET) == "********678"
    assert PartialMask(keep_start=1).apply("陈小明", secret=SECRET) == "陈**"
    assert PartialMask(keep_end=4).apply(13812345678, secret=SECRET) == "[redacted]"
    with pytest.raises(InvalidCatalogue):
        PartialMask(keep_end=-1)
    with pytest.raises(InvalidCatalogue):
        PartialMask(char="**")


@given(plain_values)
def test_a_pseudonym_is_an_hmac_under_the_secret(value):
    oracle = hmac.new(SECRET, json.dumps(value, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode(), hashlib.sha256)
    assert Pseudonym().apply(value, secret=SECRET) == "pseudo:" + oracle.hexdigest()[:16]
    assert Pseudonym().apply(value, secret=SECRET + b"x") != \
        Pseudonym().apply(value, secret=SECRET)


def test_a_short_secret_is_refused():
    with pytest.raises(InvalidCatalogue, match="16 bytes"):
        keyed_hash(b"short", "13812345678")
    with pytest.raises(InvalidCatalogue, match="16 bytes"):
        Privacy(MemoryStore(), None, secret=b"short")  # type: ignore[arg-type]


@given(plain_values)
def test_encryption_round_trips_and_hides_the_value(value):
    enc = Encrypt(Encrypt.new_key())
    token = enc.apply(value, secret=SECRET)
    assert token.startswith("enc:") and enc.decrypt(token) == value
    assert "key" not in repr(enc) or "b'" not in repr(enc)
    assert Redact().apply(value, secret=SECRET) == "[redacted]"


@given(plain_values, st.sampled_from(["contact", "signer"]))
def test_sealing_round_trips_binds_the_field_and_reads_erased_once_shredded(value, field):
    vault = MemoryVault()
    record = vault.key_for("subject-1", "case-1")
    token = seal_value(record, field, value)
    assert is_sealed(token) and unseal_value(vault, field, token) == value
    assert unseal_value(vault, "other_field", token) == ERASED  # a moved token does not open
    assert unseal_value(vault, field, token[:-4] + "AAAA") == ERASED  # nor a damaged one
    assert vault.key_for("subject-1", "case-1") == record  # one key per subject and case
    assert vault.cases_of("subject-1") == ["case-1"]
    assert vault.shred_case("case-1") == 1 and unseal_value(vault, field, token) == ERASED
    assert vault.shred_subject("subject-1") == 0


def test_shredding_a_subject_leaves_other_subjects_keys():
    vault = MemoryVault()
    a1, a2 = vault.key_for("a", "c1"), vault.key_for("a", "c2")
    b = vault.key_for("b", "c1")
    assert vault.shred_subject("a") == 2
    assert vault.get(a1.key_id) is None and vault.get(a2.key_id) is None
    assert vault.get(b.key_id) == b and vault.cases_of("b") == ["c1"]


def test_every_builtin_process_has_a_catalogue_whose_fields_it_writes():
    catalogues = builtin_catalogues()
    for definition in builtin_definitions():
        written = set(definition.intake) | set(definition.intake_writes)
        for t in definition.transitions:
            written |= set(t.required) | set(t.writes)
        catalogue = catalogues.for_process(definition.name)
        assert set(catalogue.fields) <= written, definition.name
        if catalogue.subject_field:
            assert catalogue.subject_field in written
    sr = catalogues.for_process("service_request")
    assert sr.classified(FieldClass.FINANCIAL) == ["plan_fee"]
    assert "contact" in sr.sealed_fields and "owner" not in sr.sealed_fields
    # 002 §7.2: finance sees financial data only; account managers basic customer data.
    assert sr.may_see("finance", FieldClass.FINANCIAL)
    assert not sr.may_see("finance", FieldClass.PERSONAL)
    assert sr.may_see("account_manager", FieldClass.PERSONAL)
    assert not sr.may_see("account_manager", FieldClass.FINANCIAL)
    assert not sr.may_see("account_manager", FieldClass.SENSITIVE)


def test_a_catalogue_refuses_unknown_classes_and_bad_field_names_and_overrides_visibility():
    with pytest.raises(InvalidCatalogue, match="unknown field class"):
        FieldRule("secret")
    with pytest.raises(InvalidCatalogue, match="not a valid field name"):
        Catalogue("p", {"not a name": FieldClass.PERSONAL})
    c = Catalogue("p", {"phone": "personal"}, visible={"personal": ["hotline"]})
    assert c.rule("phone") == FieldRule(FieldClass.PERSONAL)
    assert c.may_see("hotline", FieldClass.PERSONAL) and not c.may_see("agent",
                                                                         FieldClass.PERSONAL)
    assert c.visible[FieldClass.FINANCIAL] == DEFAULT_VISIBILITY[FieldClass.FINANCIAL]
    assert FieldRule(FieldClass.FINANCIAL).shredded is False
    assert FieldRule(FieldClass.FINANCIAL, sealed=True).shredded is True
    assert FieldRule(FieldClass.SENSITIVE).shredded is True


def test_masked_data_for_each_role_of_the_service_request():
    privacy = Privacy(MemoryStore(), None, secret=SECRET)  # type: ignore[arg-type]
    data = {"customer_ref": "C-1", "contact": "13812345678", "plan_fee": "¥6,000",
            "owner": "li", "need": "call 13912345678"}
    agent, shown = privacy.masked("service_request", data, "agent")
    assert agent == {**data, "plan_fee": "[redacted]"}  # an agent sees no financial data
    assert sorted(shown) == ["contact", "customer_ref"]
    finance, shown = privacy.masked("service_request", data, "finance")
    assert finance["plan_fee"] == "¥6,000" and shown == ["plan_fee"]
    assert finance["contact"] == "********678" and finance["need"] == "call [mobile]"
    assert finance["customer_ref"].startswith("pseudo:")
    customer, shown = privacy.masked("service_request", data, "customer")
    assert customer["owner"] == "[redacted]" and shown == []
    assert privacy.export_label("finance").startswith("de-identified")
    assert privacy.export_label("agent") == "identified"


def test_every_builtin_catalogue_round_trips_through_plain_data():
    import json as _json

    for catalogue in builtin_catalogues():
        data = _json.loads(_json.dumps(catalogue.to_dict()))
        assert Catalogue.from_dict(data) == catalogue
    short = Catalogue.from_dict({"process": "p", "fields": {"phone": "personal"}})
    assert short.rule("phone") == FieldRule(FieldClass.PERSONAL)
    with pytest.raises(InvalidCatalogue, match="unknown mask op"):
        Catalogue.from_dict({"process": "p", "fields": {"x": {"class": "personal",
                                                              "mask": {"op": "rot13"}}}})
    with pytest.raises(InvalidCatalogue, match="needs 'process'"):
        Catalogue.from_dict({"fields": {}})
    with pytest.raises(InvalidCatalogue, match="no plain-data form"):
        Catalogue("p", {"x": FieldRule("personal", Encrypt(Encrypt.new_key()))}).to_dict()
