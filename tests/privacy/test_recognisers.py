"""The free-text recognisers, against checksum oracles written here from the standards
(GB 11643 MOD 11-2, GB 32100 MOD 31, ISO/IEC 7812 Luhn), not from stdnum."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf.privacy import find_personal, redact_text

_RIC_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def ric_check(body: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _RIC_W, strict=True)) % 11]


def uscc_check(body: str) -> str:
    total = sum(_USCC_ALPHA.index(c) * w for c, w in zip(body, _USCC_W, strict=True))
    return _USCC_ALPHA[(31 - total % 31) % 31]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_personal(text)]


births = st.dates(min_value=datetime.date(1930, 1, 1), max_value=datetime.date(2020, 12, 31))


@given(births, st.integers(100000, 999999), st.integers(0, 999))
def test_a_valid_identity_number_is_found_and_any_other_check_character_is_not(
        born, area, serial):
    body = f"{area:06d}{born:%Y%m%d}{serial:03d}"
    good = body + ric_check(body)
    assert kinds(f"ID {good} on file") == ["resident_id"]
    for wrong in "0123456789X":
        if wrong != good[-1]:
            assert "resident_id" not in kinds(f"ID {body}{wrong} on file")


@given(st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.text(alphabet=_USCC_ALPHA, min_size=9, max_size=9))
def test_a_valid_social_credit_code_is_found_and_a_wrong_check_is_not(head, tail):
    body = head + tail  # authority, type and region codes are digits; the rest the alphabet
    good = body + uscc_check(body)
    assert "uscc" in kinds(f"company {good}.")
    wrong = _USCC_ALPHA[(_USCC_ALPHA.index(good[-1]) + 1) % 31]
    assert "uscc" not in kinds(f"company {body}{wrong}.")


@given(st.sampled_from("3456"), st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_a_luhn_valid_card_is_found_with_or_without_spaces(first, rest):
    card = luhn_complete(first + rest)
    assert kinds(f"card {card}") == ["bank_card"]
    spaced = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    assert kinds(f"card {spaced}") == ["bank_card"]


@given(st.sampled_from([12, 16, 18, 19]), st.data())
def test_order_numbers_of_the_same_length_that_fail_every_checksum_are_not_personal(
        length, data):
    number = data.draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    body = number[:-1]
    is_card = 13 <= length <= 19 and number[0] in "234569" and luhn_ok(number)
    is_ric = length == 18 and ric_check(body) == number[-1]
    is_uscc = length == 18 and uscc_check(body) == number[-1]
    found = kinds(f"order {number}")
    # A number that fails every checksum is never reported (mobile numbers are 11 digits).
    if not (is_card or is_ric or is_uscc):
        assert found == []


@pytest.mark.parametrize("text", [
    "call 13812345678", "call +86 138 1234 5678", "call 138-1234-5678", "tel:8613912345678"])
def test_mainland_mobile_numbers_are_found(text):
    assert kinds(text) == ["mobile"]


@pytest.mark.parametrize("text", [
    "order 12812345678",      # 12x is not a mobile prefix
    "ref A13812345678",       # glued to a letter: part of a code
    "order 138123456789",     # twelve digits
    "pay 10000.00 yuan",
])
def test_lookalikes_are_not_mobile_numbers(text):
    assert "mobile" not in kinds(text)


def test_e_mail_addresses_are_found_and_redaction_names_the_kind():
    text = "write to chen.li+cs@example.com.cn or call 13812345678"
    assert kinds(text) == ["email", "mobile"]
    assert redact_text(text) == "write to [email] or call [mobile]"


def test_an_area_code_missing_from_stdnums_table_does_not_crash_the_recogniser():
    # python-stdnum's ric.is_valid raised KeyError on area 110001; the recogniser answered
    # by crashing on a comment before it checked the check character itself.
    body = "11000120000101000"
    assert kinds(f"ID {body}{ric_check(body)}") == ["resident_id"]


def test_an_identity_number_is_not_also_a_card_number():
    body = "11010519491231002"
    good = body + ric_check(body)
    assert kinds(good) == ["resident_id"]


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown recogniser kinds"):
        find_personal("x", kinds=["passport"])
