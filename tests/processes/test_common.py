"""Shared vocabularies and guard factories."""

from __future__ import annotations

import pendulum
import pytest

from servicewf.processes.common import (
    CHANNELS,
    COMPLAINT_LEVEL,
    REQUEST_PRIORITY,
    SATISFACTION,
    is_dissatisfied,
    parse_instant,
    text_list,
)


@pytest.mark.parametrize(("vocab", "spelling", "expected"), [
    (COMPLAINT_LEVEL, "緊急", "urgent"), (COMPLAINT_LEVEL, "紧急", "urgent"),
    (COMPLAINT_LEVEL, " General ", "general"), (REQUEST_PRIORITY, "普通", "normal"),
    (SATISFACTION, "非常满意", "very_satisfied"), (SATISFACTION, 2, "dissatisfied"),
    (SATISFACTION, "3", "neutral"), (CHANNELS, "social-media", "social_media"),
    (CHANNELS, "熱線", "phone"),
])
def test_spellings_normalise(vocab, spelling, expected) -> None:  # type: ignore[no-untyped-def]
    assert vocab.normalise(spelling) == expected
    assert vocab.optional_id(spelling) == expected


@pytest.mark.parametrize("bad", ["", "bogus", None, True, 0, 6, ["滿意"]])
def test_unknown_values_refused(bad: object) -> None:
    assert SATISFACTION.normalise(bad) is None
    if bad is not None:
        with pytest.raises(ValueError, match="非常滿意/very_satisfied"):
            SATISFACTION.canonical(bad)


def test_helpers() -> None:
    assert is_dissatisfied("不滿意") and not is_dissatisfied("一般") and not is_dissatisfied(None)
    assert text_list("a, b、c,,") == ("a", "b", "c") and text_list(["x"]) == ("x",)
    assert parse_instant("2026-03-02T09:00:00+08:00") == pendulum.datetime(
        2026, 3, 2, 1, tz="UTC")
    assert parse_instant("2026-03-02T09:00:00") is None
    assert parse_instant("2026-03-02T01:00:00Z") == pendulum.datetime(2026, 3, 2, 1, tz="UTC")
