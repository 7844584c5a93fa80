"""Discovery: a permissive plain-data definition from a log (the directly-follows graph).

The result is a starting point an integrator edits, not a model of what *should* happen: it
admits every move seen. In a state-snapshot log the states are the states seen; in an event
log the states are the activities (the state a case is in after one), one per activity.
Names become snake_case identifiers (:func:`slug`); the log's names are kept as English
labels, and import resolves a log's name through them. A synthetic initial state ``new``
leads to every first state (the trigger is the state's name); every directly-follows pair
becomes a transition (trigger: the target's name); states that end cases and are never
left are final; when a case ends in a state that is left elsewhere, a synthetic final state
``ended`` is reachable from it by ``end`` so the definition validates (every state reaches
a final one). It is checked against the definition schema and built before it is returned.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import jsonschema

from servicewf.definition import DEFINITION_SCHEMA
from servicewf.definition.data import definition_from_dict
from servicewf.interop.source import Log

__all__ = ["discover", "slug"]

_NAME = re.compile(r"[^a-z0-9_]+")
INITIAL = "new"
ENDED = "ended"


def slug(name: str) -> str:
    """A snake_case identifier for a log's name (``"Accepted-Wait - User"`` ->
    ``"accepted_wait_user"``): what definitions require of state ids and triggers."""
    text = _NAME.sub("_", name.lower()).strip("_") or "x"
    return text if text[0].isalpha() else f"s_{text}"


def _process_name(name: str) -> str:
    return slug(name)


def discover(log: Log, name: str = "imported", *, min_count: int = 1) -> dict[str, Any]:
    """The directly-follows definition of ``log`` as plain data (validated).

    ``min_count``: drop directly-follows pairs seen fewer times (a filter for noise; a
    state left with no way out then gets ``end``). States keep the log's names (they are
    identifiers); ``name`` becomes a process name (lower case, ``_``).
    """
    activity = log.columns.mode == "activity"
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    follows: Counter[tuple[str, str]] = Counter()
    seen: dict[str, None] = {}
    for rows in log.cases.values():
        previous: str | None = None
        for row in rows:
            state = row.label
            seen.setdefault(state, None)
            if previous is None:
                starts[state] += 1
            elif previous != state or activity:
                follows[(previous, state)] += 1
            previous = state
        if previous is not None:
            ends[previous] += 1
    reserved = {INITIAL, ENDED, "end"}
    rename: dict[str, str] = {}
    taken: set[str] = set(reserved)
    for s in seen:
        base = candidate = slug(s)
        n = 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        rename[s] = candidate
    edges = {pair for pair, n in follows.items() if n >= min_count}
    left = {a for a, _ in edges}
    finals = {s for s in seen if s in ends and s not in left}
    needs_end = sorted(s for s in seen if s not in finals and (s in ends or s not in left))
    states: list[dict[str, Any]] = [{"id": INITIAL, "initial": True}]
    states += [{"id": rename[s], "labels": {"en": s}, **({"final": True} if s in finals else {})}
               for s in seen]
    transitions: list[dict[str, Any]] = []
    for s in seen:
        if s in starts:
            transitions.append({"trigger": rename[s], "source": INITIAL, "dest": rename[s],
                                "labels": {"en": s}})
    for a, b in sorted(edges):
        transitions.append({"trigger": rename[b], "source": rename[a], "dest": rename[b],
                            "labels": {"en": b}})
    if needs_end or not finals:
        states.append({"id": ENDED, "final": True})
        for s in needs_end or sorted(seen):
            transitions.append({"trigger": "end", "source": rename[s], "dest": ENDED})
    data: dict[str, Any] = {
        "name": _process_name(name), "version": 1,
        "description": f"discovered from {len(log.cases)} cases (directly-follows, "
                       f"pairs seen at least {min_count} times)",
        "states": states, "transitions": transitions,
    }
    jsonschema.validate(data, DEFINITION_SCHEMA)
    definition_from_dict(data)  # every build-time check (reachability, finals)
    return data
