"""A writer killed at random moments leaves only whole commands behind.

Each command is one write-set, applied by the store in one database transaction (snapshot,
event and the SLA timers together). A child process writes complaints as fast as it can and
is SIGKILLed mid-stream, several times; afterwards every stored case is the replay of its
history, and its timers are exactly the ones its clocks call for.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest

from servicewf.engine import replay
from servicewf.processes.stack import builtin_stack
from servicewf.sla import TIMER_PREFIX
from servicewf.storage.sql import SQLStore

ROOT = Path(__file__).resolve().parents[2]


def _kill_runs(url: str, schema: str, prefix: str, runs: int) -> None:
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    for run in range(runs):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.kill_writer", url, schema, prefix, f"w{run}"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.4, 1.2))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert child.returncode == -signal.SIGKILL


def _check_every_case(store: SQLStore) -> int:
    from servicewf import FrozenClock

    stack = builtin_stack(store, FrozenClock(__import__("pendulum").now("UTC")))
    engine, sla = stack.engine, stack.sla
    cases = store.find(process="complaint")
    for case in cases:
        history = store.history(case.id)
        definition = engine.registry.get("complaint", 1)
        assert attrs.evolve(case, extensions={}) == replay(definition, history)
        bound = sla.bind(definition)
        assert bound is not None
        clocks = bound.fold(history)
        assert case.extensions["sla"] == clocks.to_dict()
        expected = sorted(sla.timers_of(bound, case.id, clocks), key=lambda t: t.name)
        stored = sorted((t for t in store.timers(case.id) if t.name.startswith(TIMER_PREFIX)),
                        key=lambda t: t.name)
        assert [(t.name, t.due) for t in stored] == [(t.name, t.due) for t in expected]
    return len(cases)


def test_a_killed_writer_leaves_whole_commands_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    SQLStore(url).close()  # create the tables before the first child races to do it
    _kill_runs(url, "", "", runs=3)
    with SQLStore(url) as store:
        assert _check_every_case(store) > 10


@pytest.mark.postgres
def test_a_killed_writer_leaves_whole_commands_on_postgresql(
    pg_schema: tuple[str, str]
) -> None:
    dsn, schema = pg_schema
    prefix = "kill_"
    SQLStore(dsn, schema=schema, prefix=prefix).close()
    _kill_runs(dsn, schema, prefix, runs=3)
    store = SQLStore(dsn, schema=schema, prefix=prefix)
    try:
        assert _check_every_case(store) > 10
    finally:
        store.drop_tables()
        store.close()
