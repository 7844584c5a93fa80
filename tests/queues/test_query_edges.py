"""Edges of the queue queries: limits, items, which path a store takes."""

from __future__ import annotations

from servicewf.queues import Queues, queue_state
from servicewf.queues.query import QueueItem
from servicewf.storage import MemoryStore
from servicewf.storage.sql import SQLStore
from tests.queues.support import open_complaint, stack_on


def test_limit_is_up_to_a_thousand() -> None:
    s, _ = stack_on(MemoryStore())
    open_complaint(s, level="一般", vip=False, owner="ana")
    assert len(s.queues.inbox(actor="ana", limit=1000)) == 1


def test_items_compare_by_id_key_and_state_and_say_who_they_are() -> None:
    s, _ = stack_on(MemoryStore())
    case = open_complaint(s, level="一般", vip=False, owner="ana", case_id="c-1")
    item = s.queues.inbox(actor="ana").items[0]
    same = QueueItem("c-1", queue_state(case), item.key, case=case)
    assert item == same and hash(item) == hash(same)
    assert item != QueueItem("c-2", queue_state(case), item.key, case=case)
    assert item != QueueItem("c-1", queue_state(case), item.key + "x", case=case)
    assert item != "c-1"
    assert repr(item) == f"QueueItem('c-1', key={item.key!r})"


def test_sql_stores_answer_from_their_indexes_and_memory_scans() -> None:
    assert Queues(MemoryStore()).index_sql() == []
    store = SQLStore("sqlite://")
    try:
        ddl = Queues(store).index_sql()
        assert len(ddl) == 5 and all("CREATE INDEX IF NOT EXISTS" in d for d in ddl)
        assert any("'$.queue.o'" in d for d in ddl)
    finally:
        store.close()


def test_a_case_is_decoded_from_its_row_on_first_read() -> None:
    store = SQLStore("sqlite://")
    try:
        s, _ = stack_on(store)
        case = open_complaint(s, level="緊急", vip=True, owner="ana", case_id="c-9")
        item = s.queues.inbox(actor="ana").items[0]
        assert item.case == case and item.case is item.case
        assert item.queue == queue_state(case)  # still there after the row was let go
        first = s.queues.inbox(actor="ana").items[0]
        assert first.queue == queue_state(case) and first.queue is first.queue
        assert first.case == case
        s.queues.close()
        s.queues.close()  # closing twice is harmless
        assert [i.id for i in s.queues.inbox(actor="ana")] == ["c-9"]  # reopens
    finally:
        store.close()


def test_an_item_needs_its_queue_state_or_its_row() -> None:
    import pytest

    with pytest.raises(TypeError, match="queue state"):
        QueueItem("c-1", None, "k")
