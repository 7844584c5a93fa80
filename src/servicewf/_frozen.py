"""Converters to the frozen values of the core: read-only mappings (cases, events, timers)
and tuples of names (states, triggers, roles, fields named one or many at a time)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["frozen_mapping", "names_tuple"]


def frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of ``value`` (``None`` is the empty mapping), for attrs converters.

    A :class:`types.MappingProxyType` is returned as it is: it is already read-only, and
    sharing it keeps the engine's copy-on-write of case data cheap. Anything else is copied
    into a new ``dict`` first, so later changes to the caller's mapping cannot leak in.
    """
    if type(value) is MappingProxyType:
        return value
    return MappingProxyType(dict(value or {}))


def names_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Names given as one string or as an iterable of strings, as a tuple (``None``: empty).

    The one spelling of "a name or several" (states, triggers, roles, fields...): a string is
    one name, never its characters. For attrs converters and for arguments such as
    ``state=`` of the stores.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)
