"""Compliance you can prove: rules as values, checked over case histories.

Rules (:mod:`~servicewf.compliance.rules`) are Declare/LTLf templates (existence, absence,
init, response, precedence, chain and alternate variants, succession, responded existence,
coexistence and their negations), role rules (who may act, the C9 handler tier), data rules,
overdue steps (C13: a late re-plan has a cause analysis), timing rules in business time on a
named calendar or an SLA clock, windows and retention. Each
has an id, a guideline citation and zh/en text, and can be loaded from plain data validated by
a published JSON Schema (:data:`RULE_SCHEMA`; nothing is evaluated from data).

:func:`check` evaluates rules over histories as of an instant, with four verdicts
(:class:`Verdict`); :class:`ComplianceMonitor` does it incrementally after every command and
raises alerts for cases that become "possibly violated". :func:`builtin_catalogue` is C1–C15,
the built-in SLA clocks and retention. The package sits above the engine: the core never
imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:
    from servicewf.compliance.catalogue import (
        Catalogue,
        builtin_catalogue,
        builtin_environment,
        guideline_rules,
        timing_rules,
    )
    from servicewf.compliance.checker import History, Report, RuleSummary, check, check_one
    from servicewf.compliance.data import (
        RULE_SCHEMA,
        RULES_SCHEMA,
        rule_from_data,
        rule_to_data,
        rules_from_data,
        rules_to_data,
    )
    from servicewf.compliance.monitor import Alert, ComplianceMonitor
    from servicewf.compliance.rules import (
        PREDICATES,
        Absence,
        AllOf,
        AlternatePrecedence,
        AlternateResponse,
        ChainPrecedence,
        ChainResponse,
        ChainSuccession,
        Coexistence,
        Condition,
        DataRule,
        Duration,
        Environment,
        Existence,
        HandlerTier,
        Init,
        NotCoexistence,
        NotSuccession,
        Outcome,
        Overdue,
        Precedence,
        RespondedExistence,
        Response,
        Retention,
        RoleRule,
        Rule,
        SlaClock,
        Succession,
        Verdict,
        Window,
        Within,
        register_predicate,
    )
    from servicewf.compliance.trace import Trace, activity

# The names load on first use (PEP 562): ``servicewf check`` and the CLI's other commands stay
# quick to start, and importing one rule class does not import the catalogue's processes.
_HOME: dict[str, str] = {
    "Absence": "servicewf.compliance.rules",
    "Alert": "servicewf.compliance.monitor",
    "AllOf": "servicewf.compliance.rules",
    "AlternatePrecedence": "servicewf.compliance.rules",
    "AlternateResponse": "servicewf.compliance.rules",
    "Catalogue": "servicewf.compliance.catalogue",
    "ChainPrecedence": "servicewf.compliance.rules",
    "ChainResponse": "servicewf.compliance.rules",
    "ChainSuccession": "servicewf.compliance.rules",
    "Coexistence": "servicewf.compliance.rules",
    "ComplianceMonitor": "servicewf.compliance.monitor",
    "Condition": "servicewf.compliance.rules",
    "DataRule": "servicewf.compliance.rules",
    "Duration": "servicewf.compliance.rules",
    "Environment": "servicewf.compliance.rules",
    "Existence": "servicewf.compliance.rules",
    "HandlerTier": "servicewf.compliance.rules",
    "History": "servicewf.compliance.checker",
    "Init": "servicewf.compliance.rules",
    "NotCoexistence": "servicewf.compliance.rules",
    "NotSuccession": "servicewf.compliance.rules",
    "Outcome": "servicewf.compliance.rules",
    "Overdue": "servicewf.compliance.rules",
    "PREDICATES": "servicewf.compliance.rules",
    "Precedence": "servicewf.compliance.rules",
    "RULES_SCHEMA": "servicewf.compliance.data",
    "RULE_SCHEMA": "servicewf.compliance.data",
    "Report": "servicewf.compliance.checker",
    "RespondedExistence": "servicewf.compliance.rules",
    "Response": "servicewf.compliance.rules",
    "Retention": "servicewf.compliance.rules",
    "RoleRule": "servicewf.compliance.rules",
    "Rule": "servicewf.compliance.rules",
    "RuleSummary": "servicewf.compliance.checker",
    "SlaClock": "servicewf.compliance.rules",
    "Succession": "servicewf.compliance.rules",
    "Trace": "servicewf.compliance.trace",
    "Verdict": "servicewf.compliance.rules",
    "Window": "servicewf.compliance.rules",
    "Within": "servicewf.compliance.rules",
    "activity": "servicewf.compliance.trace",
    "builtin_catalogue": "servicewf.compliance.catalogue",
    "builtin_environment": "servicewf.compliance.catalogue",
    "check": "servicewf.compliance.checker",
    "check_one": "servicewf.compliance.checker",
    "guideline_rules": "servicewf.compliance.catalogue",
    "register_predicate": "servicewf.compliance.rules",
    "rule_from_data": "servicewf.compliance.data",
    "rule_to_data": "servicewf.compliance.data",
    "rules_from_data": "servicewf.compliance.data",
    "rules_to_data": "servicewf.compliance.data",
    "timing_rules": "servicewf.compliance.catalogue",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'servicewf.compliance' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "PREDICATES",
    "RULES_SCHEMA",
    "RULE_SCHEMA",
    "Absence",
    "Alert",
    "AllOf",
    "AlternatePrecedence",
    "AlternateResponse",
    "Catalogue",
    "ChainPrecedence",
    "ChainResponse",
    "ChainSuccession",
    "Coexistence",
    "ComplianceMonitor",
    "Condition",
    "DataRule",
    "Duration",
    "Environment",
    "Existence",
    "HandlerTier",
    "History",
    "Init",
    "NotCoexistence",
    "NotSuccession",
    "Outcome",
    "Overdue",
    "Precedence",
    "Report",
    "RespondedExistence",
    "Response",
    "Retention",
    "RoleRule",
    "Rule",
    "RuleSummary",
    "SlaClock",
    "Succession",
    "Trace",
    "Verdict",
    "Window",
    "Within",
    "activity",
    "builtin_catalogue",
    "builtin_environment",
    "check",
    "check_one",
    "guideline_rules",
    "register_predicate",
    "rule_from_data",
    "rule_to_data",
    "rules_from_data",
    "rules_to_data",
    "timing_rules",
]
