"""SLA policies as plain data: :data:`POLICY_SCHEMA` (JSON Schema), :func:`policy_to_dict`
and :func:`policy_from_dict`.

A policy in plain data names its calendars (clocks' ``calendar``, the ``case_calendar``
choices) by reference: the calendars themselves come from the registry the
:class:`~servicewf.sla.SLA` is given, and are checked when the policy is bound to a
definition. Loading checks the shape against the schema and then builds every part, so one
:class:`~servicewf.errors.InvalidPolicyData` lists *every* problem, each with its path
(``clocks/1/target/goals/0``). Messages never echo field values of cases (a policy holds
none), only the policy's own names.

Behaviour written in Python (a :class:`~servicewf.sla.Policy` subclass overriding
``select_target`` and friends) has no plain-data form: :func:`policy_to_dict` refuses such a
policy rather than silently dropping what it does.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from servicewf.definition.data import _plain
from servicewf.errors import InvalidPolicy, InvalidPolicyData
from servicewf.sla.policy import Policy
from servicewf.sla.spec import (
    GOAL_CHANGES,
    WORKING_DAY_CONVENTIONS,
    CaseCalendar,
    ClockSpec,
    DueField,
    ExtensionRule,
    FieldCondition,
    GoalTable,
    On,
    Target,
    Until,
    Warn,
    target_from_dict,
)

__all__ = [
    "POLICY_SCHEMA",
    "load_policy",
    "policy_from_dict",
    "policy_to_dict",
    "validate_policy",
]

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}
_NUMBER = {"type": "number", "minimum": 0}

_TARGET: dict[str, Any] = {
    "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["kind"],
         "properties": {"kind": {"const": "clock_hours"}, "hours": _NUMBER,
                        "minutes": _NUMBER, "days": _NUMBER}},
        {"type": "object", "additionalProperties": False, "required": ["kind"],
         "properties": {"kind": {"const": "business_hours"}, "hours": _NUMBER,
                        "minutes": _NUMBER}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "n"],
         "properties": {"kind": {"const": "working_days"},
                        "n": {"type": "integer", "minimum": 0},
                        "cutoff": {"type": "string", "pattern": r"^\d\d:\d\d(:\d\d)?$"},
                        "convention": {"enum": list(WORKING_DAY_CONVENTIONS)}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "at"],
         "properties": {"kind": {"const": "until"},
                        "at": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}},
    ]
}

_GOAL: dict[str, Any] = {
    "oneOf": [
        {"$ref": "#/$defs/target"},
        {"type": "object", "additionalProperties": False, "required": ["kind", "field"],
         "properties": {"kind": {"const": "due_field"}, "field": {"type": "string"}}},
        {"type": "object", "additionalProperties": False,
         "required": ["kind", "key", "goals"],
         "properties": {
             "kind": {"const": "goal_table"},
             "key": {"type": "string", "minLength": 1},
             "goals": {"type": "array", "items": {
                 "type": "array", "prefixItems": [{}, {"$ref": "#/$defs/target"}],
                 "minItems": 2, "maxItems": 2}},
             "domain": {"type": ["array", "null"]},
             "when_missing": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/target"}]},
             "default": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/target"}]},
             "aliases": {"type": "array", "items": {
                 "type": "array", "minItems": 2, "maxItems": 2}},
         }},
    ]
}

_ON: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enter": _NAMES, "leave": _NAMES, "trigger": _NAMES,
        "data": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["field"],
            "properties": {"field": {"type": "string", "minLength": 1}, "equals": {},
                           "in": {"type": "array"}, "changed": {"type": "boolean"}}}},
    },
}

_CLOCK: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "start", "stop", "target"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "start": {"$ref": "#/$defs/on"},
        "stop": {"$ref": "#/$defs/on"},
        "target": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/goal"}],
                   "description": "null: a measure-only clock"},
        "calendar": {"type": "string", "minLength": 1,
                     "description": "a calendar of the SLA's registry, or 'case'"},
        "pause_in": _NAMES,
        "pause": {"$ref": "#/$defs/on"},
        "resume": {"$ref": "#/$defs/on"},
        "cancel": {"$ref": "#/$defs/on"},
        "reopen": {"$ref": "#/$defs/on"},
        "earliest": {"$ref": "#/$defs/target"},
        "early": {"enum": ["violation", "ignore"]},
        "warn": {"oneOf": [{"type": "null"}, {
            "type": "object", "additionalProperties": False,
            "properties": {"fraction": {"type": ["number", "null"]},
                           "lead_seconds": {"type": ["number", "null"]},
                           "business_hours_only": {"type": "boolean"}}}]},
        "escalate": {"type": "boolean"},
        "extension": {"oneOf": [{"type": "null"}, {
            "type": "object", "additionalProperties": False,
            "properties": {"require_reason": {"type": "boolean"},
                           "require_notice": {"type": "boolean"},
                           "max_count": {"type": ["integer", "null"], "minimum": 0},
                           "roles": _NAMES}}]},
        "enabled": {"type": "boolean"},
        "goal_change": {"enum": list(GOAL_CHANGES)},
        "source": {"type": "string"},
        "description": {"type": "string"},
    },
}

POLICY_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://servicewf.example/schemas/sla-policy.json",
    "title": "servicewf SLA policy",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "process", "clocks"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "process": {"type": "string", "minLength": 1},
        "clocks": {"type": "array", "items": {"$ref": "#/$defs/clock"}},
        "ladder": {**_NAMES, "minItems": 1},
        "tier_from": {"type": "object", "additionalProperties": False,
                      "required": ["field", "tiers"],
                      "properties": {"field": {"type": "string"},
                                     "tiers": {"type": "array", "items": {
                                         "type": "array", "minItems": 2, "maxItems": 2}}}},
        "escalate_triggers": _NAMES,
        "extend_triggers": {"type": "object", "additionalProperties": {"type": "string"}},
        "case_calendar": {"type": "object", "additionalProperties": False,
                          "required": ["field"],
                          "properties": {"field": {"type": "string", "minLength": 1},
                                         "choices": {"type": "array", "items": {
                                             "type": "array", "minItems": 2, "maxItems": 2,
                                             "prefixItems": [{}, {"type": "string"}]}},
                                         "default": {"type": "string"}}},
        "source": {"type": "string"},
        "description": {"type": "string"},
    },
    "$defs": {"target": _TARGET, "goal": _GOAL, "on": _ON, "clock": _CLOCK},
}
"""The JSON Schema of a policy in plain data (draft 2020-12)."""

@functools.cache
def _validator() -> Any:
    # jsonschema is imported when data is validated, not with the module: it is a third of
    # a second of every start (the demo validates nothing).
    import jsonschema

    return jsonschema.Draft202012Validator(POLICY_SCHEMA)


# --- dump ----------------------------------------------------------------------------------


def _target_out(t: Target) -> dict[str, Any]:
    return t.to_dict()


def _goal_out(g: Target | GoalTable | DueField | None) -> dict[str, Any] | None:
    if g is None:
        return None
    if isinstance(g, GoalTable):
        return {
            "kind": "goal_table", "key": g.key,
            "goals": [[list(r) if isinstance(r, tuple) else r, t.to_dict()] for r, t in g.goals],
            "domain": None if g.domain is None else list(g.domain),
            "when_missing": None if g.when_missing is None else g.when_missing.to_dict(),
            "default": None if g.default is None else g.default.to_dict(),
            "aliases": [[k, v] for k, v in g.aliases.items()],
        }
    return g.to_dict()


def _clock_out(c: ClockSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "start": c.start.to_dict(), "stop": c.stop.to_dict(),
                           "target": _goal_out(c.target), "calendar": c.calendar}
    if c.pause_in:
        out["pause_in"] = list(c.pause_in)
    for key in ("pause", "resume", "cancel", "reopen"):
        on = getattr(c, key)
        if on is not None:
            out[key] = on.to_dict()
    if c.earliest is not None:
        out["earliest"] = c.earliest.to_dict()
    out["early"] = c.early
    if c.warn is None:
        out["warn"] = None
    else:
        out["warn"] = {"fraction": c.warn.fraction,
                       "lead_seconds": None if c.warn.lead is None else _seconds(c.warn.lead),
                       "business_hours_only": c.warn.business_hours_only}
    out["escalate"] = c.escalate
    if c.extension is None:
        out["extension"] = None
    else:
        e = c.extension
        out["extension"] = {"require_reason": e.require_reason,
                            "require_notice": e.require_notice, "max_count": e.max_count,
                            "roles": list(e.roles)}
    out["enabled"] = c.enabled
    out["goal_change"] = c.goal_change
    if c.source:
        out["source"] = c.source
    if c.description:
        out["description"] = c.description
    return out


def _seconds(value: _dt.timedelta) -> int | float:
    us = value // _dt.timedelta(microseconds=1)
    return us // 1_000_000 if us % 1_000_000 == 0 else us / 1_000_000


_OVERRIDABLE = ("target_keys", "select_target", "extension_from", "initial_tier", "next_tier",
                "extension_problems", "on_warning", "on_breach", "calendar_for")


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """``policy`` as plain data (JSON-able), valid against :data:`POLICY_SCHEMA`.

    Raises :class:`~servicewf.errors.InvalidPolicy` for a subclass that overrides behaviour
    (``select_target``...): that behaviour is Python, and plain data would silently lose it.
    """
    overridden = [n for n in _OVERRIDABLE
                  if getattr(type(policy), n) is not getattr(Policy, n)]
    if overridden:
        raise InvalidPolicy(
            f"policy {policy.name!r} overrides {', '.join(overridden)} in Python; plain data "
            "cannot hold that: express it with goal tables and conditions, or keep the "
            "policy in code")
    out: dict[str, Any] = {"name": policy.name, "process": policy.process,
                           "clocks": [_clock_out(c) for c in policy.clocks],
                           "ladder": list(policy.ladder)}
    if policy.tier_from is not None:
        field, tiers = policy.tier_from
        out["tier_from"] = {"field": field, "tiers": [[k, v] for k, v in tiers.items()]}
    out["escalate_triggers"] = list(policy.escalate_triggers)
    out["extend_triggers"] = dict(policy.extend_triggers)
    if policy.case_calendar is not None:
        out["case_calendar"] = policy.case_calendar.to_dict()
    if policy.source:
        out["source"] = policy.source
    if policy.description:
        out["description"] = policy.description
    return out


# --- load ----------------------------------------------------------------------------------


class _Problems:
    """Collects problems by path while the parts are built."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def build(self, path: str, make: Callable[[], Any]) -> Any:
        try:
            return make()
        except (InvalidPolicy, ValueError, TypeError, KeyError) as exc:
            text = str(exc).replace("\n", " ")
            self.items.append(f"{path}: {text[:300]}")
            return None


