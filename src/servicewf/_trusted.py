"""``trusted_constructor(cls)``: build a frozen attrs value from fields already checked.

A frozen, slotted attrs class sets each field through ``object.__setattr__`` and runs its
converters in ``__init__``. Inside a command the engine builds a ``Case``, an ``Event`` and a
``WriteSet`` from values it has just checked and frozen itself, so the converters would only
confirm what is known, and the generic setter is the dearest way to fill a slot: together
they were most of a command's own cost. The constructor made here runs nothing else. It is
generated from ``attrs.fields(cls)`` (as attrs generates ``__init__``), so it follows the class
when a field is added; a test checks that it builds values equal to the class's own
constructor.

How the slots are filled without the frozen ``__setattr__``: the value is born an instance
of a private subclass that adds no slot and takes back ``object``'s own setter, so each field
is an ordinary slot store (the interpreter's fastest attribute write: no call at all); then
its ``__class__`` becomes ``cls``, which Python allows between a class and a subclass with
the same layout. Calling each slot descriptor's ``__set__`` instead (the earlier way) cost a
call with an argument tuple per field, about five times as much. Should a class refuse the
switch, the descriptor way is used.

Only for values the caller has checked: it bypasses every converter and validator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["trusted_constructor"]

T = TypeVar("T")


def _assignable_twin(cls: type[Any]) -> type[Any] | None:
    """A subclass of ``cls`` whose instances take plain slot stores and can become ``cls``
    by ``__class__`` assignment, or ``None`` if this class does not allow it."""
    twin = type(f"_Unfrozen{cls.__name__}", (cls,), {
        "__slots__": (),
        # Both, so that the type's setattr slot is object's C function itself.
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": __name__,
    })
    try:
        probe: Any = object.__new__(twin)
        probe.__class__ = cls
    except TypeError:
        return None
    return twin


def trusted_constructor(cls: type[T]) -> Callable[..., T]:
    """A constructor of ``cls`` (a slotted attrs class) taking every field positionally, in
    declaration order, with no default, converter or validator."""
    names = [f.name for f in attrs.fields(cls)]  # type: ignore[arg-type]
    twin = _assignable_twin(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_twin": twin}
    lines = [f"def make({', '.join(names)}):"]
    if twin is not None:
        lines.append("    o = _new(_twin)")
        lines += [f"    o.{name} = {name}" for name in names]
        lines.append("    o.__class__ = _cls")
    else:
        for name in names:
            # The slot's member descriptor: setting through it is what object.__setattr__
            # ends in, without the lookup and the bound-method call per field.
            namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        lines.append("    o = _new(_cls)")
        lines += [f"    _set_{name}(o, {name})" for name in names]
    lines.append("    return o")
    exec("\n".join(lines), namespace)  # the source holds field names only
    made: Callable[..., T] = namespace["make"]
    made.__qualname__ = made.__name__ = f"trusted_{cls.__name__}"
    return made
