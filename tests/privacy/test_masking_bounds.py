"""Bounds of the masking operators (written against mutation-test survivors)."""

from __future__ import annotations

import pytest

from servicewf.errors import InvalidCatalogue
from servicewf.privacy import PartialMask, keyed_hash
from servicewf.privacy.masking import MIN_SECRET


def test_a_secret_of_exactly_the_minimum_length_is_accepted():
    assert len(keyed_hash(b"k" * MIN_SECRET, "x")) == 64
    with pytest.raises(InvalidCatalogue):
        keyed_hash(b"k" * (MIN_SECRET - 1), "x")


def test_a_default_partial_mask_keeps_nothing():
    assert PartialMask().apply("abcdefghi", secret=b"") == "*********"
    assert PartialMask(keep_start=0, keep_end=0).apply("", secret=b"") == ""


@pytest.mark.parametrize("kwargs", [{"keep_start": -1}, {"keep_end": -1}, {"char": ""}])
def test_negative_counts_and_an_empty_mask_character_are_refused(kwargs):
    with pytest.raises(InvalidCatalogue):
        PartialMask(**kwargs)


def test_keys_never_appear_in_reprs():
    from servicewf.privacy import Encrypt
    from servicewf.privacy.vault import MemoryVault

    record = MemoryVault().key_for("s", "c")
    assert repr(record.key) not in repr(record) and record.key_id in repr(record)
    key = Encrypt.new_key()
    assert key.decode() not in repr(Encrypt(key)) and repr(key) not in repr(Encrypt(key))
