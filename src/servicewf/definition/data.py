"""Plain-data form of a definition and its published JSON Schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from servicewf._frozen import names_tuple
from servicewf.definition.model import Guard, Labels, State, Transition
from servicewf.errors import InvalidDefinition

if TYPE_CHECKING:
    from servicewf.definition.process import ProcessDefinition

__all__ = ["DEFINITION_SCHEMA", "MAX_DEPTH", "definition_from_dict", "definition_to_dict"]

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
            # Kind names; which ones may be granted (note, clock_extended and kinds registered
            # recordable) is checked when the definition is built.
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
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


MAX_DEPTH = 8
"""How deeply plain data may nest (a valid definition nests 5 levels); deeper is a problem."""
_MAX_INT = 10**100
_PROBLEM_CHARS = 300
_Path = tuple[str | int, ...]


def _where(path: _Path) -> str:
    return "/".join(str(p) for p in path) or "(top)"


def _plain(value: Any, path: _Path, bad: dict[_Path, str]) -> Any:
    """A copy of ``value`` that is safe to validate and print: plain types only, nested at
    most :data:`MAX_DEPTH` deep (so cyclic data ends too). What cannot be copied is replaced by
    a placeholder string and described in ``bad`` under its path."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= _MAX_INT:
            bad[path] = "integer too large (at most 100 digits)"
            return "<integer too large>"
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple, Mapping)):
        if len(path) >= MAX_DEPTH:
            bad[path] = f"nested more than {MAX_DEPTH} levels deep (a definition needs 5)"
            return "<nested too deep>"
        if not isinstance(value, Mapping):
            return [_plain(v, (*path, i), bad) for i, v in enumerate(value)]
        try:
            items = list(value.items())
        except Exception as exc:  # a hostile Mapping
            bad[path] = f"mapping could not be read ({type(exc).__name__})"
            return "<unreadable mapping>"
        out: dict[str, Any] = {}
        for k, v in items:
            key = str.__str__(k) if isinstance(k, str) else f"<{type(k).__name__} key>"
            out[key] = _plain(v, (*path, key), bad)
        return out
    bad[path] = (
        f"a {type(value).__name__} is not plain data (use strings, numbers, booleans, null, "
        "lists and mappings)"
    )
    return f"<{type(value).__name__}>"


def _shorten(text: str) -> str:
    return text if len(text) <= _PROBLEM_CHARS else text[: _PROBLEM_CHARS - 1] + "…"


def definition_from_dict(
    data: Mapping[str, Any], guards: Mapping[str, Guard] | Iterable[Guard] = ()
) -> ProcessDefinition:
    """Build a definition from plain data; schema errors and semantic problems are all
    reported in one :class:`InvalidDefinition`.

    Any input, however malformed (not a mapping, wrong types, missing keys, values that are not
    plain data, nesting deeper than :data:`MAX_DEPTH`, cycles), raises
    :class:`InvalidDefinition` listing every problem found, never another exception. So does
    a ``guards`` argument holding something other than :class:`Guard` objects.
    """
    from servicewf.definition.process import ProcessDefinition

    bad: dict[_Path, str] = {}
    data = _plain(data, (), bad)
    raw_name = data.get("name") if isinstance(data, dict) else None
    name = _shorten(raw_name) if isinstance(raw_name, str) and ("name",) not in bad else "?"
    import jsonschema  # lazily: a third of a second of every start otherwise

    validator = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)
    schema_problems = [
        _shorten(f"{_where(tuple(err.absolute_path))}: {err.message}")
        for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        # An error about a placeholder repeats the problem ``bad`` describes better.
        if not any(tuple(err.absolute_path)[: len(p)] == p for p in bad)
    ]
    schema_problems = [
        f"{_where(path)}: {what}" for path, what in sorted(bad.items(), key=lambda i: str(i[0]))
    ] + schema_problems
    available, guard_problems = _guards(guards)
    if schema_problems or guard_problems:
        raise InvalidDefinition(name, schema_problems + guard_problems)
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


def _guards(guards: object) -> tuple[dict[str, Guard], list[str]]:
    """The guards argument as ``{name: guard}``, with a problem for each item not a Guard."""
    if isinstance(guards, Mapping):
        items: list[tuple[str | None, object]] = list(guards.items())
    elif isinstance(guards, Iterable) and not isinstance(guards, (str, bytes)):
        items = [(None, g) for g in guards]
    else:
        return {}, [f"guards argument: expected Guard objects, got a {type(guards).__name__}"]
    out: dict[str, Guard] = {}
    problems: list[str] = []
    for i, (key, g) in enumerate(items):
        if not isinstance(g, Guard):
            at = repr(key) if isinstance(key, str) else str(i)
            problems.append(
                f"guards argument [{_shorten(at)}]: expected a Guard, got a {type(g).__name__}"
            )
        elif key is None:
            out[g.name] = g
        elif isinstance(key, str):
            out[key] = g
        else:
            problems.append(f"guards argument: key {i} is a {type(key).__name__}, not a name")
    return out, problems
