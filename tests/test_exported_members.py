"""The public face: the exported names of each public package, pinned.

A name removed from an ``__all__`` below breaks users: this test fails until the pin is
changed on purpose. A name added must be added here too, so exporting is a decision. No
implementation name (an underscored helper or module) may appear in an ``__all__``, and every
public-looking name a package holds is exported (as httpx's ``test_exported_members``).
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Iterable

import pytest

from servicewf import errors


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


EXPORTED = {
    "servicewf": _names("""
        ANY_STATE DEFINITION_SCHEMA STAY SYSTEM TWENTY_FOUR_SEVEN
        Actor BusinessCalendar Case CaseProcessor Clock CommandContext DefinitionBuilder Engine
        Event EventKind FrozenClock Guard Hooks Labels MemoryStore ProcessDefinition Registry
        State Store SystemClock Timer Transition TransitionContext TriggerOption
        china_office guard replay
        ServicewfError CommandRefused UnknownTrigger TriggerNotAllowed GuardFailed DataMissing
        RoleNotPermitted StaleVersion ConflictRetriesExhausted HookFailed MigrationRefused
        ExtensionRefused ExtensionConditionsUnmet GoalUndefined HistoryMismatch
        InvalidDefinition UnknownProcess
        StorageError CaseNotFound CaseAlreadyExists CorruptRecord SchemaMigrationError
        UnknownEventKind
        CaseMismatch EventNotRecordable FieldNotOwned InvalidData InvalidIdentifier
        ObserverFailed TimeOutOfOrder InvalidProcessor WriteSet Observer
        MessageRule OutboxMessage
        PrivacyRefused ConsentMissing PersonalDataUnsealed RetentionNotDue
    """),
    "servicewf.errors": _names("""
        ServicewfError InvalidDefinition UnknownProcess
        CommandRefused UnknownTrigger TriggerNotAllowed GuardFailed DataMissing RoleNotPermitted
        StaleVersion ConcurrencyConflict ConflictRetriesExhausted HookFailed MigrationRefused
        ExtensionRefused ExtensionConditionsUnmet GoalUndefined
        HistoryMismatch
        StorageError CaseNotFound CaseAlreadyExists CorruptRecord SchemaMigrationError
        UnknownEventKind
        CalendarError UnknownTimeZone InvalidCalendar NoWorkingTime CalendarRangeError
        InvalidPolicy InvalidPolicyData UnknownClock
        ObligationError NoCadence
        CaseMismatch EventNotRecordable FieldNotOwned InvalidData InvalidIdentifier
        ObserverFailed TimeOutOfOrder InvalidProcessor
        DemoDatabaseInUse UsageError
        LogImportError NaiveTimestamp InvalidRule
        PrivacyRefused ConsentMissing PersonalDataUnsealed RetentionNotDue InvalidCatalogue
        PrivacyUnavailable QueueError InvalidQueueQuery NoEligibleAgent
    """),
    "servicewf.compliance": _names("""
        PREDICATES RULES_SCHEMA RULE_SCHEMA Absence Alert AllOf AlternatePrecedence
        AlternateResponse Catalogue
        ChainPrecedence ChainResponse ChainSuccession Coexistence ComplianceMonitor Condition
        DataRule Duration Environment Existence HandlerTier History Init NotCoexistence
        NotSuccession Outcome Overdue Precedence Report RespondedExistence Response Retention
        RoleRule Rule RuleSummary SlaClock Succession Trace Verdict Window Within activity
        builtin_catalogue builtin_environment check check_one guideline_rules
        register_predicate rule_from_data rule_to_data rules_from_data rules_to_data
        timing_rules
    """),
    "servicewf.plain": _names("""
        FrozenDict FrozenList MAX_DEPTH MAX_IDENTIFIER MAX_ITEMS MAX_TEXT
        check_comment check_identifier check_stored freeze_trusted frozen_mapping plain_data
        shape_repr
    """),
    "servicewf.reporting": _names("""
        DEFINITIONS LANGS PROFILES AttainmentRow BacklogRow CsatRow CycleRow DurationRow
        EscalationRow HandlingRow KpiDefinition ObligationRow ProcessProfile ReopenRow Report
        ReportMask Table WithinDeadlineRow case_index compute from_store headline_lines
        percentile render_html
    """),
    "servicewf.sla": _names("""
        BREACHED BUILTIN_CALENDARS CANCELLED IDLE MET NO_GOAL PAUSED RUNNING SLA STOPPED
        TIMER_PREFIX TOO_EARLY
        ActionContext BoundPolicy Breaching BusinessHours ClockHours ClockSpec ClockState
        ClockStates ClockView Cycle DueField ExtensionConditionsUnmet ExtensionRequest
        ExtensionRule GoalTable GoalUndefined On Policy SweepEvent SweepReport Sweeper Target
        TimerHandler Until Warn WorkingDays
        escalated_tier recompute sla_handlers sweep target_from_dict
        CASE_CALENDAR GOAL_CHANGES POLICY_SCHEMA WORKING_DAY_CONVENTIONS CaseCalendar
        FieldCondition InvalidPolicyData load_policy policy_from_dict policy_to_dict
    """),
    "servicewf.scheduler": _names("""
        DispatchPass Listener Pass Scheduler SweepContext SweepEvent SweepReport TimerHandler
        merge_owned_timers merge_writes
    """),
    "servicewf.aio": _names("""
        AsyncEngine AsyncSQLStore async_url
    """),
    "servicewf.contrib.django": _names("""
        DjangoStore get_engine get_stack role_for settings_value
    """),
    "servicewf.json": _names("""
        SCHEMAS JSONEncoder converter default dumps from_dict instant_from_json
        instant_to_json loads refusal_from_dict refusal_to_dict schema_registry to_dict
    """),
    "servicewf.storage": _names("""
        LogEntry MemoryStore OutboxEntry OutboxMessage Store Timer WriteSet
    """),
    "servicewf.calendar": _names("""
        BusinessCalendar CALENDAR_SCHEMA CHINA_OFFICE MAX_YEAR MIN_YEAR TWENTY_FOUR_SEVEN
        WEEKDAYS WORKING_DAY_CONVENTIONS china_office
    """),
    "servicewf.privacy": _names("""
        CONSENT_PROCESS DEFAULT_VISIBILITY ERASED MIN_RETENTION_YEARS PERSONAL_DATA_ERASED
        RETENTION_PURGED AccessLog AccessRecord Catalogue Catalogues ConsentLedger
        ConsentRecord Encrypt FieldClass FieldRule Finding KeyRecord KeyVault Mask Masker
        MemoryAccessLog MemoryVault PartialMask Privacy PrivacyProcessor Pseudonym Redact
        RedactingFilter RetentionPolicy builtin_catalogues consent_case_id consent_definition
        find_personal is_sealed keyed_hash redact_text
    """),
    "servicewf.explain": _names("""
        LANGUAGES explain language
    """),
    "servicewf.interop": _names("""
        HISTORY_DEVIATION CaseReplay ColumnMap Deviation ImportResult ImportedEvent Log
        LossReport discover import_log read_log read_rows replay_case
    """),
    "servicewf.queues": _names("""
        ASSIGN ASSIGNMENT_TRIGGERS CLAIM HAND_OVER RELEASE
        OwnerLoad Priority QueueItem QueuePage QueuePolicy QueueProcessor QueueState Queues
        current_owner default_policy queue_state sort_key with_assignment
        with_assignment_registry
    """),
    "servicewf.definition": _names("""
        ANY_STATE Candidate CompiledMachine DEFINITION_SCHEMA DefinitionBuilder Guard Labels
        ProcessDefinition Registry STAY State Transition guard
    """),
}

# Public-looking names a package may hold without exporting them: ``from __future__``.
NOT_EXPORTED = {"annotations"}


def _public_attributes(module: types.ModuleType) -> Iterable[str]:
    for name, value in vars(module).items():
        if name.startswith("_") or name in NOT_EXPORTED or isinstance(value, types.ModuleType):
            continue
        if module.__name__ == "servicewf.errors" and name in ("Iterable", "Sequence"):
            continue  # typing helpers of the error constructors
        if not hasattr(module, "__path__") and getattr(value, "__module__", None) not in (
                None, module.__name__):
            continue  # a plain module's imports are not its exports (packages re-export)
        yield name


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_exported_names_are_pinned(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "a name is exported twice"
    assert sorted(EXPORTED[name] - exported) == [], "public names disappeared"
    assert sorted(exported - EXPORTED[name]) == [], "new exports: pin them here on purpose"


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_no_implementation_name_leaks(name: str) -> None:
    module = importlib.import_module(name)
    for member in module.__all__:
        assert not member.startswith("_"), f"{name}.__all__ exports private {member!r}"
        value = getattr(module, member)  # every exported name exists
        assert not isinstance(value, types.ModuleType), f"{name}.__all__ exports a module"
        home = getattr(value, "__module__", None)
        if inspect.isclass(value) or inspect.isfunction(value):
            # Defined in servicewf (no third-party object re-exported by accident).
            assert home is not None and home.startswith("servicewf"), (member, home)


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_every_public_looking_name_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    assert sorted(set(_public_attributes(module)) - set(module.__all__)) == []


def test_every_refusal_and_storage_error_is_importable_from_servicewf() -> None:
    import servicewf

    for member in errors.__all__:
        value = getattr(errors, member)
        if value.__name__ != member:
            continue  # an alias (ConcurrencyConflict)
        if issubclass(value, (errors.CommandRefused, errors.StorageError)):
            assert member in servicewf.__all__, member
            assert getattr(servicewf, member) is value


def test_every_error_class_is_exported_by_errors() -> None:
    defined = {n for n, v in vars(errors).items()
               if inspect.isclass(v) and issubclass(v, BaseException)
               and v.__module__ == "servicewf.errors"}
    assert sorted(defined - set(errors.__all__)) == []


IMPLEMENTATION_MODULES = [
    "servicewf.definition._machine",
    "servicewf.sla._fold",
    "servicewf.storage._codec",
]


@pytest.mark.parametrize("name", IMPLEMENTATION_MODULES)
def test_implementation_modules_are_underscored(name: str) -> None:
    import importlib.util

    package, _, private = name.rpartition(".")
    assert importlib.util.find_spec(name) is not None
    assert importlib.util.find_spec(f"{package}.{private.lstrip('_')}") is None
