"""A command's comment follows the plain-data rules for text on every store.

A lone surrogate in a comment was accepted by the memory store and crashed SQLite's write with
a raw UnicodeEncodeError; a NUL would have been refused by PostgreSQL only. The engine now
checks the comment of every command (open, fire, record, migrate, imported history) itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from servicewf import Actor, Engine, EventKind, FrozenClock
from servicewf.errors import InvalidData
from servicewf.plain import MAX_TEXT, check_comment
from servicewf.storage import Store
from tests.contract.backends import BACKENDS, T0, make_store
from tests.helpers import ticket_definition

AGENT = Actor("a", "agent")
BAD = [("\ud800", "lone surrogate"), ("a\x00b", "NUL"), (5, "a comment is text"),
       ("x" * (MAX_TEXT + 1), "limit")]


@pytest.fixture(params=[p for p in BACKENDS if p.id in ("memory", "sqlite", "postgresql")])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


@pytest.mark.parametrize(("comment", "says"), BAD)
def test_every_command_refuses_a_comment_that_is_not_plain_text(
        store: Store, comment: Any, says: str) -> None:
    engine = Engine(store, FrozenClock(T0), [ticket_definition()])
    with pytest.raises(InvalidData, match=says) as opened:
        engine.open("ticket", actor=AGENT, case_id="c1", comment=comment)
    assert opened.value.path == "comment"
    case = engine.open("ticket", actor=AGENT, case_id="c1", comment="好的 ok")
    for command in (
            lambda: engine.fire(case, "note", actor=AGENT, comment=comment),
            lambda: engine.record(case, EventKind.NOTE, actor=AGENT, comment=comment)):
        with pytest.raises(InvalidData, match=says) as refused:
            command()
        assert refused.value.path == "comment" and refused.value.case_id == "c1"
        assert "\ud800" not in str(refused.value) and "\x00" not in str(refused.value)
    assert [e.seq for e in store.history("c1")] == [1]  # nothing written
    assert store.load("c1").version == 1


def test_check_comment_accepts_none_and_text() -> None:
    check_comment(None)
    check_comment("客户说明 — fine\n")
    check_comment("x" * MAX_TEXT)
