"""Integrator hooks, named for when they run: inside a command before it is written, or after
it was committed.

Hooks compose like ``structlog`` processors: each is a plain callable. They run in
registration order, in two phases:

- **before the write** (checks and derivations), receiving the
  :class:`~servicewf.context.TransitionContext` of a transition: every ``before`` hook, then
  the ``on_enter`` hooks of the destination state, then every ``before_commit`` hook. A hook
  that raises aborts the command: nothing is written, and the caller gets
  :class:`~servicewf.errors.HookFailed` with the hook's exception as its ``__cause__``. Do not
  send anything to the outside world here: the write may still be refused (stale version).
- **after commit** (observers), receiving the :class:`~servicewf.storage.base.WriteSet` the
  store applied, for every command (openings, transitions, records, migrations). An observer
  sees only what was written. If it raises, the command still stands and the caller gets
  :class:`~servicewf.errors.ObserverFailed`; a process that dies before the observer runs
  never runs it, so work that must not be lost belongs in an outbox, not in an observer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from servicewf.context import TransitionContext
from servicewf.storage.base import WriteSet

__all__ = ["Hook", "Hooks", "Observer", "observer_name"]

Hook = Callable[[TransitionContext], None]
Observer = Callable[[WriteSet], None]


def _name(hook: Callable[..., None]) -> str:
    return getattr(hook, "__qualname__", None) or repr(hook)


def observer_name(observer: Callable[..., None]) -> str:
    """How errors name an after-commit observer (``after_commit:<qualified name>``)."""
    return f"after_commit:{_name(observer)}"


class Hooks:
    """The hooks of an engine, optionally restricted to some triggers or states."""

    def __init__(self) -> None:
        self._before: list[tuple[frozenset[str] | None, Hook]] = []
        self._before_commit: list[tuple[frozenset[str] | None, Hook]] = []
        self._enter: list[tuple[frozenset[str] | None, Hook]] = []
        self._observers: list[tuple[frozenset[str] | None, Observer]] = []

    @staticmethod
    def _only(names: tuple[str, ...]) -> frozenset[str] | None:
        return frozenset(names) if names else None

    def before(self, *triggers: str) -> Callable[[Hook], Hook]:
        """Register a hook run before every transition (or only those on ``triggers``)."""

        def register(hook: Hook) -> Hook:
            self._before.append((self._only(triggers), hook))
            return hook

        return register

    def before_commit(self, *triggers: str) -> Callable[[Hook], Hook]:
        """Register a hook run once the transition is decided and its new case computed,
        just before the write (the last chance to refuse it)."""

        def register(hook: Hook) -> Hook:
            self._before_commit.append((self._only(triggers), hook))
            return hook

        return register

    def after(self, *triggers: str) -> Callable[[Hook], Hook]:
        """Deprecated name of :meth:`before_commit` (it never ran after the write)."""
        warnings.warn("Hooks.after runs before the write; call it before_commit, or use "
                      "after_commit for observers of committed commands",
                      DeprecationWarning, stacklevel=2)
        return self.before_commit(*triggers)

    def on_enter(self, *states: str) -> Callable[[Hook], Hook]:
        """Register a hook run when a case enters one of ``states`` (any state if none)."""

        def register(hook: Hook) -> Hook:
            self._enter.append((self._only(states), hook))
            return hook

        return register

    def after_commit(self, *triggers: str) -> Callable[[Observer], Observer]:
        """Register an observer of committed commands (only transitions on ``triggers`` when
        given; every command otherwise). It receives the applied write-set."""

        def register(observer: Observer) -> Observer:
            self._observers.append((self._only(triggers), observer))
            return observer

        return register

    def __bool__(self) -> bool:
        """True when some hook runs before the write."""
        return bool(self._before or self._before_commit or self._enter)

    @property
    def has_observers(self) -> bool:
        """True when some observer runs after commit."""
        return bool(self._observers)

    def selected(self, context: TransitionContext) -> list[tuple[str, Hook]]:
        """The hooks that run before the write of ``context``, in order, with their names."""
        trigger = context.command.trigger
        out: list[tuple[str, Hook]] = []
        out += [(f"before:{_name(h)}", h) for only, h in self._before
                if only is None or trigger in only]
        entering = context.after.state != context.before.state or context.transition.dest != "="
        if entering:
            out += [(f"on_enter:{_name(h)}", h) for only, h in self._enter
                    if only is None or context.after.state in only]
        out += [(f"before_commit:{_name(h)}", h) for only, h in self._before_commit
                if only is None or trigger in only]
        return out

    def observers(self, write: WriteSet) -> list[tuple[str, Observer]]:
        """The observers of the committed ``write``, in order, with their names."""
        return [(observer_name(o), o) for o in self.observing(write)]

    def observing(self, write: WriteSet) -> list[Observer]:
        """The observers of the committed ``write``, in order (the engine names one only
        when it fails: :func:`observer_name`)."""
        observers = self._observers
        if len(observers) == 1 and observers[0][0] is None:
            return [observers[0][1]]  # one observer of every command (the common case)
        out: list[Observer] = []
        triggers: set[str] | None = None
        for only, o in observers:
            if only is not None:
                if triggers is None:
                    triggers = {e.trigger for e in write.events if e.trigger is not None}
                if only.isdisjoint(triggers):
                    continue
            out.append(o)
        return out
