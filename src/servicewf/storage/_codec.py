"""Encoding of cases, events and timers to row values and back, for the SQL backends.

Instants are stored as integer microseconds since the Unix epoch (UTC;
:func:`servicewf.clock.epoch_us` and :func:`~servicewf.clock.from_epoch_us` convert) wherever
the database has no zone-aware timestamp type (SQLite): sortable, exact, and cheap to
compare. PostgreSQL keeps them as ``timestamptz``. Plain data is JSON text (``json`` on PostgreSQL).

Snapshots carry a ``schema_version``. Rows of an older version are upgraded when read
(:func:`upgrade_snapshot`); rows that cannot be read raise
:class:`~servicewf.errors.CorruptRecord` naming their case.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pendulum

from servicewf._frozen import FrozenDict, FrozenList
from servicewf.case import Case
from servicewf.clock import as_utc, from_epoch_us
from servicewf.errors import CorruptRecord, InvalidData, UnknownEventKind
from servicewf.events import Event, event_kind
from servicewf.plain import MAX_DEPTH, MAX_ITEMS, MAX_TEXT, frozen_mapping
from servicewf.storage.base import Timer

__all__ = [
    "SNAPSHOT_SCHEMA_VERSION",
    "V0_EXTENSIONS_KEY",
    "decode_instant",
    "dumps",
    "dumps_extensions",
    "loads",
    "upgrade_snapshot",
]

SNAPSHOT_SCHEMA_VERSION = 1
"""The snapshot row format this version of servicewf writes.

* version 0: no ``extensions`` column; extension state was kept inside ``data`` under the
  reserved key :data:`V0_EXTENSIONS_KEY`.
* version 1: ``extensions`` has its own column; ``data`` is only what commands supplied.
"""

V0_EXTENSIONS_KEY = "__extensions__"
"""Where schema version 0 kept a snapshot's extension state, inside ``data``."""

def decode_instant(value: Any) -> pendulum.DateTime:
    """A stored instant (integer microseconds or an aware datetime) as a pendulum UTC instant."""
    if isinstance(value, int) and not isinstance(value, bool):
        return from_epoch_us(value)
    if isinstance(value, _dt.datetime):
        return as_utc(value)
    raise ValueError(f"not a stored instant: {value!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not plain JSON data: {value!r}")


def _slow_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=_plain)


# json.dumps with options builds a JSONEncoder and runs its Python-level iterencode on every
# call, and hands a read-only mapping (what cases and events hold) to ``default``, which asks
# the Mapping ABC: with three documents per committed command that was a sixth of a SQLite
# commit. The C encoder json.dumps ends in is built here directly, with the same options
# (a fresh ``markers`` dict per call, as json.dumps's circular-reference check uses).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_text = json.encoder.encode_basestring  # ensure_ascii=False's text encoder


def dumps(value: Any) -> str:
    """Plain data as compact JSON text (non-ASCII kept as is; NaN and infinities refused)."""
    if type(value) is MappingProxyType:
        if not value:
            return "{}"
        # The view's own copy: a plain dict of the same items, which the encoder writes
        # natively (a dict subclass such as FrozenDict is written natively too).
        value = value.copy()
    if _c_make_encoder is None:  # an interpreter without the C accelerator
        return _slow_dumps(value)
    encode = _c_make_encoder({}, _plain, _encode_text, None, ":", ",", False, False, False)
    return "".join(encode(value, 0))


