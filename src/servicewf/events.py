"""The audit log's immutable events, and the kinds of event there are.

The built-in kinds are the members of :class:`EventKind`. A subsystem adds its own with
:func:`register_event_kind` (at import time, before any definition grants it or any stored
event of it is read), without editing this module: a registered kind is a
:class:`RegisteredKind`, a ``str`` like the built-in members (``kind.value``, one object per
name, so ``event.kind is MY_KIND`` works like ``event.kind is EventKind.NOTE``). It declares
whether it is a *system* kind (recorded only by the library's system actor, like the sweep's
verdicts) and whether a definition may grant it to roles (``recorders``). No registered kind
moves a case: ``opened``, ``transition`` and ``migrated`` stay the engine's own.

:data:`SYSTEM_KINDS` and :data:`RECORDABLE_KINDS` are live, read-only sets: they include the
kinds registered so far, so every check written against them covers registered kinds too.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Final, NamedTuple, TypeAlias, final

import attrs
import pendulum

from servicewf.plain import frozen_mapping, shape_repr

__all__ = [
    "ENGINE_KINDS",
    "RECORDABLE_KINDS",
    "SYSTEM_KINDS",
    "Event",
    "EventKind",
    "Kind",
    "RegisteredKind",
    "event_kind",
    "known_kinds",
    "register_event_kind",
]


class EventKind(str, enum.Enum):
    """The built-in kinds of event. Only ``OPENED`` and ``TRANSITION`` move a case between
    states. Subsystems add kinds with :func:`register_event_kind`."""

    OPENED = "opened"
    TRANSITION = "transition"
    CLOCK_WARNING = "clock_warning"
    CLOCK_BREACHED = "clock_breached"
    CLOCK_EXTENDED = "clock_extended"
    ESCALATED = "escalated"
    OBLIGATION_DUE = "obligation_due"
    MIGRATED = "migrated"
    NOTE = "note"


@final
class RegisteredKind(str):
    """A kind of event a subsystem registered (:func:`register_event_kind`).

    A ``str`` equal to its value, with ``value`` like an :class:`EventKind` member; there is
    one object per name (copies and pickles come back as it), so compare with ``is``.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        """The kind's name, as stored."""
        return str.__str__(self)

    @property
    def system(self) -> bool:
        """Whether only the library's system actor records it."""
        return _REGISTERED[self.value].system

    @property
    def recordable(self) -> bool:
        """Whether a definition may let roles record it (``recorders``)."""
        return _REGISTERED[self.value].recordable

    def __repr__(self) -> str:
        return f"<RegisteredKind {self.value!r}>"

    def __reduce__(self) -> tuple[Callable[[str], Kind], tuple[str]]:
        return event_kind, (self.value,)

    def __copy__(self) -> RegisteredKind:
        return self

    def __deepcopy__(self, memo: object) -> RegisteredKind:
        return self


Kind: TypeAlias = EventKind | RegisteredKind
"""What :attr:`Event.kind` holds: a built-in member or a registered kind."""

ENGINE_KINDS = frozenset({EventKind.OPENED, EventKind.TRANSITION, EventKind.MIGRATED})
"""Kinds the engine appends itself, through ``open``, ``fire`` and ``migrate``."""

_BUILTIN_SYSTEM = frozenset({EventKind.CLOCK_WARNING, EventKind.CLOCK_BREACHED,
                             EventKind.ESCALATED, EventKind.OBLIGATION_DUE})
_BUILTIN_RECORDABLE = frozenset({EventKind.NOTE, EventKind.CLOCK_EXTENDED})

class _Registration(NamedTuple):
    kind: RegisteredKind
    system: bool
    recordable: bool


# name -> registration; written under _LOCK, read without (a dict read is atomic)
_REGISTERED: dict[str, _Registration] = {}
_LOCK = threading.Lock()
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MAX_NAME = 40  # the width of the SQL stores' kind column


class _LiveKinds(AbstractSet[Any]):
    """A read-only set of the built-in kinds of a category plus the registered ones."""

    def __init__(self, builtin: Iterable[EventKind], flag: Callable[[_Registration], bool], *,
                 values: bool) -> None:
        self._builtin = frozenset(builtin)
        self._flag = flag
        self._values = values

    def _registered(self) -> list[RegisteredKind]:
        return [entry.kind for entry in list(_REGISTERED.values()) if self._flag(entry)]

    def __contains__(self, item: object) -> bool:
        if item in self._builtin:
            return True
        entry = _REGISTERED.get(item) if isinstance(item, str) else None
        return entry is not None and self._flag(entry)

    def __iter__(self) -> Iterator[Any]:
        kinds: list[Kind] = [*sorted(self._builtin, key=lambda k: k.value), *self._registered()]
        return iter([k.value for k in kinds] if self._values else kinds)

    def __len__(self) -> int:
        return len(self._builtin) + len(self._registered())

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> frozenset[Any]:
        return frozenset(it)

    def __repr__(self) -> str:
        return f"{{{', '.join(repr(k) for k in self)}}}"


