"""Read-only containers for the core's frozen objects (cases, events, timers), and the one
converter of "a name or several" to a tuple.

A :class:`~servicewf.case.Case` is immutable all the way down: its top-level mappings are
:class:`types.MappingProxyType` views, and nested containers are :class:`FrozenDict` and
:class:`FrozenList`. Those two subclass ``dict`` and ``list`` rather than wrap them, so reading
stays as fast as the built-ins, ``isinstance(x, list)`` and ``x == [1, 2]`` keep working,
``json.dumps`` writes them natively, and every method that would change them raises
``TypeError``. Without the deep freeze, ``case.data["contacts"].append(...)`` would rewrite
the reference store's snapshot and opening event in place, which a SQL store never allows.

Only :mod:`servicewf.plain` builds them, after checking the contents against the plain-data
contract; so a frozen container is known to hold plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "names_tuple"]


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: case and event data never change in place; "
        "copy it (dict(...) / list(...)) and supply the new value in a command"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every change; nested data of cases, events and timers.

    ``_memo`` (unset unless its builder sets it) holds a value derived from this very mapping
    by the code that built it, e.g. the SLA's decoded clocks beside their plain data, so that
    reading the mapping back costs nothing. It is not data: equality, JSON, pickling and
    every backend see the dictionary only, and a mapping read back from a store has none.
    """

    __slots__ = ("_memo",)
    _memo: Any
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        # The default protocol rebuilds a dict subclass through __setitem__, which refuses.
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A ``list`` that refuses every change; nested data of cases, events and timers."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = __iadd__ = __imul__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


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
