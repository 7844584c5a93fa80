"""retry_on_conflict: reload and re-apply after a lost optimistic-concurrency race."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.errors import StaleVersion, TriggerNotAllowed
from servicewf.storage import Store
from servicewf.storage.retry import ConflictRetriesExhausted, fire_with_retry, retry_on_conflict
from servicewf.storage.sql import SQLStore
from tests.contract.backends import T0
from tests.helpers import ticket_definition

AGENT = Actor("u1", "agent")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        s = SQLStore.sqlite(tmp_path / "r.db")
        yield s
        s.close()


def _engine(store: Store) -> Engine:
    engine = Engine(store, FrozenClock(T0), [ticket_definition()])
    engine.open("ticket", actor=AGENT, case_id="t1")
    engine.fire("t1", "register", actor=AGENT, data={"request_type": "x"})
    return engine


class Interloper:
    """Fires a competing command right before each of the first ``n`` attempts writes."""

    def __init__(self, engine: Engine, n: int) -> None:
        self.engine, self.left, self.calls = engine, n, 0

    def __call__(self):
        self.calls += 1
        current = self.engine.get("t1")  # our read
        if self.left:
            self.left -= 1
            self.engine.fire("t1", "note", actor=Actor("other", "agent"))  # their write
        return self.engine.fire(current, "note", actor=AGENT)  # stale iff they wrote


def test_retries_until_the_write_lands(store):
    engine = _engine(store)
    seen: list[int] = []
    fn = Interloper(engine, 2)
    result = retry_on_conflict(fn, attempts=3, on_conflict=lambda e, n: seen.append(n))
    assert fn.calls == 3 and seen == [1, 2]
    assert result == engine.get("t1") and result.version == 5
    history = engine.history("t1")
    assert [e.seq for e in history] == [1, 2, 3, 4, 5]
    assert [e.actor_id for e in history[2:]] == ["other", "other", "u1"]


def test_gives_up_after_the_attempts_and_says_so(store):
    engine = _engine(store)
    fn = Interloper(engine, 10)
    with pytest.raises(ConflictRetriesExhausted, match="after 3 attempts") as err:
        retry_on_conflict(fn, attempts=3)
    assert isinstance(err.value, StaleVersion) and err.value.case_id == "t1"
    assert err.value.attempts == 3 and fn.calls == 3
    assert isinstance(err.value.__cause__, StaleVersion)


def test_sleeps_the_given_delays_and_repeats_the_last(store):
    engine = _engine(store)
    slept: list[float] = []
    retry_on_conflict(Interloper(engine, 3), attempts=4, delays=(0.1, 0.5), sleep=slept.append)
    assert slept == [0.1, 0.5, 0.5]


def test_other_refusals_are_not_retried(store):
    engine = _engine(store)
    calls = []

    def fn():
        calls.append(1)
        return engine.fire("t1", "finish", actor=AGENT)

    with pytest.raises(TriggerNotAllowed):
        retry_on_conflict(fn, attempts=5)
    assert calls == [1]


def test_fire_with_retry_reloads_by_id(store):
    engine = _engine(store)
    stale = engine.get("t1")
    engine.fire("t1", "note", actor=AGENT)
    with pytest.raises(StaleVersion):
        engine.fire(stale, "note", actor=AGENT)
    case = fire_with_retry(engine, "t1", "plan", actor=AGENT, data={"plan": "p"})
    assert case.state == "planned" and case.version == 4


def test_attempts_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        retry_on_conflict(lambda: None, attempts=0)
