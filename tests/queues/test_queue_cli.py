"""``servicewf queue`` prints an inbox in queue order."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicewf import Actor, FrozenClock
from servicewf.cli import main
from servicewf.queues.stack import queue_stack
from servicewf.storage.sql import SQLStore
from tests.queues.support import START, open_complaint


def test_queue_prints_the_inbox_most_urgent_first(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = SQLStore(url)
    s = queue_stack(store, FrozenClock(START))
    general = open_complaint(s, level="一般", vip=False, owner="ana", case_id="general-1")
    urgent = open_complaint(s, level="緊急", vip=False, owner="ana", case_id="urgent-1")
    open_complaint(s, level="重要", vip=False, owner="bo", case_id="other-owner")
    s.engine.fire(urgent, "hand_over", actor=Actor("ana", "agent"), data={
        "owner": "qian", "owner_role": "manager", "reason": "urgent: the manager handles it"})
    store.close()
    assert main(["queue", "--db", url, "--actor", "ana"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[1:]] == [general.id]
    assert main(["queue", "--db", url, "--role", "manager"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out[1:]] == ["urgent-1"] and out[1].endswith("qian")
    assert main(["queue", "--db", url, "--group", "nobody"]) == 0
    out = capsys.readouterr().out
    assert "(no open cases)" in out and "carries queue state" not in out


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_database_written_without_queues_is_said_to_hold_none(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], backend: str) -> None:
    from servicewf.processes.stack import builtin_stack
    from servicewf.queues import Queues
    from servicewf.storage import MemoryStore

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    store = MemoryStore() if backend == "memory" else SQLStore(url)
    plain = builtin_stack(store, FrozenClock(START))
    plain.engine.open("complaint", actor=Actor("ana", "agent"), data={
        "channel": "phone", "customer_ref": "C-1", "content": "late"})
    assert Queues(store).holds_queue_state() is False
    queued = queue_stack(store, FrozenClock(START))
    open_complaint(queued, level="一般", vip=False, owner="ana", case_id="queued-1")
    assert Queues(store).holds_queue_state() is True
    store.close()
    if backend == "sqlite":
        empty = f"sqlite:///{tmp_path / 'empty.db'}"
        SQLStore(empty).close()
        assert main(["queue", "--db", empty, "--actor", "ana"]) == 0
        out = capsys.readouterr().out
        assert "(no open cases)" in out and "carries queue state" in out


@pytest.mark.parametrize("argv, message", [
    (["--actor", "a", "--unassigned"], "--unassigned goes with"),
    (["--actor", "a", "--limit", "0"], "--limit must be"),
])
def test_bad_invocations_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      argv: list[str], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert main(["queue", "--db", url, *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_path_is_not_a_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "--db", "q.db", "--actor", "a"]) == 2
    assert "is a path, not a database URL" in capsys.readouterr().err
