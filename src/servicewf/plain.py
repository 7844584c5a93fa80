"""The plain-data contract and the identifier rule, checked once at the engine boundary.

Every store keeps exactly what JSON can say, so every store accepts the same data only if
the engine refuses the rest before anything is written. The contract:

* values: ``None``, ``bool``, ``int`` (64-bit signed), ``float`` (finite), ``str``, lists
  (or tuples) and mappings of those. Exact types only: ``Decimal``, ``bytes``, sets,
  datetimes, enums, NumPy scalars and pandas values are refused, with the conversion to
  make in the message (instants travel as ISO-8601 text with an offset,
  ``moment.isoformat()``);
* mapping keys are ``str`` (an integer key would come back from JSON as text, and
  ``{1: "a", "1": "b"}`` would lose a value);
* text holds no NUL character and no lone surrogate (PostgreSQL and UTF-8 refuse them);
* at most :data:`MAX_DEPTH` levels of nesting, :data:`MAX_ITEMS` values in all and
  :data:`MAX_TEXT` characters of text in all.

Checking also freezes: the result holds :class:`~servicewf._frozen.FrozenDict` and
:class:`~servicewf._frozen.FrozenList` copies, so the caller's objects can change afterwards
without touching the case. A refusal is :class:`~servicewf.errors.InvalidData` naming the
path of the value, never the value (it may be a customer's phone number).

Identifiers (case ids, actor ids, roles, triggers, event kinds) follow one rule:
:func:`check_identifier`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from servicewf._frozen import FrozenDict, FrozenList
from servicewf.errors import InvalidData, InvalidIdentifier

__all__ = [
    "MAX_DEPTH",
    "MAX_IDENTIFIER",
    "MAX_ITEMS",
    "MAX_TEXT",
    "FrozenDict",
    "FrozenList",
    "check_comment",
    "check_identifier",
    "check_stored",
    "freeze_trusted",
    "frozen_mapping",
    "plain_data",
    "shape_repr",
]

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings inside one value (the top mapping is level 1)."""

MAX_ITEMS = 10_000
"""Most values (scalars and containers) in one piece of data."""

MAX_TEXT = 1_000_000
"""Most characters of text (values and keys) in one piece of data."""

MAX_IDENTIFIER = 200
"""Longest identifier, in characters (the SQL stores' key columns hold 200)."""

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_SCALARS = (bool, int, float, str)

# What to do instead, for the types people most often pass by mistake.
_ADVICE = {
    "datetime": "pass instants as ISO-8601 text with an offset (moment.isoformat())",
    "DateTime": "pass instants as ISO-8601 text with an offset (moment.isoformat())",
    "Timestamp": "pass instants as ISO-8601 text with an offset (moment.isoformat())",
    "date": "pass dates as ISO-8601 text (day.isoformat())",
    "Date": "pass dates as ISO-8601 text (day.isoformat())",
    "time": "pass times of day as ISO-8601 text",
    "timedelta": "pass durations as a number of seconds or minutes",
    "Decimal": "pass amounts as text (str(amount)) or as integer minor units",
    "bytes": "pass binary content as base64 text, or store it elsewhere and pass a reference",
    "bytearray": "pass binary content as base64 text, or store it elsewhere and pass a "
                 "reference",
    "set": "pass a list (sorted(values))",
    "frozenset": "pass a list (sorted(values))",
}


