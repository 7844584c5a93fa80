"""servicewf: customer-service guidelines as executable, auditable state machines.

The public face: what users import. Every refusal of a command (``CommandRefused`` and each of
its subclasses) and the storage errors worth catching are here; the whole exception tree is
drawn in :mod:`servicewf.errors`.
"""

from servicewf.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar, china_office
from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import Clock, FrozenClock, SystemClock
from servicewf.context import CommandContext, TransitionContext
from servicewf.definition import (
    ANY_STATE,
    DEFINITION_SCHEMA,
    STAY,
    DefinitionBuilder,
    Guard,
    Labels,
    ProcessDefinition,
    Registry,
    State,
    Transition,
    guard,
)
from servicewf.engine import CaseProcessor, Engine, TriggerOption, replay
from servicewf.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRefused,
    ConflictRetriesExhausted,
    CorruptRecord,
    DataMissing,
    ExtensionConditionsUnmet,
    ExtensionRefused,
    GoalUndefined,
    GuardFailed,
    HistoryMismatch,
    HookFailed,
    InvalidDefinition,
    MigrationRefused,
    RoleNotPermitted,
    SchemaMigrationError,
    ServicewfError,
    StaleVersion,
    StorageError,
    TriggerNotAllowed,
    UnknownProcess,
    UnknownTrigger,
)
from servicewf.events import Event, EventKind
from servicewf.hooks import Hooks
from servicewf.storage import MemoryStore, Store, Timer

__version__ = "0.1.0"

__all__ = [
    "ANY_STATE",
    "DEFINITION_SCHEMA",
    "STAY",
    "SYSTEM",
    "TWENTY_FOUR_SEVEN",
    "Actor",
    "BusinessCalendar",
    "Case",
    "CaseAlreadyExists",
    "CaseNotFound",
    "CaseProcessor",
    "Clock",
    "CommandContext",
    "CommandRefused",
    "ConflictRetriesExhausted",
    "CorruptRecord",
    "DataMissing",
    "DefinitionBuilder",
    "Engine",
    "Event",
    "EventKind",
    "ExtensionConditionsUnmet",
    "ExtensionRefused",
    "FrozenClock",
    "GoalUndefined",
    "Guard",
    "GuardFailed",
    "HistoryMismatch",
    "HookFailed",
    "Hooks",
    "InvalidDefinition",
    "Labels",
    "MemoryStore",
    "MigrationRefused",
    "ProcessDefinition",
    "Registry",
    "RoleNotPermitted",
    "SchemaMigrationError",
    "ServicewfError",
    "StaleVersion",
    "State",
    "StorageError",
    "Store",
    "SystemClock",
    "Timer",
    "Transition",
    "TransitionContext",
    "TriggerNotAllowed",
    "TriggerOption",
    "UnknownProcess",
    "UnknownTrigger",
    "china_office",
    "guard",
    "replay",
]
