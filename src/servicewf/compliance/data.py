"""Rules as plain data: the published JSON Schema (:data:`RULE_SCHEMA`), loading
(:func:`rules_from_data`, validated, every problem at once, nothing evaluated) and dumping
(:func:`rule_to_data`).

A rule is an object with ``template`` (one of :data:`~servicewf.compliance.rules.TEMPLATES`),
``id``, optional ``cites``, ``text`` (``{"en": ..., "zh": ...}``) and ``processes``, and the
template's own keys, e.g.::

    {"template": "precedence", "id": "C8", "cites": "001 §7.3",
     "text": {"en": "Feedback before closing", "zh": "結案前須書面反饋"},
     "processes": ["complaint"], "source": "give_feedback", "target": "close"}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import jsonschema

from servicewf.compliance.rules import (
    _OPS,
    _UNITS,
    TEMPLATES,
    Condition,
    Duration,
    Rule,
)
from servicewf.errors import InvalidRule

__all__ = [
    "RULES_SCHEMA",
    "RULE_SCHEMA",
    "rule_from_data",
    "rule_to_data",
    "rules_from_data",
    "rules_to_data",
]

_NAMES: dict[str, Any] = {"oneOf": [
    {"type": "string", "minLength": 1},
    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}
_OPT_NAMES: dict[str, Any] = {"oneOf": [
    {"type": "string"}, {"type": "array", "items": {"type": "string", "minLength": 1}}]}
_CONDITION: dict[str, Any] = {
    "type": "object", "required": ["field"], "additionalProperties": False,
    "properties": {"field": {"type": "string", "minLength": 1}, "op": {"enum": list(_OPS)},
                   "value": {}, "at": {"enum": ["case", "event"]}}}
_CONDITIONS: dict[str, Any] = {"type": "array", "items": _CONDITION}
_DURATION: dict[str, Any] = {
    "type": "object", "required": ["amount"], "additionalProperties": False,
    "properties": {"amount": {"type": "number", "minimum": 0}, "unit": {"enum": list(_UNITS)}}}
_INT: dict[str, Any] = {"type": "integer", "minimum": 0}
_STR: dict[str, Any] = {"type": "string"}

# template -> (its own properties, the required ones)
_FIELDS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "existence": ({"activity": _NAMES, "at_least": _INT, "at_most": _INT, "when": _CONDITIONS},
                  ("activity",)),
    "absence": ({"activity": _NAMES, "at_most": _INT, "when": _CONDITIONS}, ("activity",)),
    "init": ({"activity": _NAMES}, ("activity",)),
    **{name: ({"source": _NAMES, "target": _NAMES, "when": _CONDITIONS}, ("source", "target"))
       for name in ("response", "alternate_response", "precedence", "alternate_precedence",
                    "succession",
                    "chain_response", "chain_precedence", "chain_succession",
                    "responded_existence", "coexistence", "not_coexistence", "not_succession")},
    "role": ({"activity": _NAMES, "roles": _NAMES, "when": _CONDITIONS}, ("activity", "roles")),
    "handler_tier": ({"activity": _NAMES, "tiers": _NAMES,
                      "level_tiers": {"type": "object", "additionalProperties": _STR},
                      "level_field": _STR, "tier_field": _STR, "normalise": _STR},
                     ("activity", "tiers")),
    "data": ({"activity": _NAMES, "require": _OPT_NAMES, "check": _CONDITIONS,
              "when": _CONDITIONS, "at": {"enum": ["case", "event"]}}, ("activity",)),
    "within": ({"start": _NAMES, "stop": _NAMES, "limit": _DURATION, "calendar": _STR,
                "pause": _OPT_NAMES, "resume": _OPT_NAMES}, ("start", "stop", "limit")),
    "window": ({"start": _NAMES, "stop": _NAMES, "earliest": _INT, "latest": _INT,
                "calendar": _STR}, ("start", "stop", "earliest", "latest")),
    "sla_clock": ({"clock": {"type": "string", "minLength": 1}}, ("clock",)),
    "retention": ({"activity": _NAMES, "field": _STR, "years": {"type": "integer",
                                                                   "minimum": 1},
                   "required": {"type": "boolean"}, "purge": _OPT_NAMES, "calendar": _STR},
                  ()),
    "overdue": ({"activity": _NAMES, "require": _NAMES, "deadline": {"type": "string",
                                                                      "minLength": 1},
                 "awaiting": _OPT_NAMES}, ("activity", "require")),
    "all_of": ({"parts": {"type": "array", "minItems": 1,
                          "items": {"type": "object", "required": ["template"]}}}, ("parts",)),
}
assert set(_FIELDS) == set(TEMPLATES)

_COMMON: dict[str, Any] = {
    "template": {"enum": sorted(TEMPLATES)},
    "id": {"type": "string", "minLength": 1, "maxLength": 100},
    "cites": _STR,
    "text": {"type": "object", "additionalProperties": False,
             "properties": {"en": _STR, "zh": _STR}},
    "processes": _OPT_NAMES,
}

RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://servicewf.dev/schemas/compliance-rule.json",
    "title": "servicewf compliance rule",
    "type": "object",
    "required": ["template", "id"],
    "properties": {"template": _COMMON["template"]},
    "allOf": [
        {"if": {"properties": {"template": {"const": name}}, "required": ["template"]},
         "then": {"properties": {**_COMMON, **own}, "required": list(required),
                  "additionalProperties": False}}
        for name, (own, required) in sorted(_FIELDS.items())
    ],
}
"""The JSON Schema (draft 2020-12) of one rule in plain data."""

RULES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://servicewf.dev/schemas/compliance-rules.json",
    "title": "servicewf compliance rules",
    "type": "object",
    "required": ["rules"],
    "properties": {"rules": {"type": "array", "items": RULE_SCHEMA}},
    "additionalProperties": False,
}
"""The JSON Schema of a rule file: ``{"rules": [...]}``."""

_VALIDATOR = jsonschema.Draft202012Validator(RULE_SCHEMA)


def _problems(data: Any, where: str) -> list[str]:
    out = []
    for err in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path) or "(rule)"
        # The validator's message quotes the offending value; say where and what instead.
        out.append(f"{where}: {path}: {err.validator} {err.validator_value!r}"
                   if err.validator != "additionalProperties"
                   else f"{where}: {path}: unknown key(s) {err.message.split('(')[-1]}")
    return out


def rule_from_data(data: Mapping[str, Any]) -> Rule:
    """One rule from plain data (validated against :data:`RULE_SCHEMA`)."""
    return rules_from_data([data])[0]


def rules_from_data(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Rules from plain data: a list of rule objects or ``{"rules": [...]}``. Every problem
    of every rule is reported at once (:class:`~servicewf.errors.InvalidRule`)."""
    items = data.get("rules") if isinstance(data, Mapping) else data
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise InvalidRule("rules are a list of rule objects, or {\"rules\": [...]}")
    problems: list[str] = []
    out: list[Rule] = []
    for n, item in enumerate(items):
        where = f"rule {n}" + (f" ({item.get('id')})" if isinstance(item, Mapping)
                               and isinstance(item.get("id"), str) else "")
        found = _problems(item, where)
        if found:
            problems += found
            continue
        kwargs = {k: v for k, v in item.items() if k not in ("template", "text")}
        text = item.get("text") or {}
        kwargs["text_en"] = text.get("en", "")
        kwargs["text_zh"] = text.get("zh", "")
        if item["template"] == "all_of":
            try:
                kwargs["parts"] = tuple(rules_from_data(
                    [{"id": item["id"], **part} for part in item["parts"]]))
            except InvalidRule as exc:
                problems.append(f"{where}: parts: {exc}")
                continue
        try:
            if "limit" in kwargs:
                kwargs["limit"] = Duration(**kwargs["limit"])
            for key in ("when", "check"):
                if key in kwargs:
                    kwargs[key] = tuple(Condition(**c) for c in kwargs[key])
            out.append(TEMPLATES[item["template"]](**kwargs))
        except (InvalidRule, TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise InvalidRule("invalid rules:\n  " + "\n  ".join(problems))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Condition):
        out = {"field": value.field, "op": value.op}
        if value.value is not None:
            out["value"] = _plain(value.value)
        if value.at != "case":
            out["at"] = value.at
        return out
    if isinstance(value, Rule):
        part = rule_to_data(value)
        part.pop("id", None)
        return part
    if isinstance(value, Duration):
        return {"amount": value.amount, "unit": value.unit}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def rule_to_data(rule: Rule) -> dict[str, Any]:
    """Plain data of ``rule`` (``rule_from_data`` gives it back)."""
    out: dict[str, Any] = {"template": rule.template, "id": rule.id}
    if rule.cites:
        out["cites"] = rule.cites
    if rule.text_en or rule.text_zh:
        out["text"] = {"en": rule.text_en, "zh": rule.text_zh}
    if rule.processes:
        out["processes"] = list(rule.processes)
    for f in attrs.fields(type(rule)):
        if f.name in ("id", "cites", "text_en", "text_zh", "processes"):
            continue
        value = getattr(rule, f.name)
        factory = hasattr(f.default, "factory")
        if f.default is not attrs.NOTHING and not factory and value == f.default:
            continue
        if factory and not value:
            continue
        out[f.name] = _plain(value)
    return out


def rules_to_data(rules: Sequence[Rule]) -> dict[str, Any]:
    """``{"rules": [...]}`` for ``rules``."""
    return {"rules": [rule_to_data(r) for r in rules]}
