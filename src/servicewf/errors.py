"""The exception hierarchy: every exception class of servicewf is defined here.

Every error the library raises on purpose derives from :class:`ServicewfError`. Refusals of a
command derive from :class:`CommandRefused` and carry what to do next in their message. A refused
command has changed nothing: not the case, not its history, not the store. Catch
``CommandRefused`` to handle every refusal, including those of the SLA clocks and migrations.

The tree (a class under another derives from it; extra builtin bases in parentheses)::

    ServicewfError
    ├── InvalidDefinition (ValueError)
    ├── UnknownProcess (LookupError)
    ├── CommandRefused
    │   ├── UnknownTrigger
    │   ├── TriggerNotAllowed
    │   ├── GuardFailed
    │   ├── DataMissing
    │   ├── RoleNotPermitted
    │   ├── FieldNotOwned
    │   ├── InvalidData
    │   ├── InvalidIdentifier
    │   ├── EventNotRecordable
    │   ├── CaseMismatch
    │   ├── TimeOutOfOrder
    │   ├── StaleVersion  (alias ConcurrencyConflict)
    │   │   └── ConflictRetriesExhausted
    │   ├── HookFailed
    │   ├── MigrationRefused
    │   ├── ExtensionRefused
    │   │   └── ExtensionConditionsUnmet
    │   ├── GoalUndefined (also an InvalidPolicy)
    │   └── PrivacyRefused
    │       ├── ConsentMissing
    │       ├── PersonalDataUnsealed
    │       └── RetentionNotDue
    ├── ObserverFailed
    ├── InvalidProcessor (TypeError)
    ├── HistoryMismatch (ValueError)
    ├── StorageError
    │   ├── CaseNotFound (LookupError)
    │   ├── CaseAlreadyExists
    │   ├── CorruptRecord
    │   │   └── UnknownEventKind
    │   └── SchemaMigrationError
    ├── CalendarError (ValueError)
    │   ├── UnknownTimeZone
    │   ├── InvalidCalendar
    │   ├── NoWorkingTime
    │   └── CalendarRangeError
    ├── InvalidPolicy (ValueError)
    │   ├── InvalidPolicyData
    │   └── GoalUndefined (see above)
    ├── UnknownClock (LookupError)
    ├── ObligationError (ValueError)
    │   └── NoCadence
    ├── InvalidRule (ValueError)
    ├── InvalidCatalogue (ValueError)
    ├── PrivacyUnavailable (ImportError)
    ├── DemoDatabaseInUse (ValueError)
    ├── UsageError (ValueError)
    ├── LogImportError (ValueError)
    │   └── NaiveTimestamp
    └── QueueError (ValueError)
        ├── InvalidQueueQuery
        └── NoEligibleAgent

The storage backends build :class:`StaleVersion`, :class:`CaseNotFound` and
:class:`CaseAlreadyExists` with the class methods here, so every backend words them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "CalendarError",
    "CalendarRangeError",
    "CaseAlreadyExists",
    "CaseMismatch",
    "CaseNotFound",
    "CommandRefused",
    "ConcurrencyConflict",
    "ConflictRetriesExhausted",
    "ConsentMissing",
    "CorruptRecord",
    "DataMissing",
    "DemoDatabaseInUse",
    "EventNotRecordable",
    "ExtensionConditionsUnmet",
    "ExtensionRefused",
    "FieldNotOwned",
    "GoalUndefined",
    "GuardFailed",
    "HistoryMismatch",
    "HookFailed",
    "InvalidCalendar",
    "InvalidCatalogue",
    "InvalidData",
    "InvalidDefinition",
    "InvalidIdentifier",
    "InvalidPolicy",
    "InvalidPolicyData",
    "InvalidProcessor",
    "InvalidQueueQuery",
    "InvalidRule",
    "LogImportError",
    "MigrationRefused",
    "NaiveTimestamp",
    "NoCadence",
    "NoEligibleAgent",
    "NoWorkingTime",
    "ObligationError",
    "ObserverFailed",
    "PersonalDataUnsealed",
    "PrivacyRefused",
    "PrivacyUnavailable",
    "QueueError",
    "RetentionNotDue",
    "RoleNotPermitted",
    "SchemaMigrationError",
    "ServicewfError",
    "StaleVersion",
    "StorageError",
    "TimeOutOfOrder",
    "TriggerNotAllowed",
    "UnknownClock",
    "UnknownEventKind",
    "UnknownProcess",
    "UnknownTimeZone",
    "UnknownTrigger",
    "UsageError",
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
    """A guard of the transition said no. ``guard`` names it; ``rule`` cites the rule, if any;
    ``explanation`` is the guard's own English explanation (what has to happen first)."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, guard: str,
        rule: str | None = None, explanation: str = "",
    ) -> None:
        self.guard = guard
        self.rule = rule
        self.explanation = explanation
        super().__init__(message, case_id=case_id, trigger=trigger)


