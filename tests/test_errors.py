"""The exception hierarchy: one module, refusals catchable as refusals, named replay errors."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import servicewf
from servicewf import errors
from servicewf.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRefused,
    ConflictRetriesExhausted,
    ExtensionConditionsUnmet,
    ExtensionRefused,
    GoalUndefined,
    HistoryMismatch,
    InvalidPolicy,
    MigrationRefused,
    NoCadence,
    ObligationError,
    SchemaMigrationError,
    ServicewfError,
    StaleVersion,
    StorageError,
)


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(servicewf.__path__, "servicewf.")]


def test_every_exception_class_of_the_library_lives_in_errors() -> None:
    # The Django integration's modules (models, admin) need configured settings to import;
    # configured here so this test also runs alone, not only after the framework tests.
    from tests.frameworks.django_env import django_setup

    django_setup()
    elsewhere = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name and name != "servicewf.errors"):
                elsewhere.append(f"{name}.{attr}")
    assert elsewhere == []


def test_every_error_class_is_drawn_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        value = getattr(errors, name)
        if inspect.isclass(value) and value.__name__ == name:
            assert f" {name}" in doc, name


@pytest.mark.parametrize(("module", "name"), [
    ("servicewf.sla.policy", "GoalUndefined"),
    ("servicewf.sla.policy", "ExtensionConditionsUnmet"),
    ("servicewf.sla", "GoalUndefined"),
    ("servicewf.sla", "ExtensionConditionsUnmet"),
    ("servicewf.processes.obligation", "ObligationError"),
    ("servicewf.processes.obligation", "NoCadence"),
    ("servicewf.storage.retry", "ConflictRetriesExhausted"),
])
def test_old_import_locations_still_work(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_refusals_are_command_refusals() -> None:
    assert issubclass(GoalUndefined, CommandRefused)
    assert issubclass(GoalUndefined, InvalidPolicy) and issubclass(GoalUndefined, ValueError)
    assert issubclass(MigrationRefused, CommandRefused)
    assert not issubclass(MigrationRefused, StorageError)
    assert issubclass(ExtensionConditionsUnmet, ExtensionRefused)
    assert issubclass(ConflictRetriesExhausted, StaleVersion)
    assert issubclass(NoCadence, ObligationError) and issubclass(ObligationError, ValueError)


def test_schema_migration_has_its_own_storage_error() -> None:
    assert issubclass(SchemaMigrationError, StorageError)
    assert not issubclass(SchemaMigrationError, CommandRefused)


def test_goal_undefined_takes_the_command() -> None:
    refused = GoalUndefined("no goal", case_id="c1", trigger="classify")
    assert (refused.case_id, refused.trigger, str(refused)) == ("c1", "classify", "no goal")
    bare = GoalUndefined("no goal")  # what an overriding select_target raises
    assert (bare.case_id, bare.trigger) == (None, None)


def test_history_mismatch_carries_case_and_sequence() -> None:
    bad = HistoryMismatch("event 3 breaks the sequence", case_id="c1", seq=3)
    assert isinstance(bad, ServicewfError) and isinstance(bad, ValueError)
    assert (bad.case_id, bad.seq) == ("c1", 3)


def test_messages_are_built_by_the_classes() -> None:
    stale = StaleVersion.for_case("c1", 2, 3, trigger="assign")
    assert str(stale) == ("case 'c1' is at version 3, not 2: someone else changed it; reload "
                          "it and retry")
    assert (stale.case_id, stale.expected, stale.actual, stale.trigger) == ("c1", 2, 3, "assign")
    missing = CaseNotFound.for_id("c9")
    assert str(missing) == "no case 'c9' in this store" and isinstance(missing, LookupError)
    taken = CaseAlreadyExists.for_id("c1")
    assert str(taken) == "case 'c1' exists already; choose another id"
    assert (missing.case_id, taken.case_id) == ("c9", "c1")
