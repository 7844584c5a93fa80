"""Read-only mappings for the frozen values of the core (cases, events, timers)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["frozen_mapping"]


def frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of ``value`` (``None`` is the empty mapping), for attrs converters.

    A :class:`types.MappingProxyType` is returned as it is: it is already read-only, and
    sharing it keeps the engine's copy-on-write of case data cheap. Anything else is copied
    into a new ``dict`` first, so later changes to the caller's mapping cannot leak in.
    """
    if type(value) is MappingProxyType:
        return value
    return MappingProxyType(dict(value or {}))