class DataMissing(CommandRefused):
    """Required data fields were not supplied. ``missing`` names them."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, missing: Iterable[str]
    ) -> None:
        self.missing: tuple[str, ...] = tuple(missing)
        super().__init__(message, case_id=case_id, trigger=trigger)


class RoleNotPermitted(CommandRefused):
    """The actor's role may not do this. ``allowed`` lists the roles that may; ``action`` says
    what was refused: ``"fire"`` (a trigger), ``"record"`` (an event kind, named in
    ``trigger``'s place by ``kind``) or ``"migrate"``."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str | None, role: str,
        allowed: Iterable[str], action: str = "fire", kind: str | None = None,
    ) -> None:
        self.role = role
        self.allowed: tuple[str, ...] = tuple(allowed)
        self.action = action
        self.kind = kind
        super().__init__(message, case_id=case_id, trigger=trigger)


class FieldNotOwned(CommandRefused):
    """The command supplied data fields its transition does not own (the definition's
    field ownership: a transition writes only its ``required`` and ``writes`` fields, an
    opening only ``intake`` and ``intake_writes``). ``fields`` names them."""

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, fields: Iterable[str]
    ) -> None:
        self.fields: tuple[str, ...] = tuple(fields)
        super().__init__(message, case_id=case_id, trigger=trigger)


