"""``trusted_constructor(cls)``: build a frozen attrs value from fields already checked.

A frozen, slotted attrs class sets each field through ``object.__setattr__`` and runs its
converters in ``__init__``. Inside a command the engine builds a ``Case``, an ``Event`` and a
``WriteSet`` from values it has just checked and frozen itself, so the converters would only
confirm what is known, and the generic setter is the dearest way to fill a slot: together
they were most of a command's own cost. The constructor made here fills the slots through
their descriptors and runs nothing else. It is generated from ``attrs.fields(cls)`` (as
attrs generates ``__init__``), so it follows the class when a field is added; a test checks
that it builds values equal to the class's own constructor.

Only for values the caller has checked: it bypasses every converter and validator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["trusted_constructor"]

T = TypeVar("T")


def trusted_constructor(cls: type[T]) -> Callable[..., T]:
    """A constructor of ``cls`` (a slotted attrs class) taking every field positionally, in
    declaration order, with no default, converter or validator."""
    names = [f.name for f in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        # The slot's member descriptor: setting through it is what object.__setattr__
        # ends in, without the lookup and the bound-method call per field.
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
    lines = [f"def make({', '.join(names)}):", "    o = _new(_cls)"]
    lines += [f"    _set_{name}(o, {name})" for name in names]
    lines.append("    return o")
    exec("\n".join(lines), namespace)  # the source holds field names only
    made: Callable[..., T] = namespace["make"]
    made.__qualname__ = made.__name__ = f"trusted_{cls.__name__}"
    return made
