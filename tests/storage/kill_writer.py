"""Body of the process the kill test SIGKILLs: opens and moves complaints as fast as it can,
each command one write-set (snapshot, event, SLA timers) applied by the store."""

from __future__ import annotations

import itertools
import sys

import pendulum

from servicewf import Actor, FrozenClock
from servicewf.processes.stack import builtin_stack
from servicewf.storage.sql import SQLStore

INTAKE = {"channel": "phone", "customer_ref": "C-1", "content": "late repair"}


def main(url: str, schema: str | None, prefix: str, worker: str) -> None:
    store = SQLStore(url, schema=schema, prefix=prefix)
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))
    engine = builtin_stack(store, clock).engine
    agent, boss = Actor("li", "agent"), Actor("wang", "supervisor")
    print("ready", flush=True)
    for i in itertools.count():
        clock.advance(seconds=7)
        case = engine.open("complaint", actor=agent, data=INTAKE, case_id=f"{worker}-{i}")
        case = engine.fire(case, "record", actor=agent,
                           data={"tracker": "li", "first_receiver": "li"})
        case = engine.fire(case, "classify", actor=agent, data={
            "complaint_type": "服務態度", "level": "一般", "scope": "external"})
        engine.fire(case, "confirm_classification", actor=boss, data={"supervisor": "wang"})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] or None, sys.argv[3], sys.argv[4])
