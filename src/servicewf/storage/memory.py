"""The in-memory store: the reference implementation of the storage contract."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from servicewf._frozen import names_tuple
from servicewf.case import Case
from servicewf.clock import as_utc, epoch_us
from servicewf.errors import CaseAlreadyExists, CaseNotFound, StaleVersion, StorageError
from servicewf.events import Event
from servicewf.storage.base import (
    DEAD,
    DELIVERED,
    PENDING,
    LogEntry,
    OutboxEntry,
    QuarantinedTimer,
    Store,
    Timer,
    WriteSet,
    backoff,
    check_log_limit,
    check_status,
    check_timers,
    claim_owner,
    decode_quarantine,
    encode_quarantine,
    quarantine_delay,
    unowned_timers,
)

__all__ = ["MemoryStore"]

# Stale heap entries tolerated before a rebuild (and there must be more stale than current
# ones): a rebuild costs O(current), so it runs after as many replacements and costs O(1) each.
_COMPACT_MIN = 1024

# One entry of the due-time index: [due in epoch µs, case id, timer name, write number, timer].
# A list, not a tuple, so that replacing a case's timers can update its entries in place: a
# timer rewritten with the same due instant keeps its entry (new timer in the slot), the others
# are marked stale (timer slot set to None) instead of being searched for in the heap. The
# first four fields are unique (the write number tells apart a stale entry from a later one),
# so comparisons never reach the timer slot.
_Entry = list[Any]
_DUE, _CASE, _NAME, _WRITE, _TIMER = range(5)


def _states(state: str | Iterable[str] | None) -> frozenset[str] | None:
    if state is None:
        return None
    return frozenset(names_tuple(state))


class MemoryStore(Store):
    """Cases, histories and timers in dictionaries, guarded by one lock (thread-safe).

    Nothing survives the process; use it for tests, simulations and as the contract's
    reference. Values are immutable, so they are stored and returned as they are.

    Due timers are found through an index ordered by due instant, so :meth:`due_timers` and
    :meth:`claim_due_timers` cost about O(k log k) for the k timers due (plus O(log n) upkeep
    per written timer), not a scan of all n timers.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._cases: dict[str, Case] = {}
        self._events: dict[str, list[Event]] = {}
        # The global log: the event at index i has position i + 1. Appended under the lock
        # in the same step as the case's history, so log order is commit order.
        self._log: list[Event] = []
        self._timers: dict[str, list[Timer]] = {}
        self._leases: dict[tuple[str, str], tuple[str, _dt.datetime]] = {}
        # The due-time index: a binary heap (stdlib ``heapq``) with lazy deletion. A heap, not
        # a sorted list kept with ``bisect.insort``: inserting into a list shifts O(n) items,
        # and every engine write that touches SLA clocks replaces a case's timers, so writes
        # must stay cheap; a heap insert is O(log n), and replaced timers are only marked
        # stale and dropped later (from the top by queries, or by a rebuild).
        self._heap: list[_Entry] = []
        # case id -> timer name -> the timer's current heap entry
        self._entries: dict[str, dict[str, _Entry]] = {}
        self._writes = itertools.count(1)
        self._stale = 0  # entries in the heap that are no longer current
        # The outbox: entries by message id (insertion order = write order), and leases.
        self._outbox: dict[str, OutboxEntry] = {}
        self._pending: dict[str, None] = {}  # ids of pending messages: what claims scan
        self._outbox_leases: dict[str, tuple[str, _dt.datetime]] = {}

    def load(self, case_id: str) -> Case:
        try:
            return self._cases[case_id]
        except KeyError:
            raise CaseNotFound.for_id(case_id) from None

    def _apply(self, write: WriteSet) -> None:
        case, expected, owned = write.case, write.expected_version, write.timers
        cid = case.id
        # A new case has no timers (cases are never removed): timer groups that are all
        # empty (an imported case whose clocks stopped) replace nothing.
        replace = bool(owned) and (expected != 0 or any(owned.values()))
        dues = self._dues(cid, [t for g in owned.values() for t in g]) if replace else []
        with self._lock:
            cases = self._cases
            if expected == 0:
                if cid in cases:
                    raise CaseAlreadyExists.for_id(cid)
            else:
                current = cases.get(cid)
                if current is None:
                    current = self.load(cid)  # raises CaseNotFound
                if current.version != expected:
                    raise StaleVersion.for_case(cid, expected, current.version,
                                                write.events[0].trigger)
            if write.outbox:
                self._add_outbox(write)
            events = write.events
            if expected == 0:
                self._events[cid] = list(events)
            else:
                self._events[cid].extend(events)
            cases[cid] = case
            self._log.extend(events)
            if replace:
                self._replace_owned(cid, owned, dues)
            elif owned:
                self._compact()  # what replacing nothing would have done

    def _add_outbox(self, write: WriteSet) -> None:
        """Add the write's messages (caller holds the lock; a taken id refuses the whole
        write before anything changed, as the SQL primary key does)."""
        taken = [m.id for m in write.outbox if m.id in self._outbox]
        if taken:
            raise StorageError(
                f"outbox message id {taken[0]!r} is taken; nothing was written — message ids "
                "are unique per store (build them from the case, the event and the topic)")
        for m in write.outbox:
            self._outbox[m.id] = OutboxEntry(m, PENDING, 0, as_utc(m.created_at))
            self._pending[m.id] = None

    def claim_outbox(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        recipient: str | None = None,
    ) -> list[OutboxEntry]:
        cutoff = as_utc(now)
        until = cutoff + lease
        if limit <= 0:
            return []
        with self._lock:
            entries = self._outbox
            due = [e for e in (entries[i] for i in self._pending)
                   if e.next_attempt_at <= cutoff
                   and (recipient is None or e.message.recipient == recipient)]
            due.sort(key=lambda e: (e.next_attempt_at, e.message.created_at, e.message.id))
            claimed: list[OutboxEntry] = []
            for entry in due:
                held = self._outbox_leases.get(entry.message.id)
                if held is not None and held[0] != owner and held[1] > cutoff:
                    continue
                self._outbox_leases[entry.message.id] = (owner, until)
                claimed.append(entry)
                if len(claimed) >= limit:
                    break
        return claimed

    def _entry(self, message_id: str) -> OutboxEntry:
        try:
            return self._outbox[message_id]
        except KeyError:
            raise KeyError(f"no outbox message {message_id!r}") from None

    def _delivered(self, entry: OutboxEntry, at: pendulum.DateTime) -> OutboxEntry:
        """Record ``entry`` delivered at ``at`` (the first delivery stands) and end its lease;
        under the lock."""
        message_id = entry.message.id
        if entry.status != DELIVERED:
            entry = attrs.evolve(entry, status=DELIVERED, delivered_at=at)
            self._outbox[message_id] = entry
            self._pending.pop(message_id, None)
        self._outbox_leases.pop(message_id, None)
        return entry

    def mark_delivered(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        with self._lock:
            return self._delivered(self._entry(message_id), as_utc(now))

    def mark_delivered_many(self, message_ids: Sequence[str], *, now: _dt.datetime) -> None:
        with self._lock:
            entries = [self._entry(m) for m in dict.fromkeys(message_ids)]  # all known first
            at = as_utc(now)
            for entry in entries:
                self._delivered(entry, at)

    def mark_failed(
        self,
        message_id: str,
        *,
        now: _dt.datetime,
        error: str,
        max_attempts: int,
        base_delay: _dt.timedelta,
        max_delay: _dt.timedelta,
    ) -> OutboxEntry:
        at = as_utc(now)
        with self._lock:
            entry = self._entry(message_id)
            if entry.status != PENDING:
                return entry
            attempts = entry.attempts + 1
            if attempts >= max_attempts:
                entry = attrs.evolve(entry, status=DEAD, attempts=attempts, last_error=error)
                self._pending.pop(message_id, None)
            else:
                entry = attrs.evolve(entry, attempts=attempts, last_error=error,
                                     next_attempt_at=at + backoff(attempts, base_delay,
                                                                  max_delay))
            self._outbox[message_id] = entry
            self._outbox_leases.pop(message_id, None)
            return entry

    def requeue(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        with self._lock:
            entry = self._entry(message_id)
            if entry.status == DELIVERED:
                return entry
            entry = attrs.evolve(entry, status=PENDING, attempts=0,
                                 next_attempt_at=as_utc(now))
            self._outbox[message_id] = entry
            self._pending[message_id] = None
            self._outbox_leases.pop(message_id, None)
            return entry

    def outbox(
        self, *, status: str | None = None, case_id: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        check_status(status)
        with self._lock:
            found = [e for e in self._outbox.values()
                     if (status is None or e.status == status)
                     and (case_id is None or e.message.case_id == case_id)]
        found.sort(key=lambda e: (e.message.created_at, e.message.id))
        return found if limit is None else found[:limit]

    def count_outbox(self, *, status: str | None = None) -> int:
        check_status(status)
        with self._lock:
            return sum(1 for e in self._outbox.values() if status is None or e.status == status)

    def _replace_owned(
        self, case_id: str, owned: Mapping[str, Sequence[Timer]], dues: list[int]
    ) -> None:
        """Replace the timers under each owner prefix of ``owned`` (caller holds the lock)."""
        new = [t for g in owned.values() for t in g]
        if "" not in owned:
            current = self._timers.get(case_id)
            kept = unowned_timers(current, owned) if current else None
            if kept:
                dues = [*self._dues(case_id, kept), *dues]
                new = [*kept, *new]
                if self._leases:
                    # Leases (and quarantines) of the timers kept are theirs still, as in
                    # SQL, where only the replaced rows are rewritten.
                    held = {t.name: self._leases.get((case_id, t.name)) for t in kept}
                    self._put_timers(case_id, new, dues)
                    for name, lease in held.items():
                        if lease is not None:
                            self._leases[(case_id, name)] = lease
                    return
        self._put_timers(case_id, new, dues)

    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        with self._lock:
            if case_id not in self._events:
                raise CaseNotFound.for_id(case_id)
            return self._events[case_id][after:]

    def read_log(self, after: int = 0, *, limit: int | None = None) -> list[LogEntry]:
        check_log_limit(limit)
        start = max(after, 0)
        with self._lock:
            chunk = self._log[start:] if limit is None else self._log[start:start + limit]
        return [LogEntry(position, e) for position, e in enumerate(chunk, start=start + 1)]

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

    def set_timers(self, case_id: str, timers: Sequence[Timer], *, prefix: str = "") -> None:
        check_timers(case_id, timers, prefix)
        dues = self._dues(case_id, timers)
        with self._lock:
            self.load(case_id)
            self._replace_owned(case_id, {prefix: timers}, dues)

    def due_timers(
        self, now: _dt.datetime, *, limit: int | None = None, process: str | None = None
    ) -> list[Timer]:
        cutoff = epoch_us(as_utc(now))
        due: list[Timer] = []
        if limit is not None and limit <= 0:
            # A negative limit has always sliced (``due[:limit]``): kept as it was.
            return self.due_timers(now, process=process)[:limit] if limit else due
        with self._lock:
            self._prune_top()
            if limit is None:
                return [t for t in self._all_due(cutoff)
                        if process is None or t.process == process]
            for timer in self._due(cutoff):
                if process is None or timer.process == process:
                    due.append(timer)
                    if len(due) == limit:
                        break
        return due

    def claim_due_timers(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        process: str | None = None,
        on_corrupt: Callable[[QuarantinedTimer], None] | None = None,
    ) -> list[Timer]:
        # Values are kept as written: no row here can fail to decode (``on_corrupt`` unused).
        cutoff = as_utc(now)
        until = cutoff + lease
        claimed: list[Timer] = []
        if limit <= 0:
            return claimed
        with self._lock:
            self._prune_top()
            leases = self._leases
            for timer in self._due(epoch_us(cutoff)):
                if process is not None and timer.process != process:
                    continue
                key = (timer.case_id, timer.name)
                held = leases.get(key)
                if held is not None and held[0] != owner and held[1] > cutoff:
                    continue
                leases[key] = (owner if held is None else claim_owner(held[0], owner), until)
                claimed.append(timer)
                if len(claimed) >= limit:
                    break
        return claimed

    def quarantine_timer(self, case_id: str, name: str, *, now: _dt.datetime, reason: str,
                         backoff: _dt.timedelta) -> QuarantinedTimer | None:
        with self._lock:
            if name not in self._entries.get(case_id, {}):
                return None
            key = (case_id, name)
            held = self._leases.get(key)
            q = None if held is None else decode_quarantine(held[0])
            attempts = 1 if q is None else q[0] + 1
            until = as_utc(now) + quarantine_delay(attempts, backoff)
            self._leases[key] = (encode_quarantine(attempts, reason), until)
            return QuarantinedTimer(case_id, name, attempts, until, reason)

    def quarantined_timers(self) -> list[QuarantinedTimer]:
        with self._lock:
            out = []
            for (case_id, name), (owner, until) in sorted(self._leases.items()):
                q = decode_quarantine(owner)
                if q is not None:
                    out.append(QuarantinedTimer(case_id, name, q[0], until, q[1]))
            return out

    def _due(self, cutoff_us: int) -> Iterator[Timer]:
        """Current timers with ``due <= cutoff_us``, ordered by (due, case id, name), lazily.

        Walks the heap without changing it (the caller holds the lock): a small frontier heap
        of heap positions yields entries in order, visiting only due entries and their
        children, so taking the first m costs O(m log m) however many timers there are.
        """
        heap = self._heap
        size = len(heap)
        if not size or heap[0][_DUE] > cutoff_us:
            return
        pop, push = heapq.heappop, heapq.heappush
        frontier: list[tuple[_Entry, int]] = [(heap[0], 0)]
        while frontier:
            entry, i = pop(frontier)
            timer = entry[_TIMER]
            if timer is not None:
                yield timer
            child = 2 * i + 1
            if child < size:
                below = heap[child]
                if below[_DUE] <= cutoff_us:
                    push(frontier, (below, child))
                child += 1
                if child < size:
                    below = heap[child]
                    if below[_DUE] <= cutoff_us:
                        push(frontier, (below, child))

    def _all_due(self, cutoff_us: int) -> list[Timer]:
        """Every current timer with ``due <= cutoff_us``, in the order of :meth:`_due`.

        When all are wanted, collecting the due part of the heap (a subtree at its top) and
        sorting it once is about three times faster than the lazy walk.
        """
        heap = self._heap
        size = len(heap)
        found: list[_Entry] = []
        stack = [0] if size and heap[0][_DUE] <= cutoff_us else []
        while stack:
            i = stack.pop()
            found.append(heap[i])
            for child in (2 * i + 1, 2 * i + 2):
                if child < size and heap[child][_DUE] <= cutoff_us:
                    stack.append(child)
        found.sort()
        return [e[_TIMER] for e in found if e[_TIMER] is not None]

    def _dues(self, case_id: str, timers: Sequence[Timer]) -> list[int]:
        """The due instants of ``timers`` in epoch µs. A timer that is the very object of a
        current index entry has that entry's instant (an entry's instant never changes, and
        its timer slot only ever holds a timer due then): a write mostly hands back the
        case's unchanged timers, and converting an instant costs more than the rest of a
        timer's upkeep. Safe without the lock: both slots are read once, in that order."""
        known = self._entries.get(case_id)
        if not known:
            return [epoch_us(t.due) for t in timers]
        out = []
        for t in timers:
            entry = known.get(t.name)
            out.append(entry[_DUE] if entry is not None and entry[_TIMER] is t
                       else epoch_us(t.due))
        return out

    def _put_timers(self, case_id: str, timers: Sequence[Timer], dues: list[int]) -> None:
        """Replace the case's timers (``dues``: their instants, from :meth:`_check_timers`)."""
        leases = self._leases
        if leases:  # (mostly none: only a sweep holds them, briefly)
            for old in self._timers.get(case_id, ()):
                leases.pop((case_id, old.name), None)
        previous = self._entries.pop(case_id, {})
        if timers:
            self._timers[case_id] = list(timers)  # timers() sorts what it returns
            heap, write = self._heap, next(self._writes)
            current: dict[str, _Entry] = {}
            for t, due in zip(timers, dues, strict=True):
                entry = previous.get(t.name)
                if entry is not None and entry[_DUE] == due:
                    # Same name, same instant: same place in the order. Most writes rewrite
                    # the timers they had, so reusing the entry spares a push and a stale one.
                    del previous[t.name]
                    entry[_TIMER] = t
                else:
                    entry = [due, case_id, t.name, write, t]
                    heapq.heappush(heap, entry)
                current[t.name] = entry
            self._entries[case_id] = current
        else:
            self._timers.pop(case_id, None)
        for entry in previous.values():
            entry[_TIMER] = None  # stale: skipped by queries, dropped later
        self._stale += len(previous)
        self._compact()

    def _compact(self) -> None:
        """Rebuild the heap when stale entries outnumber the current ones (caller holds the
        lock)."""
        if self._stale > _COMPACT_MIN and self._stale > len(self._heap) - self._stale:
            # Rebuilt from the current entries: O(current), not a scan of the stale ones.
            self._heap = [e for entries in self._entries.values() for e in entries.values()]
            heapq.heapify(self._heap)
            self._stale = 0

    def _prune_top(self) -> None:
        """Drop stale entries from the top of the heap, where queries start walking.

        Done by queries rather than writes: a write stays O(log n), and timers replaced after
        they fell due (what a sweep does) stop being walked over by the next claim.
        """
        heap = self._heap
        while heap and heap[0][_TIMER] is None:
            heapq.heappop(heap)
            self._stale -= 1
