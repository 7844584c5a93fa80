"""Per-subject keys and sealed values: how erasure coexists with an append-only log.

A *sealed* field is stored, in the event that supplied it and in the case snapshot, as a
token ``"sealed:v1:<key id>:<ciphertext>"``: the value encrypted (AES-256-GCM, from
``cryptography``) under a key that belongs to one data subject in one case. The keys live in
a :class:`KeyVault` beside the store (a table in the same database for the SQL stores), never
in the log. Deleting a subject's keys (*crypto-shredding*) makes every sealed value of that
subject unreadable, in every copy and every backup of the log, while the events themselves
(sequence, states, times, actors, the non-personal data) stay as written: replay, SLA clocks
and KPIs give the same results as before.

Subjects are named in the vault by a keyed hash of their id (:meth:`Privacy.subject_ref`), so
the vault holds no customer identifier either; key ids are random.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Final, Protocol

import attrs

from servicewf.errors import PrivacyUnavailable
from servicewf.privacy.masking import canonical

__all__ = ["ERASED", "SEAL_PREFIX", "KeyRecord", "KeyVault", "MemoryVault", "is_sealed",
           "key_id_of", "seal_value", "unseal_value"]

SEAL_PREFIX: Final = "sealed:v1:"
ERASED: Final = "[erased]"
"""What a sealed value reads as once its key was shredded."""


@attrs.frozen
class KeyRecord:
    """One key of the vault: ``key_id`` (random), the ``subject`` reference (a keyed hash of
    the subject's id), the ``case_id`` it seals and the 32-byte ``key``."""

    key_id: str
    subject: str
    case_id: str
    key: bytes = attrs.field(repr=False)


class KeyVault(Protocol):
    """Where the per-subject keys live. Deleting a key is the erasure."""

    def key_for(self, subject: str, case_id: str) -> KeyRecord:
        """The key sealing ``subject``'s data in ``case_id``, created if there is none
        (durably, before any value is sealed with it)."""
        ...

    def get(self, key_id: str) -> KeyRecord | None:
        """The key with ``key_id``, or ``None`` once shredded."""
        ...

    def cases_of(self, subject: str) -> list[str]:
        """The cases holding data of ``subject`` (sorted)."""
        ...

    def shred_subject(self, subject: str) -> int:
        """Delete every key of ``subject``; return how many were deleted."""
        ...

    def shred_case(self, case_id: str) -> int:
        """Delete every key sealing data in ``case_id``; return how many were deleted."""
        ...


def new_key_record(subject: str, case_id: str) -> KeyRecord:
    """A fresh random key for ``subject`` in ``case_id``."""
    return KeyRecord(uuid.uuid4().hex, subject, case_id, os.urandom(32))


class MemoryVault:
    """A :class:`KeyVault` in memory (beside a :class:`~servicewf.storage.MemoryStore`)."""

    def __init__(self) -> None:
        self._by_id: dict[str, KeyRecord] = {}
        self._by_pair: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def key_for(self, subject: str, case_id: str) -> KeyRecord:
        with self._lock:
            found = self._by_pair.get((subject, case_id))
            if found is not None:
                return self._by_id[found]
            record = new_key_record(subject, case_id)
            self._by_id[record.key_id] = record
            self._by_pair[(subject, case_id)] = record.key_id
            return record

    def get(self, key_id: str) -> KeyRecord | None:
        return self._by_id.get(key_id)

    def cases_of(self, subject: str) -> list[str]:
        return sorted({c for (s, c) in self._by_pair if s == subject})

    def _drop(self, keep: Any) -> int:
        with self._lock:
            gone = [r for r in self._by_id.values() if not keep(r)]
            for r in gone:
                del self._by_id[r.key_id]
                del self._by_pair[(r.subject, r.case_id)]
            return len(gone)

    def shred_subject(self, subject: str) -> int:
        return self._drop(lambda r: r.subject != subject)

    def shred_case(self, case_id: str) -> int:
        return self._drop(lambda r: r.case_id != case_id)


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:
        raise PrivacyUnavailable("sealing needs cryptography: "
                                 "pip install 'servicewf[privacy]'") from exc
    return AESGCM(key)


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed token."""
    return isinstance(value, str) and value.startswith(SEAL_PREFIX)


def key_id_of(token: str) -> str | None:
    """The key id a sealed token names (``None`` when it is not a token)."""
    if not is_sealed(token):
        return None
    return token[len(SEAL_PREFIX):].split(":", 1)[0] or None


def seal_value(record: KeyRecord, field: str, value: Any) -> str:
    """``value`` sealed under ``record`` (bound to ``field``: a token copied into another
    field does not open)."""
    nonce = os.urandom(12)
    aad = f"{record.key_id}/{field}".encode()
    sealed = _aesgcm(record.key).encrypt(nonce, canonical(value), aad)
    return f"{SEAL_PREFIX}{record.key_id}:" + base64.b64encode(nonce + sealed).decode("ascii")


def unseal_value(vault: KeyVault, field: str, token: str) -> Any:
    """The value sealed in ``token`` for ``field``, or :data:`ERASED` when its key was
    shredded (or the token does not open: a damaged or misplaced token reads as erased,
    never as someone else's data)."""
    key_id = key_id_of(token)
    record = vault.get(key_id) if key_id else None
    if record is None:
        return ERASED
    try:
        blob = base64.b64decode(token[len(SEAL_PREFIX) + len(key_id or "") + 1:],
                                validate=True)
        plain = _aesgcm(record.key).decrypt(blob[:12], blob[12:],
                                            f"{record.key_id}/{field}".encode())
    except (ValueError, binascii.Error, Exception):
        return ERASED
    return json.loads(plain)


def unseal_data(vault: KeyVault, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every sealed value opened (or :data:`ERASED`)."""
    return {k: unseal_value(vault, k, v) if is_sealed(v) else v for k, v in data.items()}
