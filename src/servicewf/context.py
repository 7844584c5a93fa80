"""What guards and hooks see of a command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf.case import Actor, Case
from servicewf.plain import shape_repr

if TYPE_CHECKING:
    from servicewf.definition import ProcessDefinition, Transition
    from servicewf.events import Event

__all__ = ["CommandContext", "TransitionContext"]


@attrs.frozen(slots=True)
class CommandContext:
    """A command being decided: the case as it is, who fires what, with which data, when.

    Guards receive this. ``value(name)`` looks a field up in the supplied data first, then in
    the case's data.
    """

    case: Case
    definition: ProcessDefinition
    trigger: str
    actor: Actor
    data: Mapping[str, Any] = attrs.field(repr=shape_repr)
    now: pendulum.DateTime
    comment: str | None = attrs.field(default=None, repr=shape_repr)

    def value(self, name: str, default: Any = None) -> Any:
        """The supplied value of ``name``, else the case's, else ``default``."""
        if name in self.data:
            return self.data[name]
        return self.case.data.get(name, default)


@attrs.frozen(slots=True)
class TransitionContext:
    """A command that passed every check and is about to be committed. Hooks receive this.

    ``before`` is the case as it was, ``after`` as it will be; ``event`` is the audit event that
    will be appended. A hook that raises aborts the command and nothing is written.
    """

    command: CommandContext
    transition: Transition
    before: Case
    after: Case
    event: Event

    @property
    def source(self) -> str:
        return self.before.state

    @property
    def dest(self) -> str:
        return self.after.state
