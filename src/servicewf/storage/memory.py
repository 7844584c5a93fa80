"""The in-memory store: the reference implementation of the storage contract."""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Iterable, Sequence

from servicewf.case import Case
from servicewf.clock import as_utc
from servicewf.errors import CaseAlreadyExists, CaseNotFound, StaleVersion
from servicewf.events import Event
from servicewf.storage.base import Store, Timer, check_append

__all__ = ["MemoryStore"]


def _states(state: str | Iterable[str] | None) -> frozenset[str] | None:
    if state is None:
        return None
    return frozenset((state,) if isinstance(state, str) else state)


class MemoryStore(Store):
    """Cases, histories and timers in dictionaries, guarded by one lock (thread-safe).

    Nothing survives the process; use it for tests, simulations and as the contract's
    reference. Values are immutable, so they are stored and returned as they are.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._cases: dict[str, Case] = {}
        self._events: dict[str, list[Event]] = {}
        self._timers: dict[str, list[Timer]] = {}
        self._leases: dict[tuple[str, str], tuple[str, _dt.datetime]] = {}

    def create(self, case: Case, events: Sequence[Event], timers: Sequence[Timer] = ()) -> None:
        check_append(case, events, 0)
        self._check_timers(case.id, timers)
        with self._lock:
            if case.id in self._cases:
                raise CaseAlreadyExists(f"case {case.id!r} exists already; choose another id")
            self._cases[case.id] = case
            self._events[case.id] = list(events)
            if timers:
                self._put_timers(case.id, timers)

    def load(self, case_id: str) -> Case:
        try:
            return self._cases[case_id]
        except KeyError:
            raise CaseNotFound(f"no case {case_id!r} in this store") from None

    def append(
        self,
        case: Case,
        events: Sequence[Event],
        *,
        expected_version: int,
        timers: Sequence[Timer] | None = None,
    ) -> None:
        check_append(case, events, expected_version)
        if timers is not None:
            self._check_timers(case.id, timers)
        with self._lock:
            current = self.load(case.id)
            if current.version != expected_version:
                raise StaleVersion(
                    f"case {case.id!r} is at version {current.version}, not "
                    f"{expected_version}: someone else changed it; reload it and retry",
                    case_id=case.id, expected=expected_version, actual=current.version,
                    trigger=events[0].trigger,
                )
            self._cases[case.id] = case
            self._events[case.id].extend(events)
            if timers is not None:
                self._put_timers(case.id, timers)

    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        with self._lock:
            if case_id not in self._events:
                raise CaseNotFound(f"no case {case_id!r} in this store")
            return self._events[case_id][after:]

    def find(
        self,
        *,
        process: str | None = None,
        state: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        wanted = _states(state)
        with self._lock:
            found = [
                c for c in self._cases.values()
                if (process is None or c.process == process)
                and (wanted is None or c.state in wanted)
            ]
        found.sort(key=lambda c: c.id)
        return found if limit is None else found[:limit]

    def count(self, *, process: str | None = None, state: str | Iterable[str] | None = None) -> int:
        wanted = _states(state)
        with self._lock:
            return sum(
                1 for c in self._cases.values()
                if (process is None or c.process == process)
                and (wanted is None or c.state in wanted)
            )

    def timers(self, case_id: str) -> list[Timer]:
        with self._lock:
            return sorted(self._timers.get(case_id, ()), key=lambda t: (t.due, t.name))

    def set_timers(self, case_id: str, timers: Sequence[Timer]) -> None:
        self._check_timers(case_id, timers)
        with self._lock:
            self.load(case_id)
            self._put_timers(case_id, timers)

    def due_timers(
        self, now: _dt.datetime, *, limit: int | None = None, process: str | None = None
    ) -> list[Timer]:
        cutoff = as_utc(now)
        with self._lock:
            due = [t for ts in self._timers.values() for t in ts
                   if t.due <= cutoff and (process is None or t.process == process)]
        due.sort(key=lambda t: (t.due, t.case_id, t.name))
        return due if limit is None else due[:limit]

    def claim_due_timers(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        process: str | None = None,
    ) -> list[Timer]:
        cutoff = as_utc(now)
        claimed: list[Timer] = []
        with self._lock:
            for timer in self.due_timers(cutoff, process=process):
                if len(claimed) >= limit:
                    break
                key = (timer.case_id, timer.name)
                held = self._leases.get(key)
                if held is not None and held[0] != owner and held[1] > cutoff:
                    continue
                self._leases[key] = (owner, cutoff + lease)
                claimed.append(timer)
        return claimed

    @staticmethod
    def _check_timers(case_id: str, timers: Sequence[Timer]) -> None:
        # Checked before anything is written, so a bad timer list leaves no partial write.
        names = [t.name for t in timers]
        if len(set(names)) != len(names):
            raise ValueError(f"timer names must be unique per case, got {names}")
        for t in timers:
            if t.case_id != case_id:
                raise ValueError(f"timer of case {t.case_id!r} given for case {case_id!r}")

    def _put_timers(self, case_id: str, timers: Sequence[Timer]) -> None:
        for old in self._timers.get(case_id, ()):
            self._leases.pop((case_id, old.name), None)
        if timers:
            ordered = sorted(timers, key=lambda t: (t.due, t.name))
            self._timers[case_id] = ordered
        else:
            self._timers.pop(case_id, None)


