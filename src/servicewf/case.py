"""Cases and actors: the plain, frozen values the engine hands out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import attrs
import cattrs
import pendulum

from servicewf.plain import frozen_mapping, shape_repr

__all__ = ["SYSTEM", "Actor", "Case"]

T = TypeVar("T")

_converter = cattrs.Converter()


def _extensions(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return frozen_mapping(value, "extensions")


@attrs.frozen
class Actor:
    """Who fires a command: an id (a person or a system) and the role it acts in."""

    id: str
    role: str

    def __str__(self) -> str:
        return f"{self.id} ({self.role})"


SYSTEM = Actor("servicewf", "system")
"""The actor the library itself uses for automatic events (SLA warnings, breaches, escalations)."""


@attrs.frozen(slots=True)
class Case:
    """One case of a process: where it stands, at which version, with what data.

    A case is an immutable value (frozen and slotted): the engine returns a new one for every
    accepted command. ``version`` is the sequence number of its last audit event, so it counts
    the events of its history. ``data`` is the accumulated data supplied by commands (later
    values win); it is read-only. ``data_as`` gives a typed view of it. ``extensions`` holds
    plain-data state that extensions keep beside the case (the SLA clocks' state, say); it is
    derived from the history and stored with each snapshot.
    """

    id: str
    process: str
    definition_version: int
    state: str
    version: int
    opened_at: pendulum.DateTime
    updated_at: pendulum.DateTime
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping,
                                          repr=shape_repr)
    extensions: Mapping[str, Any] = attrs.field(factory=dict, converter=_extensions)

    def data_as(self, cls: type[T]) -> T:
        """Structure ``data`` into ``cls`` (an attrs class or dataclass) with cattrs.

        Fields the class does not declare are ignored; missing fields use the class defaults.
        """
        if attrs.has(cls):
            names = {f.name for f in attrs.fields(cls)}
            picked = {k: v for k, v in self.data.items() if k in names}
            return cast(T, _converter.structure(picked, cls))
        return _converter.structure(dict(self.data), cls)

    def to_dict(self) -> dict[str, Any]:
        """The case as JSON-ready plain data (instants as ISO 8601 text, data and extensions
        as plain dicts); :func:`servicewf.json.from_dict` gives the case back."""
        from servicewf.json import to_dict  # the serialiser imports this module

        result: dict[str, Any] = to_dict(self)
        return result
