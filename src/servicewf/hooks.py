"""Integrator hooks: code that runs inside a command, before it is committed.

Hooks compose like ``structlog`` processors: each is a plain callable receiving the
:class:`~servicewf.context.TransitionContext`. They run in registration order: every
``before`` hook, then ``on_enter`` hooks of the destination state, then every ``after`` hook,
and only then is the command written. A hook that raises aborts the command: nothing is
written, and the caller gets :class:`~servicewf.errors.HookFailed` with the hook's exception
as its ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Callable

from servicewf.context import TransitionContext

__all__ = ["Hook", "Hooks"]

Hook = Callable[[TransitionContext], None]


def _name(hook: Hook) -> str:
    return getattr(hook, "__qualname__", None) or repr(hook)


class Hooks:
    """The hooks of an engine, optionally restricted to some triggers or states."""

    def __init__(self) -> None:
        self._before: list[tuple[frozenset[str] | None, Hook]] = []
        self._after: list[tuple[frozenset[str] | None, Hook]] = []
        self._enter: list[tuple[frozenset[str] | None, Hook]] = []

    @staticmethod
    def _only(names: tuple[str, ...]) -> frozenset[str] | None:
        return frozenset(names) if names else None

    def before(self, *triggers: str) -> Callable[[Hook], Hook]:
        """Register a hook run before every transition (or only those on ``triggers``)."""

        def register(hook: Hook) -> Hook:
            self._before.append((self._only(triggers), hook))
            return hook

        return register

    def after(self, *triggers: str) -> Callable[[Hook], Hook]:
        """Register a hook run after the transition is decided, before it is committed."""

        def register(hook: Hook) -> Hook:
            self._after.append((self._only(triggers), hook))
            return hook

        return register

    def on_enter(self, *states: str) -> Callable[[Hook], Hook]:
        """Register a hook run when a case enters one of ``states`` (any state if none)."""

        def register(hook: Hook) -> Hook:
            self._enter.append((self._only(states), hook))
            return hook

        return register

    def __bool__(self) -> bool:
        return bool(self._before or self._after or self._enter)

    def selected(self, context: TransitionContext) -> list[tuple[str, Hook]]:
        """The hooks that apply to ``context``, in the order they run, with their names."""
        trigger = context.command.trigger
        out: list[tuple[str, Hook]] = []
        out += [(f"before:{_name(h)}", h) for only, h in self._before
                if only is None or trigger in only]
        entering = context.after.state != context.before.state or context.transition.dest != "="
        if entering:
            out += [(f"on_enter:{_name(h)}", h) for only, h in self._enter
                    if only is None or context.after.state in only]
        out += [(f"after:{_name(h)}", h) for only, h in self._after
                if only is None or trigger in only]
        return out