SYSTEM_KINDS: Final[AbstractSet[Kind]] = _LiveKinds(
    _BUILTIN_SYSTEM, lambda r: r.system, values=False)
"""Kinds only the library's system actor records (the sweep's verdicts, and registered kinds
declared ``system=True``): a person's role can never be granted them, so state derived from
them (SLA clocks) cannot be forged. A live view: it includes kinds registered later."""

RECORDABLE_KINDS: Final[AbstractSet[str]] = _LiveKinds(
    _BUILTIN_RECORDABLE, lambda r: r.recordable, values=True)
"""The kind names a definition may let roles ``record()`` (its ``recorders``): ``note``,
``clock_extended`` and registered kinds declared ``recordable=True``. A live view of names."""

_BY_VALUE: Mapping[str, EventKind] = {k.value: k for k in EventKind}


def event_kind(value: str) -> Kind:
    """The kind named ``value``: an :class:`EventKind` member or a registered kind.

    Raises ``ValueError`` (naming the known kinds) for a name nobody registered.
    """
    if value.__class__ is EventKind:
        return value  # the hot path: a member, as is
    found: Kind | None = _BY_VALUE.get(value)
    if found is None:
        entry = _REGISTERED.get(value) if isinstance(value, str) else None
        if entry is None:
            raise ValueError(
                f"unknown event kind {value!r}: register it with "
                "servicewf.events.register_event_kind() before it is used, or upgrade "
                f"servicewf (known kinds: {', '.join(known_kinds())})")
        found = entry.kind
    return found


def known_kinds() -> list[str]:
    """The names of every kind, built-in then registered."""
    return [*(k.value for k in EventKind), *list(_REGISTERED)]


def register_event_kind(name: str, *, system: bool = False,
                        recordable: bool = False) -> RegisteredKind:
    """Add a kind of event (e.g. ``"callback_requested"``) and return it.

    - ``system``: only the library's system actor may record it (``engine.record(...,
      actor=SYSTEM)``), like the SLA sweep's verdicts; no definition can grant it.
    - ``recordable``: a definition may let roles record it (``recorders={name: roles}``).
      Neither: only the system actor records it, but it is not a system kind either.

    ``name``: lower-case letters, digits and ``_`` (at most 40), not a built-in kind.
    Registering a name again with the same flags returns the same kind (a module imported
    twice); with other flags it is refused (``ValueError``), as is ``system`` together with
    ``recordable``. Register at import time, before definitions that grant the kind are
    built and before stored events of it are read (reading an unregistered kind raises
    :class:`~servicewf.errors.UnknownEventKind`).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > _MAX_NAME:
        raise ValueError(f"event kind names are lower-case letters, digits and '_', starting "
                         f"with a letter, at most {_MAX_NAME} long; got {name!r}")
    if name in _BY_VALUE:
        raise ValueError(f"{name!r} is a built-in event kind (EventKind.{_BY_VALUE[name].name})")
    if system and recordable:
        raise ValueError(f"event kind {name!r} cannot be both a system kind and recordable: "
                         "a system kind is recorded by the system actor alone")
    with _LOCK:
        entry = _REGISTERED.get(name)
        if entry is not None:
            if (entry.system, entry.recordable) != (system, recordable):
                raise ValueError(
                    f"event kind {name!r} is registered already with system={entry.system}, "
                    f"recordable={entry.recordable}; a kind keeps the rules it was "
                    "registered with")
            return entry.kind
        kind = str.__new__(RegisteredKind, name)
        _REGISTERED[name] = _Registration(kind, bool(system), bool(recordable))
        return kind


@attrs.frozen(slots=True)
class Event:
    """One entry of a case's append-only history.

    ``seq`` starts at 1 and is contiguous per case; ``at`` is an aware instant (UTC); ``kind``
    is an :class:`EventKind` member or a registered kind (a kind's name is converted to it, an
    unknown name refused with ``ValueError``); ``source`` and ``dest`` are the states before
    and after (equal for events that do not move the case, and ``source`` is ``None`` for the
    opening event); ``data`` is what the command supplied.
    """

    case_id: str
    seq: int
    at: pendulum.DateTime
    kind: Kind = attrs.field(converter=event_kind)
    actor_id: str
    role: str
    trigger: str | None
    source: str | None
    dest: str
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping,
                                          repr=shape_repr)
    comment: str | None = attrs.field(default=None, repr=shape_repr)

    @property
    def moves(self) -> bool:
        """True when the event changed (or set) the case's state."""
        return self.kind in (EventKind.OPENED, EventKind.TRANSITION)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready plain data (``at`` as ISO 8601 text, ``kind`` by name);
        :func:`servicewf.json.from_dict` gives the event back."""
        from servicewf.json import to_dict  # the serialiser imports this module

        result: dict[str, Any] = to_dict(self)
        return result