def _target_in(data: Mapping[str, Any]) -> Target:
    # The schema has checked the kind; plain data may also give an "until" as ISO text.
    at = data.get("at")
    if data["kind"] == "until" and isinstance(at, str):
        return Until.of(at)
    return target_from_dict(data)


def _row_key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _goal_in(data: Mapping[str, Any] | None, path: str, p: _Problems
             ) -> Target | GoalTable | DueField | None:
    if data is None:
        return None
    kind = data["kind"]
    if kind == "due_field":
        return DueField(data["field"])
    if kind != "goal_table":
        result: Target | None = p.build(path, lambda: _target_in(data))
        return result
    rows = []
    for i, (row, target) in enumerate(data["goals"]):
        t = p.build(f"{path}/goals/{i}/1", functools.partial(_target_in, target))
        if t is not None:
            rows.append((_row_key(row), t))
    when_missing = default = None
    if data.get("when_missing") is not None:
        when_missing = p.build(f"{path}/when_missing", lambda: _target_in(data["when_missing"]))
    if data.get("default") is not None:
        default = p.build(f"{path}/default", lambda: _target_in(data["default"]))
    domain = data.get("domain")
    table: GoalTable | None = p.build(path, lambda: GoalTable(
        data["key"], rows, None if domain is None else tuple(domain), when_missing, default,
        {_row_key(k): _row_key(v) for k, v in data.get("aliases", ())}))
    return table


