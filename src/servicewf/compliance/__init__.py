"""Compliance you can prove: rules as values, checked over case histories.

Rules (:mod:`~servicewf.compliance.rules`) are Declare/LTLf templates (existence, absence,
init, response, precedence, chain and alternate variants, succession, responded existence,
coexistence and their negations), role rules (who may act, the C9 handler tier), data rules,
timing rules in business time on a named calendar or an SLA clock, windows and retention. Each
has an id, a guideline citation and zh/en text, and can be loaded from plain data validated by
a published JSON Schema (:data:`RULE_SCHEMA`; nothing is evaluated from data).

:func:`check` evaluates rules over histories as of an instant, with four verdicts
(:class:`Verdict`); :class:`ComplianceMonitor` does it incrementally after every command and
raises alerts for cases that become "possibly violated". :func:`builtin_catalogue` is C1–C15,
the built-in SLA clocks and retention. The package sits above the engine: the core never
imports it.
"""

from __future__ import annotations

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