class InvalidData(CommandRefused):
    """Supplied data breaks the plain-data contract (see :mod:`servicewf.plain`).

    ``path`` locates the offending value (``data['contacts'][2]['phone']``) and ``problem``
    says what is wrong with it. The message never contains the value itself: data holds
    customer names and phone numbers, and refusals end up in logs.
    """

    def __init__(
        self, message: str, *, path: str, problem: str, case_id: str | None = None,
        trigger: str | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        super().__init__(message, case_id=case_id, trigger=trigger)


class InvalidIdentifier(CommandRefused):
    """A case id, actor id, role, trigger or other identifier breaks the identifier rule
    (a ``str`` of 1 to 200 printable characters, no surrounding whitespace). ``what`` names
    the identifier; the message does not repeat the bad value."""

    def __init__(
        self, message: str, *, what: str, case_id: str | None = None,
        trigger: str | None = None,
    ) -> None:
        self.what = what
        super().__init__(message, case_id=case_id, trigger=trigger)


class EventNotRecordable(CommandRefused):
    """``record()`` was asked for an event kind it never appends (``opened``,
    ``transition``, ``migrated``: those come from ``open``, ``fire`` and ``migrate``) or for
    an unknown kind."""


class CaseMismatch(CommandRefused):
    """The :class:`~servicewf.case.Case` handed to a command is not the stored one at its
    version (changed with ``attrs.evolve``, or built by hand). The engine acts only on the
    stored truth: pass the case it returned, or the case id."""


class TimeOutOfOrder(CommandRefused):
    """An instant is earlier than the history allows: the engine clock went backwards behind
    the case's last event, or a sweep was asked to act at an instant ahead of the engine
    clock (its events would be stamped before the deadlines they report)."""


class StaleVersion(CommandRefused):
    """The case changed since the caller read it (optimistic concurrency); reload and retry."""

    def __init__(
        self, message: str, *, case_id: str | None, expected: int, actual: int | None,
        trigger: str | None = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message, case_id=case_id, trigger=trigger)

    @classmethod
    def for_case(
        cls, case_id: str, expected: int, actual: int, trigger: str | None = None
    ) -> StaleVersion:
        """The refusal of a write expecting version ``expected`` of a case now at ``actual``.

        Every backend builds it here, so the message is the same whatever the store.
        """
        return cls(
            f"case {case_id!r} is at version {actual}, not {expected}: someone else changed "
            "it; reload it and retry",
            case_id=case_id, expected=expected, actual=actual, trigger=trigger,
        )


ConcurrencyConflict = StaleVersion
"""Alias: the storage layer's name for a :class:`StaleVersion` refusal."""


class ObserverFailed(ServicewfError):
    """An after-commit observer raised. The command *was* committed (``case`` is the case
    as stored); the observer's error is ``__cause__``. Observers run after the write, so
    anything that must not be lost belongs in the outbox, not in an observer."""

    def __init__(self, message: str, *, case: object, observer: str) -> None:
        self.case = case
        self.observer = observer
        super().__init__(message)


class InvalidProcessor(ServicewfError, TypeError):
    """A case processor is misconfigured: it returns timers without declaring the
    ``timer_prefix`` it owns, returns timers outside that prefix, or two processors claim
    overlapping prefixes."""


class ConflictRetriesExhausted(StaleVersion):
    """Every attempt lost a concurrency race; ``attempts`` says how many were made.

    Raised by :func:`~servicewf.storage.retry.retry_on_conflict`, chained to the last conflict.
    """

    def __init__(self, last: StaleVersion, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(
            f"gave up after {attempts} attempts, each lost to a concurrent writer (last: "
            f"{last}); the case is heavily contended: retry later, raise attempts=, or "
            "serialize the writers",
            case_id=last.case_id, expected=last.expected, actual=last.actual,
            trigger=last.trigger,
        )


class HookFailed(CommandRefused):
    """An integrator hook raised; the command was aborted. The original error is ``__cause__``."""

    def __init__(self, message: str, *, case_id: str | None, trigger: str | None, hook: str):
        self.hook = hook
        super().__init__(message, case_id=case_id, trigger=trigger)


class MigrationRefused(CommandRefused):
    """``Engine.migrate`` refused to move a case to another definition version (the case is
    closed, already on that version, or in a state the target version does not have).

    A refused command like any other; a database whose table layout cannot be used is a
    :class:`SchemaMigrationError` instead.
    """


class HistoryMismatch(ServicewfError, ValueError):
    """A history does not fit its definition (``replay``): a gap in the sequence numbers, a
    transition the definition in force does not have, a migration without the registry.

    ``case_id`` and ``seq`` name the case and the first event that does not fit (``None``
    when the history is empty or does not open).
    """

    def __init__(self, message: str, *, case_id: str | None = None,
                 seq: int | None = None) -> None:
        self.case_id = case_id
        self.seq = seq
        super().__init__(message)


# --- storage ------------------------------------------------------------------------------


class StorageError(ServicewfError):
    """A storage backend failed; nothing was written."""


class CaseNotFound(StorageError, LookupError):
    """No case with that id exists in the store; ``case_id`` names it when known."""

    def __init__(self, message: str, *, case_id: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(message)

    @classmethod
    def for_id(cls, case_id: str) -> CaseNotFound:
        """The error every backend raises for an unknown ``case_id``."""
        return cls(f"no case {case_id!r} in this store", case_id=case_id)


class CaseAlreadyExists(StorageError):
    """A case with that id exists already; pick another id. ``case_id`` names it when known."""

    def __init__(self, message: str, *, case_id: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(message)

    @classmethod
    def for_id(cls, case_id: str) -> CaseAlreadyExists:
        """The error every backend raises when ``case_id`` is taken."""
        return cls(f"case {case_id!r} exists already; choose another id", case_id=case_id)


class CorruptRecord(StorageError):
    """A stored row cannot be read back; ``case_id`` names the case."""

    def __init__(self, message: str, *, case_id: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(message)


class UnknownEventKind(CorruptRecord):
    """A stored event has a kind this process does not know: ``case_id``, ``seq`` and
    ``kind`` say which. The row is not damaged: the kind was registered by a subsystem
    (:func:`~servicewf.events.register_event_kind`) that this process has not imported, or
    written by a newer servicewf.

    A :class:`CorruptRecord` because it is a row this process cannot read back: whatever
    skips unreadable rows (the SLA sweep, your own ``except CorruptRecord``) skips it too.
    """

    def __init__(self, *, case_id: str, seq: int, kind: str) -> None:
        self.seq = seq
        self.kind = kind
        super().__init__(
            f"event {seq} of case {case_id!r} has kind {kind!r}, which this process does not "
            "know: import the subsystem that registers it (servicewf.events."
            "register_event_kind) before reading, or upgrade servicewf",
            case_id=case_id,
        )


class SchemaMigrationError(StorageError):
    """The database's table layout is not this servicewf's: newer (upgrade servicewf), or
    older and the store was opened without ``migrate=True``."""


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


class InvalidPolicyData(InvalidPolicy):
    """An SLA policy in plain data is not valid; ``problems`` lists every problem found at
    once, each with the path of the offending field (``clocks/2/target``)."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.name = name
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"SLA policy {name!r} is invalid ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}); fix these and load it again:\n{lines}"
        )


class UnknownClock(ServicewfError, LookupError):
    """The named SLA clock is not part of the case's policy."""


class ExtensionRefused(CommandRefused):
    """An extension of an SLA clock does not meet the policy's conditions (reason, notice...)."""


class ExtensionConditionsUnmet(ExtensionRefused):
    """An extension was refused; ``missing`` names every unmet condition."""

    def __init__(self, message: str, *, case_id: str | None, missing: Iterable[str]) -> None:
        self.missing: tuple[str, ...] = tuple(missing)
        super().__init__(message, case_id=case_id, trigger="extend")


class GoalUndefined(CommandRefused, InvalidPolicy):
    """A case's value is outside a goal table's domain and the table declares no default (or
    a ``DueField`` holds no aware instant): the command that set it is refused.

    A :class:`CommandRefused` (``case_id`` and ``trigger`` name the command; the SLA processor
    fills them in when a ``select_target`` raised it bare) and, as before, an
    :class:`InvalidPolicy`.
    """


# --- processes ----------------------------------------------------------------------------


class ObligationError(ServicewfError, ValueError):
    """An obligation cannot be built from what was given (the message says what to give)."""


class NoCadence(ObligationError):
    """The guidelines set no cadence for this case (a prospect has no contact cadence)."""


# --- compliance ---------------------------------------------------------------------------


class InvalidRule(ServicewfError, ValueError):
    """A compliance rule cannot be built (a bad template, activity or limit, plain data that
    does not fit the rule schema); the message names the rule and every problem."""


# --- data protection (servicewf.privacy) ------------------------------------------------


class PrivacyRefused(CommandRefused):
    """The data-protection layer (:mod:`servicewf.privacy`) refused a command; nothing was
    changed. Like every refusal, the message names fields and rules, never a field's value."""


class ConsentMissing(PrivacyRefused):
    """Personal data was supplied for a purpose the data subject has not consented to (or
    has withdrawn consent from): record the consent first (``ConsentLedger.give``).
    ``purpose`` names the purpose; ``fields`` the personal fields supplied."""

    def __init__(self, message: str, *, case_id: str | None, trigger: str | None,
                 purpose: str, fields: Iterable[str]) -> None:
        self.purpose = purpose
        self.fields: tuple[str, ...] = tuple(fields)
        super().__init__(message, case_id=case_id, trigger=trigger)


class PersonalDataUnsealed(PrivacyRefused):
    """A command supplied a field the catalogue keeps encrypted per data subject (or a
    comment holding recognisable personal data) as clear text: seal it first
    (``Privacy.seal``, or fire through ``Privacy.open`` / ``Privacy.fire``). ``fields``
    names the fields (``"comment"`` for the comment)."""

    def __init__(self, message: str, *, case_id: str | None, trigger: str | None,
                 fields: Iterable[str]) -> None:
        self.fields: tuple[str, ...] = tuple(fields)
        super().__init__(message, case_id=case_id, trigger=trigger)


class RetentionNotDue(PrivacyRefused):
    """A purge was asked before the retention floor (an archive is kept at least three
    years, 001 §4.4), on an open case, or on a case under legal hold."""


class InvalidCatalogue(ServicewfError, ValueError):
    """A field-classification catalogue or a retention policy is misconfigured (an unknown
    class, a retention shorter than the floor, a field classified twice)."""


class PrivacyUnavailable(ServicewfError, ImportError):
    """An optional dependency of :mod:`servicewf.privacy` is not installed (``cryptography``
    for encryption and crypto-shredding, ``python-stdnum`` for the checksum recognisers):
    ``pip install 'servicewf[privacy]'``."""


# --- the command line -----------------------------------------------------------------------


class DemoDatabaseInUse(ServicewfError, ValueError):
    """The database named for a demo run already holds cases (from an earlier run): its
    numbers would mix with theirs, so the demo refuses to run on it."""


class UsageError(ServicewfError, ValueError):
    """A bad invocation of the ``servicewf`` command (a missing file, malformed JSON, a path
    where a database URL is needed, a driver not installed): one line, exit code 2."""


# --- event-log import (servicewf.interop) ---------------------------------------------------


class LogImportError(ServicewfError, ValueError):
    """An event log cannot be imported as asked (a column map naming neither an activity nor
    a state column, an unknown time zone, a source that is no log): the message says what
    to give. Rows that do not read are not errors: the loss report counts them."""


class NaiveTimestamp(LogImportError):
    """A time stamp without a UTC offset, and no zone was given to read it in: servicewf
    never guesses UTC (a local-time log would shift by hours and reorder). Give ``tz=``."""


# --- work queues (servicewf.queues) ----------------------------------------------------------


class QueueError(ServicewfError, ValueError):
    """A work-queue query or routing decision that cannot be made as asked."""


class InvalidQueueQuery(QueueError):
    """A queue query asked for an impossible selection (no or several of actor, group and
    role; a limit out of range); the message says which argument to fix."""


class NoEligibleAgent(QueueError):
    """Routing found no agent present, in the case's group, of the tier the case calls for
    and with the skills it needs; nothing was assigned. Add or free such an agent, or route
    the case by hand."""
