"""The storage interface every backend implements.

A store keeps, per case, the latest snapshot (the :class:`~servicewf.case.Case` value), the
append-only history of :class:`~servicewf.events.Event` values, and the case's due timers.
Writes are atomic per call: snapshot, events and timers change together or not at all.
Concurrency is optimistic: every write names the version the writer read; a write against a
newer version fails with :class:`~servicewf.errors.StaleVersion` and writes nothing.

The contract (``tests/contract/``) is the executable specification; the in-memory store is
its reference implementation.
"""

from __future__ import annotations

import abc
import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from servicewf._frozen import frozen_mapping
from servicewf.case import Case
from servicewf.events import Event

__all__ = ["Store", "Timer", "check_append", "replace_timers"]


@attrs.frozen(slots=True)
class Timer:
    """A due instant of a case: ``name`` is unique per case (e.g. ``"sla:resolve"``).

    ``process`` lets a sweep pick timers of some processes only; ``payload`` is plain data for
    whoever processes the timer.
    """

    case_id: str
    name: str
    due: pendulum.DateTime
    process: str = ""
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)


def check_append(case: Case, events: Sequence[Event], expected_version: int) -> None:
    """Programming-error checks shared by every backend: the snapshot and events must continue
    the version the writer read, with contiguous sequence numbers."""
    if not events:
        raise ValueError("append() needs at least one event")
    if (len(events) == 1 and events[0].case_id == case.id
            and events[0].seq == case.version == expected_version + 1):
        return  # the engine's common case, checked in one expression
    for offset, event in enumerate(events, start=1):
        if event.case_id != case.id:
            raise ValueError(f"event for case {event.case_id!r} appended to case {case.id!r}")
        if event.seq != expected_version + offset:
            raise ValueError(
                f"event seq {event.seq} does not follow version {expected_version} "
                f"(expected {expected_version + offset})"
            )
    if case.version != expected_version + len(events):
        raise ValueError(
            f"snapshot version {case.version} does not match {expected_version} + "
            f"{len(events)} events"
        )


class Store(abc.ABC):
    """Where cases, their histories and their timers live."""

    @abc.abstractmethod
    def create(self, case: Case, events: Sequence[Event], timers: Sequence[Timer] = ()) -> None:
        """Store a new case with its first events (``case.version == len(events)``).

        Raises :class:`~servicewf.errors.CaseAlreadyExists` when the id is taken.
        """

    @abc.abstractmethod
    def load(self, case_id: str) -> Case:
        """The latest snapshot; :class:`~servicewf.errors.CaseNotFound` when there is none."""

    @abc.abstractmethod
    def append(
        self,
        case: Case,
        events: Sequence[Event],
        *,
        expected_version: int,
        timers: Sequence[Timer] | None = None,
    ) -> None:
        """Append ``events`` and replace the snapshot with ``case``, atomically.

        ``expected_version`` is the version the writer read; if the stored case is at another
        version, :class:`~servicewf.errors.StaleVersion` is raised and nothing is written.
        ``timers``, when not ``None``, replace every timer of the case in the same write.
        """

    @abc.abstractmethod
    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        """The case's events with ``seq > after``, in order."""

    @abc.abstractmethod
    def find(
        self,
        *,
        process: str | None = None,
        state: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Cases of ``process`` in ``state`` (any when ``None``), ordered by id."""

    @abc.abstractmethod
    def count(self, *, process: str | None = None, state: str | Iterable[str] | None = None) -> int:
        """How many cases :meth:`find` would return without a limit."""

    @abc.abstractmethod
    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, ordered by due instant then name."""

    @abc.abstractmethod
    def set_timers(self, case_id: str, timers: Sequence[Timer]) -> None:
        """Replace every timer of the case (the case must exist)."""

    @abc.abstractmethod
    def due_timers(
        self, now: _dt.datetime, *, limit: int | None = None, process: str | None = None
    ) -> list[Timer]:
        """Timers with ``due <= now``, earliest first (leases are ignored)."""

    @abc.abstractmethod
    def claim_due_timers(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        process: str | None = None,
    ) -> list[Timer]:
        """Lease up to ``limit`` due timers to ``owner`` until ``now + lease``.

        A timer leased to another owner is skipped until its lease expires, so a worker that
        dies mid-sweep delays its timers by one lease and loses none. Processing a timer
        replaces the case's timers (``append(..., timers=...)``), which ends the lease.
        """

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release resources (connections, files). The in-memory store has none."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replace_timers(store: Store, case_id: str, prefix: str, timers: Sequence[Timer]) -> None:
    """Replace the case's timers whose names start with ``prefix`` by ``timers``, keeping the
    timers other subsystems own on the same case (``set_timers`` replaces them all).

    For a sweep handler that settles a timer without writing an event; a command's own
    timers go through ``append(..., timers=...)``.
    """
    wrong = [t.name for t in timers if not t.name.startswith(prefix)]
    if wrong:
        raise ValueError(f"timers {wrong} do not start with {prefix!r}; a subsystem replaces "
                         "only its own timers")
    others = [t for t in store.timers(case_id) if not t.name.startswith(prefix)]
    store.set_timers(case_id, [*others, *timers])
