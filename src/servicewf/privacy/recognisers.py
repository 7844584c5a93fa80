"""Recognisers of personal data typed into free text (comments, descriptions).

Presidio has no Chinese entities (see docs/privacy.md), so the recognisers the guidelines'
users need are built in, each with its checksum where the number has one, so an order number
of the same length is not taken for personal data:

* ``mobile``: a mainland mobile number, ``1[3-9]`` and nine more digits (an optional
  ``+86`` / ``86`` prefix, spaces or dashes in the usual 3-4-4 grouping);
* ``resident_id``: an 18-character resident identity number with a valid birth date and the
  ISO 7064 MOD 11-2 check character (``stdnum.cn.ric``);
* ``uscc``: an 18-character unified social credit code with its check character
  (``stdnum.cn.uscc``);
* ``bank_card``: 13 to 19 digits (spaces or dashes in groups of four allowed) passing the
  Luhn check (``stdnum.luhn``), with an issuer prefix (a card number starts with 2-6 or 9);
* ``email``: an e-mail address.

The checksums come from ``python-stdnum`` (the ``privacy`` extra): a well-kept library of
exactly these algorithms, rather than hand-written copies.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import attrs

from servicewf.errors import PrivacyUnavailable

__all__ = ["KINDS", "Finding", "find_personal", "redact_text"]

KINDS = ("mobile", "resident_id", "uscc", "bank_card", "email")
"""The kinds of personal data the recognisers find."""


@attrs.frozen
class Finding:
    """Where a recogniser found personal data in a text: ``kind`` (one of :data:`KINDS`) and
    the span ``text[start:end]``. It holds positions, never the value."""

    kind: str
    start: int
    end: int


@functools.cache
def _stdnum() -> tuple[Any, Any, Any]:
    try:
        from stdnum import luhn
        from stdnum.cn import ric, uscc
    except ImportError as exc:
        raise PrivacyUnavailable(
            "the checksum recognisers need python-stdnum: pip install 'servicewf[privacy]'"
        ) from exc
    return luhn, ric, uscc


# Every kind holds four digits in a row (a grouped mobile or card number too) or an "@":
# text without either is answered without running the recognisers (most field values).
_MAYBE = re.compile(r"@|\d{4}")

# Digits that are not part of a longer run of digits or letters on either side.
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})"
                     r"(?![0-9A-Za-z])")
_RIC = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_USCC = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"
                   r"(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])[2-69]\d{3}(?:[ -]?\d){9,15}(?![0-9A-Za-z])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")


def _ric_valid(ric: Any, number: str) -> bool:
    # The check character and the birth date, not ric.is_valid: that also looks the area
    # code up in stdnum's county table and raises KeyError on some codes (python-stdnum
    # 2.2) instead of answering; an identity number from a county the table lacks is still
    # an identity number.
    try:
        ric.get_birth_date(number)
        return bool(ric.calc_check_digit(number) == number[17].upper())
    except Exception:
        return False


def find_personal(text: str, kinds: Iterable[str] = KINDS) -> list[Finding]:
    """Every recognised piece of personal data in ``text``, in order, without overlaps (an
    identity number is not also reported as a card number)."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown recogniser kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    if not _MAYBE.search(text):
        return []
    luhn, ric, uscc = _stdnum()
    found: list[Finding] = []

    def add(kind: str, start: int, end: int) -> None:
        if all(end <= f.start or start >= f.end for f in found):
            found.append(Finding(kind, start, end))

    if "resident_id" in wanted:
        for m in _RIC.finditer(text):
            if _ric_valid(ric, m.group()):
                add("resident_id", m.start(), m.end())
    if "uscc" in wanted:
        for m in _USCC.finditer(text):
            if uscc.is_valid(m.group()):
                add("uscc", m.start(), m.end())
    if "bank_card" in wanted:
        for m in _CARD.finditer(text):
            digits = re.sub(r"[ -]", "", m.group())
            if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                add("bank_card", m.start(), m.end())
    if "mobile" in wanted:
        for m in _MOBILE.finditer(text):
            add("mobile", m.start(), m.end())
    if "email" in wanted:
        for m in _EMAIL.finditer(text):
            add("email", m.start(), m.end())
    return sorted(found, key=lambda f: f.start)


def redact_text(text: str, kinds: Iterable[str] = KINDS) -> str:
    """``text`` with every recognised piece of personal data replaced by ``[kind]``."""
    out: list[str] = []
    last = 0
    for f in find_personal(text, kinds):
        out.append(text[last:f.start])
        out.append(f"[{f.kind}]")
        last = f.end
    out.append(text[last:])
    return "".join(out)
