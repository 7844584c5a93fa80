"""JSON-ready views of the values servicewf hands out, and their way back.

``json.dumps(case.data)`` fails on the read-only mapping a case holds, and instants and
durations are no JSON at all. This module turns :class:`~servicewf.case.Case`,
:class:`~servicewf.events.Event`, :class:`~servicewf.case.Actor`, timers, outbox messages,
log entries, trigger options, refusals and clock views (:class:`~servicewf.sla.ClockView`,
any attrs value really) into plain dicts and lists, and back:

>>> payload = to_dict(case)                 # plain dicts, lists, str, int, float, bool, None
>>> text = dumps(case)                      # the same, as JSON text
>>> from_dict(Case, payload) == case        # True
>>> json.dumps({"case": case}, default=default)   # inside your own structures

The encoding (the same both ways, and described by :data:`SCHEMAS` for OpenAPI):

- instants: ISO 8601 text with the offset and microseconds (``2026-03-01T09:00:00.123456+00:00``);
- durations: integer microseconds (exact; the library measures in µs throughout);
- event kinds: their name; read-only mappings and lists: plain ``dict`` / ``list``;
- a refusal (:class:`~servicewf.errors.CommandRefused`): ``{"error": class name, "message":
  ..., "case_id": ..., "trigger": ..., and the class's own fields}`` — the message never holds
  customer data (refusals are written that way), so it is safe to send to a browser.

The conversions are a :mod:`cattrs` converter (:data:`converter`) with hooks for the types
above: it knows attrs classes by their fields, so a value type added later converts too.
This module imports only the core (the clock views are converted by their attrs fields,
without importing :mod:`servicewf.sla`).
"""

from __future__ import annotations

import datetime as _dt
import enum
import json as _json
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
import pendulum

from servicewf import errors as _errors
from servicewf.events import Event, Kind, event_kind
from servicewf.storage.base import LogEntry

__all__ = [
    "SCHEMAS",
    "JSONEncoder",
    "converter",
    "default",
    "dumps",
    "from_dict",
    "instant_from_json",
    "instant_to_json",
    "loads",
    "refusal_from_dict",
    "refusal_to_dict",
    "schema_registry",
    "to_dict",
]

_T = TypeVar("_T")

_US = 1_000_000


def instant_to_json(moment: _dt.datetime) -> str:
    """An aware instant as ISO 8601 text with its offset and microseconds."""
    if moment.utcoffset() is None:
        raise ValueError("a naive datetime has no instant to encode; attach a zone")
    return _dt.datetime.isoformat(moment, timespec="microseconds")


def instant_from_json(text: str) -> pendulum.DateTime:
    """The inverse of :func:`instant_to_json` (any ISO 8601 text with an offset or ``Z``)."""
    if not isinstance(text, str):
        raise TypeError(f"an instant is ISO 8601 text, not {type(text).__name__}")
    parsed = _dt.datetime.fromisoformat(text)
    if parsed.utcoffset() is None:
        raise ValueError("the instant has no offset; write it with one (e.g. +00:00 or Z)")
    return pendulum.instance(parsed)


def _duration_to_json(value: _dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * _US + value.microseconds


def _duration_from_json(value: Any) -> _dt.timedelta:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"a duration is integer microseconds, not {type(value).__name__}")
    return _dt.timedelta(microseconds=value)


