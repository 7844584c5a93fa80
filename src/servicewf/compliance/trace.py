"""A case history prepared once for every rule: activities, their positions, data as of each
event, times in epoch microseconds.

The checker builds one :class:`Trace` per case and hands it to every rule, so the work that
depends only on the history (naming each event's activity, indexing positions, indexing the data
fields) is done once per case, however many rules there are.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from servicewf._frozen import FrozenDict
from servicewf.clock import epoch_us
from servicewf.events import Event, EventKind

__all__ = ["Trace", "activity"]

_OPENED = EventKind.OPENED
_MAPPINGS = (dict, FrozenDict, MappingProxyType)  # before the (slower) Mapping ABC


def activity(event: Event) -> str:
    """The activity an event stands for in a rule: its trigger (``register``, ``close``...),
    ``"open"`` for the opening event, else its kind (``clock_breached``, ``note``...)."""
    trigger = event.trigger
    if trigger:
        return trigger
    kind = event.kind
    return "open" if kind is _OPENED else kind.value


class Trace:
    """One case's history, indexed for the rules.

    ``complete`` says the case can get no more events (it reached a final state, or the log is
    known to be finished); ``as_of_us`` is the instant the verdicts are given at; ``sla``
    the SLA clocks' state stored with the case for exactly these events, when known.
    """

    __slots__ = ("_clocks", "_clocks_of", "_fields", "_pos", "_pos_n", "_times",
                 "acts", "as_of_us", "case_id", "complete", "events", "process", "seqs", "sla",
                 "start")

    def __init__(self, case_id: str, process: str | None, events: Sequence[Event], *,
                 complete: bool, as_of_us: int | None, sla: Any = None) -> None:
        self.case_id = case_id
        self.process = process
        self.events = events
        self.complete = complete
        acts: list[str] = []
        pos: dict[str, list[int]] = {}
        for i, e in enumerate(events):
            a = e.trigger or ("open" if e.kind is _OPENED else e.kind.value)
            acts.append(a)
            found = pos.get(a)
            if found is None:
                pos[a] = [i]
            else:
                found.append(i)
        self.acts = acts
        self._pos = pos
        self._pos_n = len(acts)  # the events indexed in _pos (append() leaves the rest)
        self.seqs = [e.seq for e in events]
        # Built when first read; append() keeps _fields up to date, the instants are indexed
        # when next read (times()).
        self._times: list[int] | None = None
        self._fields: dict[str, tuple[list[int], list[Any]]] | None = None
        self.as_of_us = as_of_us
        self.start = 0
        """Prefix-stable rules judge only activations from this position on (the incremental
        checker sets it to the first new event; their earlier verdicts cannot change)."""
        self._clocks_of: Any = None
        self._clocks: dict[Any, Mapping[str, Any]] = {}
        self.sla = sla
        """The SLA record as the processor stored it with the case for exactly this history
        (``case.extensions["sla"]``), when known: timing rules read it instead of folding
        the history again."""

    def extend(self, events: Sequence[Event]) -> None:
        """Append ``events`` (the next ones of the same case) to the indexes built so far."""
        append = self.append
        for e in events:
            append(e)

    def append(self, event: Event) -> str:
        """Append ``event`` (the next one of the same case); return its activity. One command
        writes one event: the incremental checker's path for it, so only what the rules
        read at every command is indexed here (activities, sequence numbers, the data fields
        once indexed); positions and instants are indexed when next read, all the new events
        at once."""
        events = self.events
        if type(events) is not list:
            events = self.events = list(events)
        k = len(events)
        events.append(event)
        a = event.trigger or ("open" if event.kind is _OPENED else event.kind.value)
        self.acts.append(a)
        self.seqs.append(event.seq)
        fields = self._fields
        if fields is not None:
            for f, v in event.data.items():
                slot = fields.get(f)
                if slot is None:
                    fields[f] = ([k], [v])
                else:
                    slot[0].append(k)
                    slot[1].append(v)
        return a

    def _index_positions(self) -> None:
        """Index the positions of the events appended since _pos was last brought up to
        date."""
        pos, acts = self._pos, self.acts
        for k in range(self._pos_n, len(acts)):
            a = acts[k]
            found = pos.get(a)
            if found is None:
                pos[a] = [k]
            else:
                found.append(k)
        self._pos_n = len(acts)

    def times(self) -> list[int]:
        """The instant of every event in epoch microseconds (kept: extended when read after
        events were appended)."""
        times = self._times
        events = self.events
        if times is None:
            times = self._times = [epoch_us(e.at) for e in events]
        elif len(times) != len(events):
            times += [epoch_us(events[k].at) for k in range(len(times), len(events))]
        return times

    def fields(self) -> dict[str, tuple[list[int], list[Any]]]:
        """Every data field: the positions of the events that gave it and the values given
        (built when first read, then kept up to date by append())."""
        fields = self._fields
        if fields is None:
            fields = self._fields = self._index_fields()
        return fields

    def clock_entry(self, clock: str) -> Mapping[str, Any] | None:
        """The entry of ``clock`` in :attr:`sla` (as :func:`~servicewf.compliance.rules.
        clock_entry`), from an index built once per record: every clock rule of a case reads
        the same record after a command."""
        sla = self.sla
        if sla is not self._clocks_of:
            index: dict[Any, Mapping[str, Any]] = {}
            if type(sla) in _MAPPINGS or isinstance(sla, Mapping):
                for entry in sla.get("clocks") or ():
                    if type(entry) in _MAPPINGS or isinstance(entry, Mapping):
                        index.setdefault(entry.get("name"), entry)
            self._clocks = index
            self._clocks_of = sla  # held: its id is not reused while it is compared
        return self._clocks.get(clock)

    def __len__(self) -> int:
        return len(self.events)

    def positions(self, names: frozenset[str]) -> list[int]:
        """The positions (0-based) of the events whose activity is in ``names``, in order."""
        if self._pos_n != len(self.acts):
            self._index_positions()
        if len(names) == 1:
            for n in names:
                return self._pos.get(n, [])
        found = [self._pos[n] for n in names if n in self._pos]
        if not found:
            return []
        if len(found) == 1:
            return found[0]
        return sorted(i for p in found for i in p)

    def has(self, names: frozenset[str]) -> bool:
        """Whether some event's activity is in ``names``."""
        if self._pos_n != len(self.acts):
            self._index_positions()
        pos = self._pos
        return any(n in pos for n in names)

    def time_us(self, i: int) -> int:
        """The instant of event ``i`` in epoch microseconds."""
        times = self._times
        if times is None or len(times) != len(self.events):
            times = self.times()
        return times[i]

    def end_us(self) -> int:
        """The instant verdicts are given at: ``as_of`` or, without one, the last event."""
        if self.as_of_us is not None:
            return self.as_of_us
        return self.time_us(len(self.events) - 1) if self.events else 0

    def value_at(self, field: str, i: int) -> Any:
        """The value of ``field`` in the case data just after event ``i`` (later values win),
        or ``None`` when no event up to ``i`` supplied it."""
        found = self.fields().get(field)
        if found is None:
            return None
        where, values = found
        k = bisect.bisect_right(where, i)
        return values[k - 1] if k else None

    def values_until(self, field: str, i: int) -> list[Any]:
        """Every value ``field`` was given by events up to ``i``, in order."""
        found = self.fields().get(field)
        if found is None:
            return []
        where, values = found
        return values[: bisect.bisect_right(where, i)]

    def _index_fields(self) -> dict[str, tuple[list[int], list[Any]]]:
        out: dict[str, tuple[list[int], list[Any]]] = {}
        for i, e in enumerate(self.events):
            data: Mapping[str, Any] = e.data
            for k, v in data.items():
                slot = out.get(k)
                if slot is None:
                    out[k] = ([i], [v])
                else:
                    slot[0].append(i)
                    slot[1].append(v)
        return out

    def seqs_of(self, positions: Iterable[int]) -> tuple[int, ...]:
        """The events' sequence numbers at ``positions``."""
        seqs = self.seqs
        return tuple(seqs[i] for i in positions)
