"""Plain-data form of a definition and its published JSON Schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import jsonschema

from servicewf._frozen import names_tuple
from servicewf.definition.model import Guard, Labels, State, Transition
from servicewf.errors import InvalidDefinition

if TYPE_CHECKING:
    from servicewf.definition.process import ProcessDefinition

__all__ = ["DEFINITION_SCHEMA", "definition_from_dict", "definition_to_dict"]

_LABELS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "en": {"type": "string"},
        "zh_hant": {"type": "string"},
        "zh_hans": {"type": "string"},
    },
    "required": ["en"],
    "additionalProperties": False,
}
_NAMES: dict[str, Any] = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
}

DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://servicewf.dev/schema/process-definition-1.json",
    "title": "servicewf process definition",
    "type": "object",
    "required": ["name", "version", "states", "transitions"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "version": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
        "labels": _LABELS,
        "states": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "labels": _LABELS,
                    "final": {"type": "boolean"},
                    "initial": {"type": "boolean"},
                    "description": {"type": "string"},
                },
            },
        },
        "transitions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["trigger", "source", "dest"],
                "additionalProperties": False,
                "properties": {
                    "trigger": {"type": "string"},
                    "source": _NAMES,
                    "dest": {"type": "string"},
                    "conditions": _NAMES,
                    "unless": _NAMES,
                    "required": _NAMES,
                    "roles": _NAMES,
                    "writes": _NAMES,
                    "labels": _LABELS,
                    "description": {"type": "string"},
                },
            },
        },
        "guards": {"type": "array", "items": {"type": "string"}},
        "intake": _NAMES,
        "intake_guards": _NAMES,
        "intake_writes": _NAMES,
        "owned_fields": {"type": "boolean"},
        "recorders": {
            "type": "object",
            "propertyNames": {"enum": ["note", "clock_extended"]},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "migrators": {"type": "array", "items": {"type": "string"}},
    },
}
"""JSON Schema (draft 2020-12) of the plain-data form; ``docs/definitions.md`` documents it."""


def _labels_to_dict(labels: Labels | None) -> dict[str, str] | None:
    if labels is None:
        return None
    out = {"en": labels.en}
    if labels.zh_hant:
        out["zh_hant"] = labels.zh_hant
    if labels.zh_hans:
        out["zh_hans"] = labels.zh_hans
    return out


def _labels_from(data: Mapping[str, str] | None) -> Labels | None:
    if data is None:
        return None
    return Labels(en=data["en"], zh_hant=data.get("zh_hant", ""), zh_hans=data.get("zh_hans", ""))


def definition_to_dict(definition: ProcessDefinition) -> dict[str, Any]:
    """The plain-data form of ``definition`` (guards by name)."""
    out: dict[str, Any] = {"name": definition.name, "version": definition.version}
    if definition.description:
        out["description"] = definition.description
    if definition.labels:
        out["labels"] = _labels_to_dict(definition.labels)
    states = []
    for s in definition.states:
        sd: dict[str, Any] = {"id": s.id}
        if s.labels:
            sd["labels"] = _labels_to_dict(s.labels)
        if s.initial:
            sd["initial"] = True
        if s.final:
            sd["final"] = True
        if s.description:
            sd["description"] = s.description
        states.append(sd)
    out["states"] = states
    transitions = []
    for t in definition.transitions:
        td: dict[str, Any] = {
            "trigger": t.trigger,
            "source": t.sources[0] if len(t.sources) == 1 else list(t.sources),
            "dest": t.dest,
        }
        for key in ("conditions", "unless", "required", "roles", "writes"):
            value = getattr(t, key)
            if value:
                td[key] = list(value)
        if t.labels:
            td["labels"] = _labels_to_dict(t.labels)
        if t.description:
            td["description"] = t.description
        transitions.append(td)
    out["transitions"] = transitions
    if definition.guards:
        out["guards"] = sorted(definition.guards)
    if definition.intake:
        out["intake"] = list(definition.intake)
    if definition.intake_guards:
        out["intake_guards"] = list(definition.intake_guards)
    if definition.intake_writes:
        out["intake_writes"] = list(definition.intake_writes)
    if definition.owned_fields:
        out["owned_fields"] = True
    out["recorders"] = {k: list(v) for k, v in definition.recorders.items()}
    out["migrators"] = list(definition.migrators)
    return out


def definition_from_dict(
    data: Mapping[str, Any], guards: Mapping[str, Guard] | Iterable[Guard] = ()
) -> ProcessDefinition:
    """Build a definition from plain data; schema errors and semantic problems are all
    reported in one :class:`InvalidDefinition`."""
    from servicewf.definition.process import ProcessDefinition

    name = str(data.get("name", "?")) if isinstance(data, Mapping) else "?"
    validator = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)
    schema_problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
        for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if schema_problems:
        raise InvalidDefinition(name, schema_problems)
    available = dict(guards) if isinstance(guards, Mapping) else {g.name: g for g in guards}
    declared = list(data.get("guards", ()))
    missing = [g for g in declared if g not in available]
    if missing:
        raise InvalidDefinition(
            name, [f"guard {g!r} is named by the data but no callable was supplied for it"
                   for g in missing],
        )
    states = [
        State(
            s["id"], _labels_from(s.get("labels")), final=s.get("final", False),
            initial=s.get("initial", False), description=s.get("description", ""),
        )
        for s in data["states"]
    ]
    transitions = [
        Transition(
            t["trigger"], t["source"], t["dest"],
            conditions=t.get("conditions", ()), unless=t.get("unless", ()),
            required=t.get("required", ()), roles=t.get("roles", ()),
            labels=_labels_from(t.get("labels")), description=t.get("description", ""),
            writes=t.get("writes", ()),
        )
        for t in data["transitions"]
    ]
    intake_guards = data.get("intake_guards", ())
    intake_guards = names_tuple(intake_guards)
    used = {g for t in transitions for g in (*t.conditions, *t.unless)} | set(intake_guards)
    return ProcessDefinition(
        data["name"], data["version"], states, transitions,
        {n: g for n, g in available.items() if n in used or n in declared},
        labels=_labels_from(data.get("labels")), description=data.get("description", ""),
        intake=data.get("intake", ()), intake_guards=intake_guards,
        intake_writes=data.get("intake_writes", ()),
        owned_fields=data.get("owned_fields", False),
        recorders=data.get("recorders", {"note": []}),
        migrators=data.get("migrators", ["admin"]),
    )
