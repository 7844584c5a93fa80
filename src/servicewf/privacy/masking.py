"""Masking operators: what a reader who may not see a value gets instead.

* :class:`Redact`: ``"[redacted]"`` (any value);
* :class:`PartialMask`: keep a few characters at the start and/or end of a text
  (``"*******5678"``), never more than a third of it (django-auditlog's default keeps half
  of a phone number: six digits);
* :class:`Pseudonym` (keyed hash): ``HMAC-SHA256(secret, value)``, the same value always
  gives the same pseudonym (records stay linkable in analysis) and, keyed with a secret of at
  least 16 bytes, an 11-digit phone number cannot be brute-forced back from it as an
  unsalted hash could;
* :class:`Encrypt`: reversible for whoever holds the key (Fernet, from ``cryptography``).

Every operator maps any plain value to plain data; none raises on a value (a refusal must not
echo it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Protocol, runtime_checkable

import attrs

from servicewf.errors import InvalidCatalogue, PrivacyUnavailable

__all__ = ["MIN_SECRET", "Encrypt", "Mask", "PartialMask", "Pseudonym", "Redact",
           "canonical", "keyed_hash", "mask_from_dict", "mask_to_dict"]

MIN_SECRET = 16
"""Fewest bytes of a keyed-hash secret (a shorter one is refused)."""

REDACTED = "[redacted]"


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a plain value (sorted keys, no spaces): what is hashed
    and encrypted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def keyed_hash(secret: bytes, value: Any) -> str:
    """``HMAC-SHA256(secret, canonical(value))`` as hex."""
    if len(secret) < MIN_SECRET:
        raise InvalidCatalogue(f"a keyed-hash secret needs at least {MIN_SECRET} bytes "
                               "(a short one can be guessed); generate one with "
                               "secrets.token_bytes(32)")
    return hmac.new(secret, canonical(value), hashlib.sha256).hexdigest()


@runtime_checkable
class Mask(Protocol):
    """A masking operator. ``secret`` is the deployment's keyed-hash secret."""

    def apply(self, value: Any, *, secret: bytes) -> Any:
        """What a reader who may not see ``value`` gets instead."""
        ...


@attrs.frozen
class Redact:
    """Replace the value by ``text`` (``"[redacted]"``)."""

    text: str = REDACTED

    def apply(self, value: Any, *, secret: bytes) -> Any:
        return self.text


@attrs.frozen
class PartialMask:
    """Keep ``keep_start`` characters at the start and ``keep_end`` at the end of a text,
    replace the rest by ``char``; at most a third of the characters is ever kept (the end
    gives way first). A value that is not text is redacted."""

    keep_start: int = 0
    keep_end: int = 0
    char: str = "*"

    def __attrs_post_init__(self) -> None:
        if self.keep_start < 0 or self.keep_end < 0 or len(self.char) != 1:
            raise InvalidCatalogue("PartialMask keeps a non-negative number of characters "
                                   "and masks with one character")

    def apply(self, value: Any, *, secret: bytes) -> Any:
        if not isinstance(value, str):
            return REDACTED
        budget = len(value) // 3
        start = min(self.keep_start, budget)
        end = min(self.keep_end, budget - start)
        hidden = len(value) - start - end
        return value[:start] + self.char * hidden + (value[len(value) - end:] if end else "")


@attrs.frozen
class Pseudonym:
    """A keyed hash of the value: ``"pseudo:" + HMAC-SHA256(secret, value)[:length]``."""

    length: int = 16

    def apply(self, value: Any, *, secret: bytes) -> Any:
        return "pseudo:" + keyed_hash(secret, value)[: self.length]


def _fernet(key: bytes) -> Any:
    try:
        from cryptography.fernet import Fernet
    except ImportError as exc:
        raise PrivacyUnavailable("encryption needs cryptography: "
                                 "pip install 'servicewf[privacy]'") from exc
    return Fernet(key)


@attrs.frozen
class Encrypt:
    """Encrypt the value with ``key`` (a Fernet key: ``Encrypt.new_key()``); the holder of
    the key gets it back with :meth:`decrypt`. ``cryptography`` does the encryption: a
    well-reviewed implementation, not a hand-written cipher."""

    key: bytes = attrs.field(repr=False)

    @staticmethod
    def new_key() -> bytes:
        """A fresh random key."""
        return bytes(_fernet_class().generate_key())

    def apply(self, value: Any, *, secret: bytes) -> Any:
        return "enc:" + _fernet(self.key).encrypt(canonical(value)).decode("ascii")

    def decrypt(self, token: str) -> Any:
        """The value :meth:`apply` encrypted into ``token``."""
        return json.loads(_fernet(self.key).decrypt(token.removeprefix("enc:").encode()))


def _fernet_class() -> Any:
    _fernet(base64.urlsafe_b64encode(b"\0" * 32))  # raises PrivacyUnavailable if missing
    from cryptography.fernet import Fernet

    return Fernet


def mask_to_dict(mask: Mask) -> dict[str, Any]:
    """The plain-data form of a mask (an :class:`Encrypt` mask has none: its key is no
    catalogue data)."""
    if isinstance(mask, Redact):
        return {"op": "redact", "text": mask.text}
    if isinstance(mask, PartialMask):
        return {"op": "partial", "keep_start": mask.keep_start, "keep_end": mask.keep_end,
                "char": mask.char}
    if isinstance(mask, Pseudonym):
        return {"op": "pseudonym", "length": mask.length}
    raise InvalidCatalogue(f"a {type(mask).__name__} mask has no plain-data form; declare it "
                           "in code")


def mask_from_dict(data: Any) -> Mask:
    """The mask :func:`mask_to_dict` wrote (``None``: :class:`Redact`)."""
    if data is None:
        return Redact()
    op = data.get("op") if isinstance(data, dict) else None
    args = {k: v for k, v in data.items() if k != "op"} if isinstance(data, dict) else {}
    kinds: dict[str, Any] = {"redact": Redact, "partial": PartialMask, "pseudonym": Pseudonym}
    if op not in kinds:
        raise InvalidCatalogue(f"unknown mask op {op!r}; use one of {', '.join(kinds)}")
    try:
        return kinds[op](**args)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise InvalidCatalogue(f"mask {op!r}: {exc}") from None
