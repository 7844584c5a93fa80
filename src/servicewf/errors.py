"""The exception hierarchy.

Every error the library raises on purpose derives from :class:`ServicewfError`. Refusals of a
command derive from :class:`CommandRefused` and carry what to do next in their message. A refused
command has changed nothing: not the case, not its history, not the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "CalendarError",
    "CalendarRangeError",
    "CaseAlreadyExists",
    "CaseNotFound",
    "CommandRefused",
    "ConcurrencyConflict",
    "CorruptRecord",
    "DataMissing",
    "ExtensionRefused",
    "GuardFailed",
    "HookFailed",
    "InvalidCalendar",
    "InvalidDefinition",
    "InvalidPolicy",
    "MigrationRefused",
    "NoWorkingTime",
    "RoleNotPermitted",
    "ServicewfError",
    "StaleVersion",
    "StorageError",
    "TriggerNotAllowed",
    "UnknownClock",
    "UnknownProcess",
    "UnknownTimeZone",
    "UnknownTrigger",
]


class ServicewfError(Exception):
    """Base class of every error raised by servicewf on purpose."""


# --- definitions --------------------------------------------------------------------------


class InvalidDefinition(ServicewfError, ValueError):
    """A process definition is not valid; ``problems`` lists every problem found at once."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.name = name
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"process definition {name!r} is invalid ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}); fix these and build it again:\n{lines}"
        )


class UnknownProcess(ServicewfError, LookupError):
    """A process name (or name and version) is not registered."""


# --- commands -----------------------------------------------------------------------------


class CommandRefused(ServicewfError):
    """A command was refused; nothing was changed.

    ``case_id`` and ``trigger`` say which command; subclasses add the reason.
    """

    def __init__(self, message: str, *, case_id: str | None = None, trigger: str | None = None):
        self.case_id = case_id
        self.trigger = trigger
        super().__init__(message)


class UnknownTrigger(CommandRefused):
    """The trigger is not defined by the case's process."""


class TriggerNotAllowed(CommandRefused):
    """The trigger exists but has no transition from the case's current state."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, state: str,
        allowed: Iterable[str] = (),
    ) -> None:
        self.state = state
        self.allowed: tuple[str, ...] = tuple(allowed)
        super().__init__(message, case_id=case_id, trigger=trigger)


class GuardFailed(CommandRefused):
    """A guard of the transition said no. ``guard`` names it; ``rule`` cites the rule, if any."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, guard: str,
        rule: str | None = None,
    ) -> None:
        self.guard = guard
        self.rule = rule
        super().__init__(message, case_id=case_id, trigger=trigger)


class DataMissing(CommandRefused):
    """Required data fields were not supplied. ``missing`` names them."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, missing: Iterable[str]
    ) -> None:
        self.missing: tuple[str, ...] = tuple(missing)
        super().__init__(message, case_id=case_id, trigger=trigger)


class RoleNotPermitted(CommandRefused):
    """The actor's role may not fire this trigger. ``allowed`` lists the roles that may."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, role: str,
        allowed: Iterable[str],
    ) -> None:
        self.role = role
        self.allowed: tuple[str, ...] = tuple(allowed)
        super().__init__(message, case_id=case_id, trigger=trigger)


class StaleVersion(CommandRefused):
    """The case changed since the caller read it (optimistic concurrency); reload and retry."""

    def __init__(
        self, message: str, *, case_id: str | None, expected: int, actual: int | None,
        trigger: str | None = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message, case_id=case_id, trigger=trigger)


ConcurrencyConflict = StaleVersion
"""Alias: the storage layer's name for a :class:`StaleVersion` refusal."""


class HookFailed(CommandRefused):
    """An integrator hook raised; the command was aborted. The original error is ``__cause__``."""

    def __init__(self, message: str, *, case_id: str | None, trigger: str | None, hook: str):
        self.hook = hook
        super().__init__(message, case_id=case_id, trigger=trigger)


# --- storage ------------------------------------------------------------------------------


class StorageError(ServicewfError):
    """A storage backend failed; nothing was written."""


class CaseNotFound(StorageError, LookupError):
    """No case with that id exists in the store."""


class CaseAlreadyExists(StorageError):
    """A case with that id exists already; pick another id."""


class CorruptRecord(StorageError):
    """A stored row cannot be read back; ``case_id`` names the case."""

    def __init__(self, message: str, *, case_id: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(message)


class MigrationRefused(StorageError):
    """A schema or definition-version migration cannot be applied as asked."""


# --- calendars ----------------------------------------------------------------------------


class CalendarError(ServicewfError, ValueError):
    """A business calendar is misconfigured or was asked something it cannot answer."""


class UnknownTimeZone(CalendarError):
    """The IANA time-zone name is not known."""


class InvalidCalendar(CalendarError):
    """A calendar description is invalid (overlapping intervals, bad times, bad dates...)."""


class NoWorkingTime(CalendarError):
    """The calendar has no working time at all, so no positive business duration fits in it."""


class CalendarRangeError(CalendarError):
    """An instant, a date or a result of calendar arithmetic lies outside what can be computed:
    the years a calendar with a schedule computes (``MIN_YEAR``–``MAX_YEAR``), or the years
    1–9999 a datetime can hold (a 24×7 calendar's only limit). The message says which limit;
    use a nearer start or a shorter duration (a 24×7 calendar's ``*_us`` methods have none).
    """


# --- SLA ----------------------------------------------------------------------------------


class InvalidPolicy(ServicewfError, ValueError):
    """An SLA policy or goal table is invalid (overlapping or missing matches, unknown names)."""


class UnknownClock(ServicewfError, LookupError):
    """The named SLA clock is not part of the case's policy."""


class ExtensionRefused(CommandRefused):
    """An extension of an SLA clock does not meet the policy's conditions (reason, notice...)."""
