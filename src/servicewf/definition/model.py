"""The declarative parts of a process definition: labels, states, transitions and guards.

These are plain, frozen ``attrs`` values. A :class:`~servicewf.definition.ProcessDefinition`
assembles them and validates the whole when it is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from servicewf._frozen import names_tuple

if TYPE_CHECKING:
    from servicewf.context import CommandContext

__all__ = ["ANY_STATE", "STAY", "Guard", "Labels", "State", "Transition", "guard", "is_identifier"]

ANY_STATE = "*"
"""A transition source meaning "every non-final state"."""

STAY = "="
"""A transition destination meaning "stay in the source state" (an internal transition: the
event is recorded, the state does not change)."""

# fullmatch, not match with ``$``: ``$`` also matches before a trailing newline ("done\n").
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def is_identifier(text: str) -> bool:
    """True when ``text`` is a stable snake_case identifier (``[a-z][a-z0-9_]*``)."""
    return isinstance(text, str) and _IDENTIFIER.fullmatch(text) is not None


@attrs.frozen
class Labels:
    """Human labels of a state or transition: English, 繁體 (traditional) and 简体 (simplified).

    A missing Chinese label falls back to the other Chinese script, then to English, so a
    definition written by an integrator in English alone still renders everywhere.
    """

    en: str
    zh_hant: str = ""
    zh_hans: str = ""

    def get(self, lang: str) -> str:
        """The label for ``lang``: ``"en"``, ``"zh_hant"`` or ``"zh_hans"`` (dashes and case
        are ignored; ``"zh"`` means traditional, as in the guideline documents)."""
        key = lang.replace("-", "_").lower()
        if key in ("zh", "zh_hant", "zh_tw", "zh_hk"):
            return self.zh_hant or self.zh_hans or self.en
        if key in ("zh_hans", "zh_cn"):
            return self.zh_hans or self.zh_hant or self.en
        if key == "en":
            return self.en
        raise ValueError(f"unknown label language {lang!r}; use 'en', 'zh_hant' or 'zh_hans'")


def _labels(value: Labels | str | None) -> Labels | None:
    if value is None or isinstance(value, Labels):
        return value
    return Labels(en=value)


@attrs.frozen
class State:
    """A state of a process: a stable snake_case ``id``, its labels, and whether it is final
    or the initial state."""

    id: str
    labels: Labels | None = attrs.field(default=None, converter=_labels)
    final: bool = False
    initial: bool = False
    description: str = ""

    def label(self, lang: str = "en") -> str:
        """The label in ``lang``, or the id when the state has no labels."""
        return self.labels.get(lang) if self.labels else self.id


@attrs.frozen
class Transition:
    """A transition: ``trigger`` fired in one of ``sources`` moves the case to ``dest``.

    - ``sources``: state ids, or ``"*"`` for every non-final state.
    - ``dest``: a state id, or ``"="`` to stay in the source state (recorded, no state change).
    - ``conditions`` / ``unless``: names of guards that must pass / must fail.
    - ``required``: data fields the command must supply (non-empty).
    - ``writes``: further data fields the command may supply. In a definition with
      ``owned_fields=True`` a transition writes only ``required`` and ``writes``; any other
      supplied field is refused (:class:`~servicewf.errors.FieldNotOwned`).
    - ``roles``: roles that may fire it; empty means any role.

    When several transitions share a trigger and a source, the first (in declaration order)
    whose guards pass is taken; the validator refuses pairs that no guard tells apart.
    """

    trigger: str
    sources: tuple[str, ...] = attrs.field(converter=names_tuple)
    dest: str
    conditions: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    unless: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    required: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    roles: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    labels: Labels | None = attrs.field(default=None, converter=_labels)
    description: str = ""
    writes: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)

    @property
    def owned(self) -> frozenset[str]:
        """The data fields this transition may write: ``required`` and ``writes``."""
        return frozenset((*self.required, *self.writes))

    @property
    def internal(self) -> bool:
        """True for a transition that stays in its source state."""
        return self.dest == STAY

    def target(self, source: str) -> str:
        """The state a case in ``source`` ends in."""
        return source if self.dest == STAY else self.dest

    def label(self, lang: str = "en") -> str:
        """The label in ``lang``, or the trigger name when the transition has no labels."""
        return self.labels.get(lang) if self.labels else self.trigger


GuardCheck = Callable[["CommandContext"], bool]


@attrs.frozen
class Guard:
    """A named condition on a transition.

    ``check`` receives the :class:`~servicewf.context.CommandContext` (the case, the actor, the
    data supplied, the instant) and returns whether the transition may go ahead. ``rule`` cites
    the compliance rule it enforces (e.g. ``"C3 (000 §2.4)"``) and ``explain`` says, to the
    person refused, what has to happen first. ``labels`` gives that explanation in the other
    languages (its ``en`` is ``explain`` unless set otherwise); see :meth:`explanation`.
    """

    name: str
    check: GuardCheck = attrs.field(eq=False)
    explain: str = ""
    rule: str | None = None
    labels: Labels | None = attrs.field(default=None, converter=_labels, kw_only=True)

    def __call__(self, context: CommandContext) -> bool:
        return bool(self.check(context))

    def explanation(self, lang: str = "en") -> str:
        """What has to happen first, in ``lang`` (``"en"``, ``"zh_hant"``, ``"zh_hans"``):
        the label in that language, else ``explain`` (English), else the guard's name."""
        if self.labels is not None:
            text = self.labels.get(lang)
            if text:
                return text
        return self.explain or self.name


def guard(
    name: str | None = None, *, explain: str = "", rule: str | None = None,
    labels: Labels | None = None,
) -> Callable[[GuardCheck], Guard]:
    """Decorator turning a function into a :class:`Guard` named after it (or ``name``)."""

    def wrap(check: GuardCheck) -> Guard:
        return Guard(name or check.__name__, check, explain=explain, rule=rule, labels=labels)

    return wrap