class _Walk:
    """One check of one piece of data: counts items and text as it freezes."""

    __slots__ = ("case_id", "items", "text", "trigger")

    def __init__(self, case_id: str | None, trigger: str | None) -> None:
        self.case_id = case_id
        self.trigger = trigger
        self.items = 0
        self.text = 0

    def refuse(self, path: str, problem: str) -> InvalidData:
        return InvalidData(
            f"{path} {problem}; supply plain JSON data (see servicewf.plain for the contract)",
            path=path, problem=problem, case_id=self.case_id, trigger=self.trigger,
        )

    def count(self, path: str, text: int = 0) -> None:
        self.items += 1
        self.text += text
        if self.items > MAX_ITEMS:
            raise self.refuse(path, f"exceeds the limit of {MAX_ITEMS} values in one command")
        if self.text > MAX_TEXT:
            raise self.refuse(path, f"exceeds the limit of {MAX_TEXT} characters of text")

    def text_problem(self, value: str) -> str | None:
        if "\x00" in value:
            return "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode text)"
        return None

    def value(self, value: Any, path: str, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            self.count(path, len(value))
            problem = self.text_problem(value) if not value.isascii() or "\x00" in value \
                else None
            if problem:
                raise self.refuse(path, problem)
            return value
        if kind is bool or value is None:
            self.count(path)
            return value
        if kind is int:
            self.count(path)
            if not _INT_MIN <= value <= _INT_MAX:
                raise self.refuse(path, "is an integer outside the 64-bit range; pass it as text")
            return value
        if kind is float:
            self.count(path)
            if not math.isfinite(value):
                raise self.refuse(path, "is not a finite number (NaN and infinities have no "
                                        "JSON form)")
            return value
        if kind is FrozenDict or kind is FrozenList:
            # Frozen on the way in by this same check, so known to be plain; counting its
            # size would cost a walk, so it counts as one item.
            self.count(path)
            return value
        if kind is dict or kind is MappingProxyType:
            return self.mapping(value, path, depth + 1)
        if kind is list or kind is tuple:
            if depth + 1 > MAX_DEPTH:
                raise self.refuse(path, f"nests deeper than {MAX_DEPTH} levels")
            self.count(path)
            return FrozenList([self.value(v, f"{path}[{i}]", depth + 1)
                               for i, v in enumerate(value)])
        name = kind.__name__
        module = kind.__module__
        shown = name if module in ("builtins", None) else f"{module}.{name}"
        advice = _ADVICE.get(name)
        if advice is None and isinstance(value, _SCALARS):
            base = next(b for b in _SCALARS if isinstance(value, b))
            advice = f"convert it to a plain {base.__name__} first"
        if advice is None and module.split(".")[0] == "numpy":
            advice = "convert it with .item() first"
        raise self.refuse(path, f"is a {shown}, which is not plain data"
                                + (f"; {advice}" if advice else ""))

    def mapping(self, value: Mapping[Any, Any], path: str, depth: int) -> FrozenDict:
        if depth > MAX_DEPTH:
            raise self.refuse(path, f"nests deeper than {MAX_DEPTH} levels")
        self.count(path)
        out: dict[str, Any] = {}
        for position, (key, item) in enumerate(value.items()):
            if type(key) is not str:
                raise self.refuse(path, f"has a key of type {type(key).__name__} (key number "
                                        f"{position + 1}); mapping keys must be text")
            problem = self.text_problem(key) if not key.isascii() or "\x00" in key else None
            if problem:
                raise self.refuse(path, f"has a key that {problem} (key number {position + 1})")
            self.text += len(key)
            out[key] = self.value(item, _child(path, key, position), depth)
        return FrozenDict(out)


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _child(path: str, key: str, position: int) -> str:
    # A key that looks like a field name is shown; any other key may be customer data (a
    # phone number used as a key), so it is shown by position only. An ASCII identifier of
    # at most 64 characters is exactly what _FIELD_NAME matches, and far cheaper to test:
    # this runs for every value of every case the engine builds.
    if len(key) <= 64 and key.isascii() and key.isidentifier():
        return f"{path}[{key!r}]"
    return f"{path}[<key {position + 1}>]"


def check_comment(comment: Any, *, case_id: str | None = None,
                  trigger: str | None = None) -> None:
    """Check a command's ``comment``: ``None`` or text under the plain-data rules for text
    (no NUL, no lone surrogate, at most :data:`MAX_TEXT` characters), so that every store
    accepts what one accepts. Raises :class:`~servicewf.errors.InvalidData` for the path
    ``comment``, never quoting it."""
    if comment is None:
        return
    walk = _Walk(case_id, trigger)
    if type(comment) is not str:
        raise walk.refuse("comment", f"is a {type(comment).__name__}; a comment is text")
    if len(comment) > MAX_TEXT:
        raise walk.refuse("comment", f"exceeds the limit of {MAX_TEXT} characters of text")
    if not comment.isascii() or "\x00" in comment:
        problem = walk.text_problem(comment)
        if problem:
            raise walk.refuse("comment", problem)


def plain_data(
    value: Any, *, what: str = "data", case_id: str | None = None, trigger: str | None = None,
) -> Mapping[str, Any]:
    """Check ``value`` against the plain-data contract and return a frozen copy of it.

    ``value`` must be a mapping (``None`` is the empty one). Raises
    :class:`~servicewf.errors.InvalidData` naming the path of the first offending value
    (``what`` is the root of the path) and, where it helps, the conversion to make.
    Top-level keys are field names: they must also be identifiers
    (:func:`check_identifier`).
    """
    if not value:
        if value is None or isinstance(value, Mapping):
            return _EMPTY
    elif type(value) is dict:
        flat = _flat(value)
        if flat is not None:
            return flat
    walk = _Walk(case_id, trigger)
    if not isinstance(value, Mapping):
        raise walk.refuse(what, f"is a {type(value).__name__}; pass a mapping of field names "
                                "to values")
    for key in value:
        if type(key) is str and not _identifier_problem(key):
            continue
        if type(key) is not str:
            raise walk.refuse(what, f"has a field name of type {type(key).__name__}; field "
                                    "names are text")
        raise walk.refuse(what, f"has a field name that {_identifier_problem(key)}")
    if type(value) is FrozenDict:
        return MappingProxyType(value)
    return MappingProxyType(walk.mapping(value, what, 1))


_KNOWN_FIELDS: set[str] = set()
"""Field names already found valid (commands reuse a few dozen names): checked once each.
Bounded, so hostile input cannot grow it without limit."""


def _flat(value: dict[Any, Any]) -> Mapping[str, Any] | None:
    """The fast path of :func:`plain_data` for the common command: a few fields of plain text,
    numbers, booleans or ``None``. ``None`` means "not that simple": the full walk decides
    (and words any refusal)."""
    known = _KNOWN_FIELDS
    text = 0
    for key, item in value.items():
        if key not in known:
            if type(key) is not str or _identifier_problem(key):
                return None
            if len(known) < 4096:
                known.add(key)
        text += len(key)  # keys count towards MAX_TEXT, as in the full walk
        kind = type(item)
        if kind is str:
            if not item.isascii() or "\x00" in item:
                return None
            text += len(item)
        elif kind is int:
            if not _INT_MIN <= item <= _INT_MAX:
                return None
        elif kind is float:
            if not math.isfinite(item):
                return None
        elif kind is not bool and item is not None:
            return None
    if len(value) > MAX_ITEMS or text > MAX_TEXT:
        return None
    # A plain dict behind the read-only view (only scalars in it: nothing nested to freeze).
    # Unlike a FrozenDict, a dict of scalars is not tracked by the cyclic garbage collector,
    # and event data lives as long as the history: one object fewer for every full
    # collection to walk, per event (the memory store keeps every event).
    return MappingProxyType(value.copy())


def _identifier_problem(value: str) -> str | None:
    if not value:
        return "is empty"
    if len(value) > MAX_IDENTIFIER:
        return f"is {len(value)} characters long (at most {MAX_IDENTIFIER})"
    if not value.isprintable():
        return "contains a control or other non-printable character (a newline, say)"
    if value != value.strip():
        return "begins or ends with whitespace"
    return None


def check_identifier(
    value: Any, what: str, *, case_id: str | None = None, trigger: str | None = None
) -> str:
    """Return ``value`` if it is a valid identifier, else raise
    :class:`~servicewf.errors.InvalidIdentifier`.

    An identifier is a ``str`` of 1 to :data:`MAX_IDENTIFIER` printable characters (no
    control characters, no newline) without leading or trailing whitespace. The same rule
    holds on every store: PostgreSQL would refuse a longer id, and a trailing newline or a
    NUL makes ids that look equal and are not.
    """
    if type(value) is not str:
        raise InvalidIdentifier(
            f"the {what} must be text (str), not {type(value).__name__}; convert it with "
            "str() if it is a number",
            what=what, case_id=case_id, trigger=trigger,
        )
    problem = _identifier_problem(value)
    if problem is not None:
        raise InvalidIdentifier(
            f"the {what} {problem}; identifiers are 1 to {MAX_IDENTIFIER} printable "
            "characters without surrounding whitespace",
            what=what, case_id=case_id, trigger=trigger,
        )
    return value


def frozen_mapping(value: Mapping[str, Any] | None, what: str = "data") -> Mapping[str, Any]:
    """A read-only, deep-frozen view of ``value`` (``None`` is the empty mapping), checked
    against the plain-data contract; the converter of ``Case``, ``Event`` and ``Timer``.

    A :class:`types.MappingProxyType` is returned as it is: the engine builds those itself
    from values it already checked and froze, and sharing them keeps copy-on-write of case
    data cheap (stores still look at its top level: :func:`check_stored`). Anything else is
    copied, so later changes to the caller's mapping, or to lists inside it, cannot leak in.
    """
    if type(value) is MappingProxyType:
        return value
    if not value:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise _Walk(None, None).refuse(what, f"is a {type(value).__name__}, not a mapping")
    return MappingProxyType(_Walk(None, None).mapping(value, what, 1))


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def check_stored(value: Mapping[str, Any], what: str) -> None:
    """Refuse a mapping a store is about to write unless it holds plain data.

    Values built by the engine hold frozen containers, which were checked when frozen, so
    this looks only at the top level; a mapping assembled by hand is checked all through.
    """
    walk = _Walk(None, None)
    for position, (key, item) in enumerate(value.items()):
        if type(key) is not str:
            raise walk.refuse(what, f"has a key of type {type(key).__name__}; mapping keys "
                                    "must be text")
        kind = type(item)
        if kind is FrozenDict or kind is FrozenList:
            continue
        if kind is str and item.isascii() and "\x00" not in item \
                and walk.items < MAX_ITEMS and walk.text + len(item) <= MAX_TEXT:
            # What walk.value checks of such text, without building the path it would
            # need only to refuse it (most values of most cases are short ASCII text).
            walk.items += 1
            walk.text += len(item)
            continue
        walk.value(item, _child(what, key, position), 1)


def freeze_trusted(value: Any) -> Any:
    """``value`` frozen (dicts to :class:`FrozenDict`, lists and tuples to
    :class:`FrozenList`) *without* checking it against the contract.

    Only for plain data the library builds itself from values that were checked (the SLA
    clocks' and the obligations' state, kept in ``case.extensions`` and rebuilt on every
    command): checking it again on each command cost a third of the demo's time. Never for
    data that comes from a caller.
    """
    kind = type(value)
    if kind is dict:
        return FrozenDict({k: freeze_trusted(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return FrozenList([freeze_trusted(v) for v in value])
    return value


def shape_repr(value: Any) -> str:
    """The ``repr`` of case data, event data and payloads: the field names, never the
    values (``{'contact': …, 'channel': …}``). Reprs end up in logs, tracebacks and test
    reports, and the values are customer names and phone numbers; read the value itself
    (``case.data['contact']``) where it is needed, or a role-aware view
    (:mod:`servicewf.privacy`)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: …" if isinstance(k, str) and k.isidentifier()
                               else "<key>: …" for k in value) + "}"
    if value is None:
        return "None"
    return f"<{type(value).__name__}>"
