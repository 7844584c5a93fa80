"""Data-protection benchmark: the cost of sealing personal data, per command.

Open, register and confirm service requests (three commands each, the built-in stack with SLA
clocks and obligations, in memory) twice in the same run: through ``Privacy.open`` /
``Privacy.fire`` with the privacy processor (the customer reference, the contact and a comment
with a phone number sealed under a per-subject AES-GCM key, the free text scanned by the
recognisers), and straight through the engine without it. Target: the sealed commands cost at
most 2× the plain ones.

    python benchmarks/privacy.py [--quick]

``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): smaller sizes; a missed target is printed but the
exit status is 0 (CI smoke run: only a crash fails).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

import pendulum

from servicewf import Actor, FrozenClock, MemoryStore
from servicewf.privacy import Privacy
from servicewf.processes.stack import builtin_stack

AGENT = Actor("li", "agent")
T0 = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")
TARGET = 2.0


def _lifecycles(n: int, sealed: bool) -> Callable[[], None]:
    store = MemoryStore()
    clock = FrozenClock(T0)
    stack = builtin_stack(store, clock)
    engine = stack.engine
    privacy = Privacy(store, clock, secret=b"benchmark-secret-0123456789")
    if sealed:
        engine.processors.append(privacy.processor())

    def run() -> None:
        for i in range(n):
            intake = {"channel": "phone", "customer_ref": f"C-{i}", "description": "a tap leaks"}
            register = {"request_type": "repair", "need": "plumber", "contact": f"138{i:08d}"}
            confirm = {"priority": "普通", "owner": "li", "due": "2026-03-20T18:00:00+08:00",
                       "time_limit_notice": "told by phone"}
            comment = f"call back on 139{i:08d}"
            if sealed:
                case = privacy.open(engine, "service_request", actor=AGENT, data=intake)
                case = privacy.fire(engine, case, "register", actor=AGENT, data=register,
                                    comment=comment)
                privacy.fire(engine, case, "confirm", actor=AGENT, data=confirm)
            else:
                case = engine.open("service_request", actor=AGENT, data=intake)
                case = engine.fire(case, "register", actor=AGENT, data=register,
                                   comment=comment)
                engine.fire(case, "confirm", actor=AGENT, data=confirm)

    return run


def timed(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_sealing(n: int) -> float:
    _lifecycles(20, True)()  # warm up both paths (imports, compiled machines)
    _lifecycles(20, False)()
    plain = min(timed(_lifecycles(n, False)) for _ in range(3))
    sealed = min(timed(_lifecycles(n, True)) for _ in range(3))
    ratio = sealed / plain
    ok = ratio <= TARGET
    print(f"BENCH privacy_sealed_commands ratio={ratio:.2f} target={TARGET} "
          f"{'PASS' if ok else 'FAIL'}")
    print(f"  {3 * n} commands: plain {plain * 1e6 / (3 * n):.0f} µs, sealed "
          f"{sealed * 1e6 / (3 * n):.0f} µs per command")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="small sizes; a missed target does not fail")
    args = parser.parse_args(argv)
    ratio = bench_sealing(200 if args.quick else 3_000)
    return 0 if ratio <= TARGET or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
