"""servicewf: customer-service guidelines as executable, auditable state machines."""

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
    CommandRefused,
    DataMissing,
    GuardFailed,
    HookFailed,
    InvalidDefinition,
    RoleNotPermitted,
    ServicewfError,
    StaleVersion,
    TriggerNotAllowed,
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
    "CaseProcessor",
    "Clock",
    "CommandContext",
    "CommandRefused",
    "DataMissing",
    "DefinitionBuilder",
    "Engine",
    "Event",
    "EventKind",
    "FrozenClock",
    "Guard",
    "GuardFailed",
    "HookFailed",
    "Hooks",
    "InvalidDefinition",
    "Labels",
    "MemoryStore",
    "ProcessDefinition",
    "Registry",
    "RoleNotPermitted",
    "ServicewfError",
    "StaleVersion",
    "State",
    "Store",
    "SystemClock",
    "Timer",
    "Transition",
    "TransitionContext",
    "TriggerNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
    "china_office",
    "guard",
    "replay",
]