def _plain(value: Any) -> Any:
    """A deep copy of plain data with ``dict`` and ``list`` for the frozen containers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _is_mapping_type(tp: Any) -> bool:
    origin = getattr(tp, "__origin__", tp)
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _is_named_tuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _is_refusal_type(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, _errors.ServicewfError)


def _build_converter() -> cattrs.Converter:
    # Without detailed validation, a refusal comes out as itself (InvalidData naming the
    # path, TypeError...) rather than wrapped in an exception group.
    conv = cattrs.Converter(detailed_validation=False)
    # instants (pendulum.DateTime is a datetime subclass)
    conv.register_unstructure_hook(_dt.datetime, instant_to_json)
    conv.register_unstructure_hook(pendulum.DateTime, instant_to_json)
    conv.register_structure_hook(pendulum.DateTime, lambda v, _: instant_from_json(v))
    conv.register_structure_hook(_dt.datetime, lambda v, _: instant_from_json(v))
    # durations
    conv.register_unstructure_hook(_dt.timedelta, _duration_to_json)
    conv.register_unstructure_hook(pendulum.Duration, _duration_to_json)
    conv.register_structure_hook(_dt.timedelta, lambda v, _: _duration_from_json(v))
    # event kinds: their names both ways
    conv.register_unstructure_hook(Kind, lambda k: k.value)
    conv.register_structure_hook(Kind, lambda v, _: event_kind(v))
    # read-only mappings (case data, extensions, payloads): plain copies; the attrs
    # converters of the value classes freeze them again on the way back
    conv.register_unstructure_hook_func(_is_mapping_type, _plain)
    conv.register_structure_hook_func(_is_mapping_type, lambda v, _: _mapping_in(v))
    # named tuples (a clock's past cycles): plain lists, rebuilt positionally
    conv.register_unstructure_hook_func(_is_named_tuple, _plain)
    conv.register_structure_hook_func(_is_named_tuple, lambda v, t: t(*v))
    # refusals inside values (TriggerOption.refusal)
    conv.register_unstructure_hook_func(_is_refusal_type, refusal_to_dict)
    conv.register_structure_hook_func(_is_refusal_type, lambda v, _: refusal_from_dict(v))
    return conv


def _mapping_in(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


# --- refusals ------------------------------------------------------------------------------

def refusal_to_dict(refusal: BaseException) -> dict[str, Any]:
    """A servicewf error as plain data: its class name, message and fields (``case_id``,
    ``trigger``, and what its class adds: ``guard``/``rule``, ``missing``, ``allowed``...).

    ``ObserverFailed.case`` is left out (the committed case is not the error's data)."""
    out: dict[str, Any] = {"error": type(refusal).__name__, "message": str(refusal)}
    for key, value in vars(refusal).items():
        if key.startswith("_") or key == "case":
            continue
        out[key] = _plain(value)
    return out


def refusal_from_dict(data: Mapping[str, Any]) -> _errors.ServicewfError:
    """The inverse of :func:`refusal_to_dict`: an instance of the named class of
    :mod:`servicewf.errors` with the same message and fields (tuples where it keeps tuples)."""
    name = data.get("error")
    cls = getattr(_errors, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, _errors.ServicewfError)):
        raise ValueError(f"not a servicewf error class: {name!r}")
    refusal = cls.__new__(cls)
    Exception.__init__(refusal, str(data.get("message", "")))
    for key, value in data.items():
        if key in ("error", "message"):
            continue
        setattr(refusal, key, tuple(value) if isinstance(value, list) else value)
    return refusal


converter = _build_converter()
"""The :mod:`cattrs` converter behind :func:`to_dict` and :func:`from_dict` (register hooks
for your own value types on it)."""


# --- the public conversions ------------------------------------------------------------------

def to_dict(value: Any) -> Any:
    """``value`` as JSON-ready plain data: a :class:`Case`, :class:`Event`, :class:`Actor`,
    :class:`Timer`, :class:`OutboxMessage`, :class:`LogEntry`, :class:`TriggerOption`, a
    clock view or any attrs value, a refusal, or lists and mappings of them."""
    if isinstance(value, BaseException):
        return refusal_to_dict(value)
    if isinstance(value, LogEntry):
        return {"position": value.position, "event": to_dict(value.event)}
    if isinstance(value, Mapping) and not attrs.has(type(value)):
        return {str(k): to_dict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not attrs.has(type(value)) \
            and not hasattr(value, "_fields"):
        return [to_dict(v) for v in value]
    if hasattr(value, "_fields") and hasattr(value, "_asdict"):  # named tuples (Cycle...)
        return [to_dict(v) for v in value]
    return converter.unstructure(value)


def from_dict(cls: type[_T], data: Any) -> _T:
    """Rebuild a value of ``cls`` from what :func:`to_dict` made of it (the value classes'
    own checks run: a case's data is checked and frozen again)."""
    if cls is LogEntry:
        return LogEntry(int(data["position"]), from_dict(Event, data["event"]))  # type: ignore[return-value]
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return refusal_from_dict(data)  # type: ignore[return-value]
    return converter.structure(data, cls)


def default(value: Any) -> Any:
    """For ``json.dumps(..., default=default)``: converts what :func:`to_dict` converts,
    refuses anything else with ``TypeError`` (as ``json`` does)."""
    if (attrs.has(type(value)) or isinstance(value, (Mapping, _dt.datetime, _dt.timedelta,
                                                     BaseException, enum.Enum))):
        if isinstance(value, _dt.datetime):
            return instant_to_json(value)
        if isinstance(value, _dt.timedelta):
            return _duration_to_json(value)
        if isinstance(value, enum.Enum):
            return value.value
        return to_dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable by servicewf.json")


class JSONEncoder(_json.JSONEncoder):
    """A :class:`json.JSONEncoder` that writes servicewf values (``cls=JSONEncoder``, or a
    web framework's encoder setting)."""

    def default(self, o: Any) -> Any:
        return default(o)


def dumps(value: Any, **kwargs: Any) -> str:
    """``value`` (anything :func:`to_dict` takes) as JSON text; non-ASCII kept as is."""
    kwargs.setdefault("ensure_ascii", False)
    return _json.dumps(to_dict(value), **kwargs)


def loads(cls: type[_T], text: str | bytes) -> _T:
    """The inverse of :func:`dumps` for a value of ``cls``."""
    return from_dict(cls, _json.loads(text))


# --- JSON Schemas (draft 2020-12, which OpenAPI 3.1 uses) ------------------------------------

_INSTANT = {"type": "string", "format": "date-time"}
_OPT_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_US_DURATION = {"type": "integer", "description": "microseconds"}
_TEXT = {"type": "string"}
_OPT_TEXT = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}


