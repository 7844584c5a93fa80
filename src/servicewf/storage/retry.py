"""Retrying a command that lost an optimistic-concurrency race.

A :class:`~servicewf.errors.StaleVersion` means another writer changed the case between our
read and our write; nothing was written. The fix is to read again and re-decide, which is
what a function that *loads by id* does when it is simply called again::

    case = retry_on_conflict(lambda: engine.fire(case_id, "assign", actor=agent, data=d))

Pass the id, not a :class:`~servicewf.case.Case` value: a captured value is the stale read
itself, and re-firing it can only fail again. A refusal on the fresh read (the case moved on
to a state where the trigger is not allowed, say) is not a conflict and is raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from servicewf.errors import ConflictRetriesExhausted, StaleVersion  # the first re-exported

if TYPE_CHECKING:
    from servicewf.case import Case
    from servicewf.engine import Engine

__all__ = ["ConflictRetriesExhausted", "fire_with_retry", "retry_on_conflict"]

T = TypeVar("T")


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    delays: Sequence[float] = (),
    sleep: Callable[[float], None] = time.sleep,
    on_conflict: Callable[[StaleVersion, int], None] | None = None,
) -> T:
    """Call ``fn`` until it does not raise :class:`~servicewf.errors.StaleVersion`.

    ``fn`` must re-read what it decides on (e.g. ``engine.fire(case_id, ...)`` with an id).
    At most ``attempts`` calls are made; before retry ``n`` (1-based) it sleeps
    ``delays[n - 1]`` seconds (the last delay repeats; none when ``delays`` is empty) and calls
    ``on_conflict(error, n)``. When every attempt conflicts,
    :class:`ConflictRetriesExhausted` is raised (a ``StaleVersion``, chained to the last one).
    Any other exception propagates at once.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except StaleVersion as conflict:
            if attempt == attempts:
                raise ConflictRetriesExhausted(conflict, attempts) from conflict
            if on_conflict is not None:
                on_conflict(conflict, attempt)
            if delays:
                sleep(delays[min(attempt, len(delays)) - 1])
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def fire_with_retry(
    engine: Engine, case_id: str, trigger: str, *, attempts: int = 5, **kwargs: Any
) -> Case:
    """``engine.fire(case_id, trigger, **kwargs)`` retried on conflict, reloading the case
    each time; returns the new case."""
    return retry_on_conflict(lambda: engine.fire(case_id, trigger, **kwargs), attempts=attempts)