def _on_in(data: Mapping[str, Any]) -> On:
    return On(tuple(data.get("enter", ())), tuple(data.get("leave", ())),
              tuple(data.get("trigger", ())),
              tuple(FieldCondition.from_dict(c) for c in data.get("data", ())))


def _clock_in(data: Mapping[str, Any], path: str, p: _Problems) -> ClockSpec | None:
    target = _goal_in(data["target"], f"{path}/target", p)
    if data["target"] is not None and target is None:
        return None  # the problem is listed under the target's path
    earliest = None
    if data.get("earliest") is not None:
        earliest = p.build(f"{path}/earliest", lambda: _target_in(data["earliest"]))
    warn: Warn | None = None
    if "warn" not in data:
        warn = Warn()
    elif data["warn"] is not None:
        w = data["warn"]
        lead = w.get("lead_seconds")
        warn = p.build(f"{path}/warn", lambda: Warn(
            w.get("fraction", 0.75),
            None if lead is None else _dt.timedelta(seconds=lead),
            bool(w.get("business_hours_only", False))))
        if warn is None:
            return None
    extension = None
    if data.get("extension") is not None:
        e = data["extension"]
        extension = ExtensionRule(e.get("require_reason", True), e.get("require_notice", True),
                                  e.get("max_count"), tuple(e.get("roles", ())))

    def on(key: str) -> On | None:
        return None if data.get(key) is None else _on_in(data[key])

    spec = ClockSpec(
        data["name"], _on_in(data["start"]), _on_in(data["stop"]), target,
        calendar=data.get("calendar", "24x7"), pause_in=tuple(data.get("pause_in", ())),
        pause=on("pause"), resume=on("resume"), cancel=on("cancel"), reopen=on("reopen"),
        earliest=earliest, early=data.get("early", "violation"), warn=warn,
        escalate=bool(data.get("escalate", False)), extension=extension,
        enabled=bool(data.get("enabled", True)), source=data.get("source", ""),
        description=data.get("description", ""),
        goal_change=data.get("goal_change", "retroactive"),
    )
    for problem in spec.problems():
        p.items.append(f"{path}: {problem}")
    return spec


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Build a :class:`~servicewf.sla.Policy` from plain data.

    Any input, however malformed, raises :class:`~servicewf.errors.InvalidPolicyData` listing
    every problem with its path (schema errors first, then what the parts refuse), never
    another exception.
    """
    bad: dict[tuple[str | int, ...], str] = {}
    plain = _plain(data, (), bad)
    raw_name = plain.get("name") if isinstance(plain, dict) else None
    name = raw_name[:100] if isinstance(raw_name, str) else "?"
    problems = [f"{'/'.join(map(str, path)) or '(top)'}: {what}" for path, what in bad.items()]
    problems += [
        f"{'/'.join(str(x) for x in err.absolute_path) or '(top)'}: {err.message[:300]}"
        for err in sorted(_validator().iter_errors(plain), key=lambda e: list(e.absolute_path))
        if not any(tuple(err.absolute_path)[: len(b)] == b for b in bad)
    ]
    if problems:
        raise InvalidPolicyData(name, problems)
    p = _Problems()
    clocks = [_clock_in(c, f"clocks/{i}", p) for i, c in enumerate(plain["clocks"])]
    tier_from = None
    if "tier_from" in plain:
        tf = plain["tier_from"]
        tier_from = (tf["field"], {_row_key(k): str(v) for k, v in tf["tiers"]})
    case_calendar = None
    if "case_calendar" in plain:
        cc = plain["case_calendar"]
        case_calendar = CaseCalendar(cc["field"], {_row_key(k): v for k, v in
                                                   cc.get("choices", ())}, cc.get("default"))
    if p.items:
        raise InvalidPolicyData(name, p.items)
    kwargs: dict[str, Any] = {}
    if "ladder" in plain:
        kwargs["ladder"] = tuple(plain["ladder"])
    if "escalate_triggers" in plain:
        kwargs["escalate_triggers"] = tuple(plain["escalate_triggers"])
    try:
        return Policy(plain["name"], plain["process"], [c for c in clocks if c is not None],
                      tier_from=tier_from,
                      extend_triggers=dict(plain.get("extend_triggers", {})),
                      source=plain.get("source", ""), description=plain.get("description", ""),
                      case_calendar=case_calendar, **kwargs)
    except InvalidPolicy as exc:
        raise InvalidPolicyData(name, [f"(top): {exc}"]) from None


def validate_policy(data: Any) -> tuple[str, list[str]]:
    """(what the data is, every problem found) for a policy in plain data (``servicewf
    validate``)."""
    try:
        policy = policy_from_dict(data)
    except InvalidPolicyData as exc:
        return f"SLA policy {exc.name!r}", list(exc.problems)
    return (f"SLA policy {policy.name!r} for process {policy.process!r} "
            f"({len(policy.clocks)} clocks)"), []


def load_policy(path: str | Path) -> Policy:
    """A policy from a JSON file (:func:`policy_from_dict` of its content)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPolicyData(str(path), [f"(top): not JSON ({exc.msg} at line "
                                            f"{exc.lineno})"]) from None
    return policy_from_dict(data)