def dumps_extensions(extensions: Mapping[str, Any]) -> str:
    """A snapshot's ``extensions`` as :func:`dumps` writes them, the same text, letting an
    extension's value encode itself when its builder knows how to do so cheaply.

    A value that is a :class:`~servicewf._frozen.FrozenDict` whose ``_memo`` has a
    ``json_text(value, dumps)`` method is written as what that method returns, which must be
    ``dumps(value)`` exactly (the SLA clocks: most of a command's snapshot text, of which a
    command changes a few clocks; their memo keeps the text of the clocks it did not change).
    """
    if not any(type(v) is FrozenDict and callable(getattr(getattr(v, "_memo", None),
                                                          "json_text", None))
               for v in extensions.values()):
        return dumps(extensions)  # one call: cheaper than item by item
    parts = []
    for key, value in extensions.items():
        if type(key) is not str:  # what dumps would refuse or convert: leave it to dumps
            return dumps(extensions)
        memo = getattr(value, "_memo", None) if type(value) is FrozenDict else None
        own = getattr(memo, "json_text", None)
        text = own(value, dumps) if own is not None else dumps(value)
        parts.append(f"{_encode_text(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able deep copy with plain dicts (what a JSON column type can serialize)."""
    result: dict[str, Any] = json.loads(dumps(value))
    return result


def loads(value: Any) -> dict[str, Any]:
    """A stored JSON object (text, or already decoded by the driver) as a dict.

    Raises ``ValueError`` when it is not valid JSON or not an object.
    """
    decoded = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, got {type(decoded).__name__}")
    return decoded


def _frozen(value: dict[str, Any]) -> Mapping[str, Any]:
    # Deep-frozen like every value the engine hands out: a list read back from the database
    # must not be changeable in place either. Decoding snapshots was a fifth of the demo's
    # time in the checked walk (it builds a path text for every value, for messages), so
    # decoded JSON that is plainly within the contract is frozen by _Fast; anything it is
    # unsure of goes through the checked walk, which accepts or refuses it as before.
    if value:
        fast = _Fast()
        try:
            out = fast.mapping(value, 1)
        except _Unsure:
            pass
        else:
            if fast.items <= MAX_ITEMS and fast.text <= MAX_TEXT:
                return MappingProxyType(out)
    return frozen_mapping(value)


# _Fast raises _Unsure (a plain ValueError: the library's own exceptions live in errors.py)
# for a value it leaves to the checked walk; nothing else in it raises one.
_Unsure = ValueError


_INT_LIMIT = 2**63


class _Fast:
    """Deep-freezes what ``json.loads`` returns when every value is plainly valid: counts
    items and text as :func:`frozen_mapping` does, raises ``_Unsure`` otherwise.
    Scalars are handled inline in the loops: a call per value was most of its cost."""

    __slots__ = ("items", "text")

    def __init__(self) -> None:
        self.items = 0
        self.text = 0

    def mapping(self, v: dict[str, Any], depth: int) -> FrozenDict:
        if depth > MAX_DEPTH:
            raise _Unsure
        out: dict[str, Any] = {}
        items = 1
        text = 0
        for key, item in v.items():
            if type(key) is not str:
                raise _Unsure
            text += len(key)
            if not key.isascii() or "\x00" in key:
                _check_text(key)
            kind = type(item)
            if kind is str:
                items += 1
                text += len(item)
                if not item.isascii() or "\x00" in item:
                    _check_text(item)
            elif kind is dict:
                item = self.mapping(item, depth + 1)
            elif kind is list:
                item = self.sequence(item, depth)
            else:
                items += 1
                if kind is int:
                    if not -_INT_LIMIT <= item < _INT_LIMIT:
                        raise _Unsure
                else:
                    _check_scalar(kind, item)
            out[key] = item
        self.items += items
        self.text += text
        return FrozenDict(out)

    def sequence(self, v: list[Any], depth: int) -> FrozenList:
        if depth + 1 > MAX_DEPTH:
            raise _Unsure
        out: list[Any] = []
        items = 1
        text = 0
        for item in v:
            kind = type(item)
            if kind is str:
                items += 1
                text += len(item)
                if not item.isascii() or "\x00" in item:
                    _check_text(item)
            elif kind is dict:
                item = self.mapping(item, depth + 2)
            elif kind is list:
                item = self.sequence(item, depth + 1)
            else:
                items += 1
                if kind is int:
                    if not -_INT_LIMIT <= item < _INT_LIMIT:
                        raise _Unsure
                else:
                    _check_scalar(kind, item)
            out.append(item)
        self.items += items
        self.text += text
        return FrozenList(out)


def _check_text(v: str) -> None:
    if "\x00" in v:
        raise _Unsure
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unsure from None


def _check_scalar(kind: type, v: Any) -> None:
    if kind is bool or v is None:
        return
    if kind is int:
        if not -_INT_LIMIT <= v < _INT_LIMIT:
            raise _Unsure
        return
    if kind is float:
        if not math.isfinite(v):
            raise _Unsure
        return
    raise _Unsure


@functools.lru_cache(maxsize=2048)
def _decoded(text: str) -> Mapping[str, Any]:
    # A snapshot's data and extensions are read back far more often than they change (the
    # engine reloads a case before each command; a case's data stays the same across most
    # of its versions): the same text decodes to the same deep-frozen value, which is safe to
    # share. Errors are not cached (lru_cache keeps only returned values).
    return _frozen(loads(text))


def upgrade_snapshot(
    schema_version: int, data: dict[str, Any], extensions: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bring a snapshot's ``data`` and ``extensions`` from ``schema_version`` to the current one.

    Raises ``ValueError`` for a version this servicewf does not know.
    """
    if schema_version == SNAPSHOT_SCHEMA_VERSION:
        return data, extensions or {}
    if schema_version == 0:
        data = dict(data)
        moved = data.pop(V0_EXTENSIONS_KEY, None) or {}
        if not isinstance(moved, dict):
            raise ValueError(f"{V0_EXTENSIONS_KEY} is not a JSON object")
        return data, {**moved, **(extensions or {})}
    raise ValueError(
        f"unknown snapshot schema version {schema_version!r} (this servicewf reads 0 to "
        f"{SNAPSHOT_SCHEMA_VERSION}); upgrade servicewf or repair the row"
    )


def decode_case(
    case_id: str, process: Any, definition_version: Any, state: Any, version: Any,
    opened_at: Any, updated_at: Any, data: Any, extensions: Any, schema_version: Any,
) -> Case:
    """A snapshot row as a :class:`Case`; :class:`CorruptRecord` naming the case otherwise."""
    try:
        if schema_version == SNAPSHOT_SCHEMA_VERSION and type(data) is str and (
                type(extensions) is str):
            frozen_data, frozen_ext = _decoded(data), _decoded(extensions)
        else:
            payload, ext = upgrade_snapshot(
                schema_version, loads(data), None if extensions is None else loads(extensions)
            )
            frozen_data, frozen_ext = _frozen(payload), _frozen(ext)
        return Case(case_id, process, int(definition_version), state, int(version),
                    decode_instant(opened_at), decode_instant(updated_at),
                    frozen_data, frozen_ext)
    except (ValueError, TypeError, OverflowError, InvalidData) as exc:
        raise CorruptRecord(
            f"the stored snapshot of case {case_id!r} cannot be read ({exc}); repair or "
            "delete the row, or skip it with SQLStore.iter_cases()",
            case_id=case_id,
        ) from exc


def decode_event(
    case_id: str, seq: Any, at: Any, kind: Any, actor_id: Any, role: Any, trigger: Any,
    source: Any, dest: Any, data: Any, comment: Any,
) -> Event:
    """An event row as an :class:`Event`; :class:`CorruptRecord` naming the case otherwise,
    :class:`UnknownEventKind` (naming the case, the seq and the kind) when the row is sound
    but its kind is neither built in nor registered in this process."""
    try:
        known = event_kind(kind)
    except ValueError:
        if isinstance(kind, str) and isinstance(seq, int):
            raise UnknownEventKind(case_id=case_id, seq=seq, kind=kind) from None
        known = kind  # not even a name: reported as corrupt below
    try:
        return Event(case_id, int(seq), decode_instant(at), known, actor_id, role,
                     trigger, source, dest, _frozen(loads(data)), comment)
    except (ValueError, TypeError, OverflowError, InvalidData) as exc:
        raise CorruptRecord(
            f"event {seq!r} of case {case_id!r} cannot be read ({exc}); repair the row",
            case_id=case_id,
        ) from exc


def decode_timer(
    case_id: str, name: Any, due: Any, process: Any, payload: Any
) -> Timer:
    """A timer row as a :class:`Timer`; :class:`CorruptRecord` naming the case otherwise."""
    try:
        return Timer(case_id, name, decode_instant(due), process, _frozen(loads(payload)))
    except (ValueError, TypeError, OverflowError, InvalidData) as exc:
        raise CorruptRecord(
            f"timer {name!r} of case {case_id!r} cannot be read ({exc}); repair the row",
            case_id=case_id,
        ) from exc


InstantEncoder = Callable[[_dt.datetime], Any]
JSONEncoder = Callable[[Mapping[str, Any]], Any]
