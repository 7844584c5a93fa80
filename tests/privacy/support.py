"""A privacy-enabled built-in stack on any backend."""

from __future__ import annotations

import pendulum

from servicewf import Actor, FrozenClock
from servicewf.privacy import Privacy, consent_definition
from servicewf.processes.stack import builtin_stack
from servicewf.storage import Store

T0 = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")
SECRET = b"test-secret-0123456789abcdef"
AGENT = Actor("li", "agent")
FINANCE = Actor("fa", "finance")
CUSTOMER = Actor("c-9", "customer")
DPO = Actor("dpo-1", "dpo")


def privacy_stack(store: Store, **kw: object):  # type: ignore[no-untyped-def]
    """(stack, privacy, clock): the built-in stack with the privacy processor and the
    consent process registered."""
    clock = FrozenClock(T0)
    stack = builtin_stack(store, clock)
    stack.engine.registry.add(consent_definition())
    privacy = Privacy(store, clock, secret=SECRET, **kw)  # type: ignore[arg-type]
    stack.engine.processors.append(privacy.processor())
    return stack, privacy, clock
