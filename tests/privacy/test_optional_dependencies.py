"""Without the optional dependencies, the privacy features say which extra to install."""

from __future__ import annotations

import sys

import pytest

from servicewf.errors import PrivacyUnavailable
from servicewf.privacy import recognisers


def test_the_recognisers_without_python_stdnum_name_the_extra(monkeypatch):
    recognisers._stdnum.cache_clear()
    monkeypatch.setitem(sys.modules, "stdnum", None)
    try:
        with pytest.raises(PrivacyUnavailable, match=r"servicewf\[privacy\]"):
            recognisers.find_personal("call 13812345678")
        # text the pre-filter answers needs no checksum library at all
        assert recognisers.find_personal("no digits here") == []
    finally:
        monkeypatch.undo()
        recognisers._stdnum.cache_clear()
    assert recognisers.find_personal("call 13812345678")[0].kind == "mobile"


def test_encryption_and_sealing_without_cryptography_name_the_extra(monkeypatch):
    from servicewf.privacy import Encrypt
    from servicewf.privacy.vault import MemoryVault, seal_value

    key = Encrypt.new_key()
    record = MemoryVault().key_for("s", "c")
    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(PrivacyUnavailable, match=r"servicewf\[privacy\]"):
        Encrypt(key).apply("13812345678", secret=b"x" * 16)
    with pytest.raises(PrivacyUnavailable, match=r"servicewf\[privacy\]"):
        Encrypt.new_key()
    with pytest.raises(PrivacyUnavailable, match=r"servicewf\[privacy\]"):
        seal_value(record, "contact", "13812345678")