def _obj(props: Mapping[str, Any], required: tuple[str, ...] | None = None,
         title: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(props),
                              "required": list(props if required is None else required)}
    if title:
        schema["title"] = title
    return schema


_REFUSAL = {
    "title": "Refusal",
    "type": "object",
    "properties": {"error": _TEXT, "message": _TEXT, "case_id": _OPT_TEXT,
                   "trigger": _OPT_TEXT},
    "required": ["error", "message"],
    "additionalProperties": True,
}

_CYCLE = {"type": "array", "prefixItems": [
    {"type": "integer"}, {"type": "integer"}, {"type": ["integer", "null"]},
    {"type": ["integer", "null"]}, {"type": ["string", "null"]}, {"type": "boolean"}],
    "minItems": 6, "maxItems": 6}

SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "Actor": _obj({"id": _TEXT, "role": _TEXT}, title="Actor"),
    "Case": _obj({
        "id": _TEXT, "process": _TEXT, "definition_version": {"type": "integer"},
        "state": _TEXT, "version": {"type": "integer", "minimum": 1},
        "opened_at": _INSTANT, "updated_at": _INSTANT, "data": _OBJECT, "extensions": _OBJECT,
    }, title="Case"),
    "Event": _obj({
        "case_id": _TEXT, "seq": {"type": "integer", "minimum": 1}, "at": _INSTANT,
        "kind": _TEXT, "actor_id": _TEXT, "role": _TEXT, "trigger": _OPT_TEXT,
        "source": _OPT_TEXT, "dest": _TEXT, "data": _OBJECT, "comment": _OPT_TEXT,
    }, title="Event"),
    "Timer": _obj({"case_id": _TEXT, "name": _TEXT, "due": _INSTANT, "process": _TEXT,
                   "payload": _OBJECT}, title="Timer"),
    "Refusal": _REFUSAL,
    "TriggerOption": _obj({
        "trigger": _TEXT, "dest": _OPT_TEXT, "allowed": {"type": "boolean"},
        "requires": {"type": "array", "items": _TEXT},
        "refusal": {"anyOf": [{"$ref": "#/components/schemas/Refusal"}, {"type": "null"}]},
    }, title="TriggerOption"),
    "ClockView": _obj({
        "name": _TEXT, "cycle": {"type": "integer"}, "status": _TEXT, "outcome": _OPT_TEXT,
        "target": _OPT_TEXT, "started_at": _OPT_INSTANT, "deadline": _OPT_INSTANT,
        "earliest": _OPT_INSTANT, "warning_at": _OPT_INSTANT, "stopped_at": _OPT_INSTANT,
        "elapsed": _US_DURATION, "remaining": {"type": ["integer", "null"],
                                               "description": "microseconds"},
        "paused": _US_DURATION, "is_paused": {"type": "boolean"},
        "breached": {"type": "boolean"}, "breach_recorded": {"type": "boolean"},
        "warned": {"type": "boolean"}, "extensions": {"type": "integer"},
        "past": {"type": "array", "items": _CYCLE},
    }, title="ClockView"),
}
"""JSON Schemas of the plain data :func:`to_dict` makes, keyed by OpenAPI component name
(``TriggerOption.refusal`` refers to ``#/components/schemas/Refusal``)."""


def schema_registry() -> dict[str, Any]:
    """:data:`SCHEMAS` as an OpenAPI ``components`` object (``{"schemas": {...}}``)."""
    return {"schemas": {k: dict(v) for k, v in SCHEMAS.items()}}

