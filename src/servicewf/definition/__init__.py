"""Process definitions: declarative states and transitions, validated when built."""

from servicewf.definition._machine import Candidate, CompiledMachine
from servicewf.definition.builder import DefinitionBuilder
from servicewf.definition.data import DEFINITION_SCHEMA
from servicewf.definition.model import ANY_STATE, STAY, Guard, Labels, State, Transition, guard
from servicewf.definition.process import ProcessDefinition
from servicewf.definition.registry import Registry

__all__ = [
    "ANY_STATE",
    "DEFINITION_SCHEMA",
    "STAY",
    "Candidate",
    "CompiledMachine",
    "DefinitionBuilder",
    "Guard",
    "Labels",
    "ProcessDefinition",
    "Registry",
    "State",
    "Transition",
    "guard",
]
