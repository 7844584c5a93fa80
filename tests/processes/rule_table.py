"""The rules of the built-in processes, written by hand from the guidelines (not from the
definitions): for each process its intake, and for each step (a trigger fired from a state
reached by a path) the compliant data, the state it reaches, the fields it needs, and the
refusals that must name the rule which said no.

``test_rules.py`` runs the table; ``test_random_walks.py`` uses the compliant data to steer its
walks. The completeness test in ``test_rules.py`` compares this table with the definitions, so
a guard, a required field or a role restriction added to a process without a row here fails.

Each step supplies only the data that step sets (its required fields and what its guards read),
so the table stays valid under per-transition field ownership.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

# Instants on the harness clock (Monday 2 March 2026, 09:00 in Shanghai).
NOW = "2026-03-02T09:00:00+08:00"
SOON = "2026-03-09T18:00:00+08:00"
LATER = "2026-04-30T18:00:00+08:00"
PAST = "2026-03-01T09:00:00+08:00"
NAIVE = "2026-03-03 10:00"
RETAIN = "2031-03-02"
RETAIN_SHORT = "2028-03-01"
VOCAB_CHANNELS = "vocabulary (channels (Classifications))"
INSTANT = "data: an instant with its zone (ISO-8601)"
RETENTION = ("retention_at_least_3_years", "Retention (001 §4.4)")


# --- what a refusal must say ------------------------------------------------------------------


@attrs.frozen
class G:
    """``GuardFailed`` naming ``guard`` and citing ``rule``."""

    guard: str
    rule: str | None


@attrs.frozen
class M:
    """``DataMissing`` naming exactly ``missing``."""

    missing: tuple[str, ...]


@attrs.frozen
class R:
    """``RoleNotPermitted`` listing exactly ``allowed`` (sorted)."""

    allowed: tuple[str, ...]


@attrs.frozen
class Reserved:
    """A field another command owns was supplied: refused as ``reserved_fields`` (audit
    integrity). Checked in one place, ``check_refusal``."""


Expect = G | M | R | Reserved


@attrs.frozen
class Advance:
    """A path item: move the clock."""

    days: int


@attrs.frozen
class Fire:
    """A path item: fire ``trigger`` with exactly ``data`` as ``role`` (a step's compliant data
    changed for this path)."""

    trigger: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
    role: str = "agent"


PathItem = str | Advance | Fire


@attrs.frozen
class Bad:
    """One refusal of a step: the step's data changed by ``data`` (``None`` drops a field), as
    role ``role`` / actor ``by`` (default: the step's), on a case opened with ``intake``
    overrides (``bare``: from the definition without intake checks, for the guards that
    re-check the intake). ``covers`` names further guards this row kills when removed from
    the step (a guard that is reached only through another one, e.g. an alternative)."""

    expect: Expect
    data: Mapping[str, Any] = attrs.field(factory=dict)
    role: str | None = None
    by: str | None = None
    intake: Mapping[str, Any] = attrs.field(factory=dict)
    bare: bool = False
    path: tuple[PathItem, ...] | None = None
    covers: tuple[str, ...] = ()


def bad(expect: Expect, *, as_: str | None = None, by: str | None = None,
        intake: Mapping[str, Any] | None = None, bare: bool = False,
        path: tuple[PathItem, ...] | None = None, covers: tuple[str, ...] = (),
        **data: Any) -> Bad:
    return Bad(expect, data, as_, by, intake or {}, bare, path, covers)


@attrs.frozen
class Step:
    """``trigger`` fired after ``at`` (path items: a trigger name fires the first step of
    that trigger with its compliant data) reaches ``dest`` with ``data``; ``needs`` are the
    fields it requires; ``refusals`` the rules it enforces."""

    trigger: str
    at: tuple[PathItem, ...]
    dest: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
    needs: tuple[str, ...] = ()
    refusals: tuple[Bad, ...] = ()
    role: str = "agent"
    by: str | None = None
    intake: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Process:
    """A process's intake (compliant values), the intake fields it needs, its intake
    refusals, its reserved fields (field → (owning triggers, a value to slip in)) and its
    steps."""

    intake: Mapping[str, Any]
    intake_needs: tuple[str, ...]
    steps: tuple[Step, ...]
    intake_refusals: tuple[Bad, ...] = ()
    reserved: Mapping[str, tuple[tuple[str, ...], Any]] = attrs.field(factory=dict)
    # Guards on every transition that a row names on some triggers only: (trigger, guard)
    # pairs the built-in definition cannot reach are listed here with the reason.
    unreachable: Mapping[tuple[str, str], str] = attrs.field(factory=dict)


def step_for(process: Process, trigger: str) -> Step:
    """The first step of ``trigger``: its compliant data is what a path item fires."""
    return next(s for s in process.steps if s.trigger == trigger)


# --- P9 access_grant --------------------------------------------------------------------------

ACCESS_GRANT = Process(
    intake={"grantee": "amy", "requested_scope": ["basic_profile", "contact"],
            "purpose": "account management"},
    intake_needs=("grantee", "requested_scope", "purpose"),
    reserved={"grantee": ((), "mallory"), "requested_scope": ((), ["finance"])},
    steps=(
        # Approving exactly the requested scope is least privilege.
        Step("approve", (), "approved", role="manager", by="boss",
             data={"approved_scope": ["basic_profile", "contact"], "approved_by": "boss"},
             needs=("approved_scope", "approved_by"),
             refusals=(
                 bad(G("least_privilege", "002 §7.2"),
                     approved_scope=["basic_profile", "contact", "finance"]),
                 bad(G("least_privilege", "002 §7.2"), approved_scope=["finance"]),
                 bad(G("least_privilege", "002 §7.2"), approved_scope=[]),
                 bad(G("not_self_approval", "002 §7.3"), by="amy"),
                 bad(R(("manager", "supervisor")), as_="agent"),
                 bad(R(("manager", "supervisor")), as_="executive"),
             )),
        Step("approve", (), "approved", role="supervisor", by="sue",
             data={"approved_scope": "contact", "approved_by": "sue"}),
        Step("activate", ("approve",), "active"),
        Step("audit", ("approve", "activate"), "audited", data={"audit_result": "in order"},
             needs=("audit_result",)),
        Step("audit", ("approve", "activate", "audit"), "audited",
             data={"audit_result": "still in order"}, needs=("audit_result",)),
        Step("revoke", (), "revoked", data={"reason": "left the team"}, needs=("reason",)),
        Step("revoke", ("approve", "activate", "audit"), "revoked",
             data={"reason": "audit finding"}),
    ),
)

# --- P9 contract ------------------------------------------------------------------------------

_SIGNED = {"customer_review": "legal ok", "company_review": "finance ok",
           "customer_signatory": "Ms Wu", "company_signatory": "Mr Li"}
CONTRACT = Process(
    intake={"customer_ref": "C-7", "subject": "annual maintenance"},
    intake_needs=("customer_ref", "subject"),
    steps=(
        Step("draft", (), "drafted", data={"draft_ref": "DOC-1"}, needs=("draft_ref",)),
        Step("draft", ("draft",), "drafted", data={"draft_ref": "DOC-2"}),
        Step("submit_review", ("draft",), "under_review"),
        Step("review_failed", ("draft", "submit_review"), "drafted",
             data={"reason": "liability clause"}, needs=("reason",)),
        Step("sign", ("draft", "submit_review"), "signed", data=_SIGNED,
             needs=tuple(_SIGNED),
             refusals=(
                 bad(G("both_parties_reviewed", "003 §7.1"), company_review="  "),
                 bad(G("both_parties_reviewed", "003 §7.1"), customer_review=" "),
             )),
        Step("sign", ("draft", "submit_review", "review_failed", "draft", "submit_review"),
             "signed", data=_SIGNED),
        Step("seal", ("draft", "submit_review", "sign"), "sealed", data={"seal_ref": "SEAL-1"},
             needs=("seal_ref",)),
    ),
)

# --- P9 contract_change -----------------------------------------------------------------------

CONTRACT_CHANGE = Process(
    intake={"contract_ref": "CT-7", "reason": "new branch", "content": "add the Shenzhen site"},
    intake_needs=("contract_ref", "reason", "content"),
    steps=(
        Step("negotiate", (), "negotiating",
             refusals=(
                 bad(G("written_request", "003 §7.1"), intake={"reason": "   "}),
                 bad(G("written_request", "003 §7.1"), intake={"content": None}, bare=True),
             )),
        Step("agree", ("negotiate",), "agreed", data={"agreed_terms": "v2 annex"},
             needs=("agreed_terms",)),
        Step("refuse", ("negotiate",), "refused", data={"refusal_reason": "no budget"},
             needs=("refusal_reason",)),
        Step("sign", ("negotiate", "agree"), "signed",
             data={"customer_signatory": "Ms Wu", "company_signatory": "Mr Li"},
             needs=("customer_signatory", "company_signatory")),
        Step("file", ("negotiate", "agree", "sign"), "filed", data={"file_ref": "F-9"},
             needs=("file_ref",)),
    ),
)

# --- P9 customer_data_change ------------------------------------------------------------------

CUSTOMER_DATA_CHANGE = Process(
    intake={"customer_ref": "C-8", "requested_by": "C-8", "requester_kind": "客戶本人",
            "changes": "phone → 139-0000-0000"},
    intake_needs=("customer_ref", "requested_by", "requester_kind", "changes"),
    intake_refusals=(
        bad(G("requester_kind_known", "vocabulary (002 §2.1)"), requester_kind="neighbour"),
    ),
    reserved={"requested_by": ((), "someone-else"), "requester_kind": ((), "customer"),
              "authorisation_ref": (("submit",), "POA-9")},
    steps=(
        Step("submit", (), "pending_approval",
             refusals=(
                 bad(G("requester_authorised", "002 §2.1"),
                     intake={"requester_kind": "authorised_agent", "requested_by": "lawyer-1"}),
                 bad(G("requester_authorised", "002 §2.1"),
                     intake={"requester_kind": "授權代理人", "requested_by": "lawyer-1"},
                     authorisation_ref=""),
                 bad(G("requester_kind_known", "vocabulary (002 §2.1)"),
                     intake={"requester_kind": "neighbour"}, bare=True),
             )),
        # An authorised agent with the authorisation passes.
        Step("submit", (), "pending_approval", data={"authorisation_ref": "POA-1"},
             intake={"requester_kind": "authorised agent", "requested_by": "lawyer-1"}),
        Step("approve", ("submit",), "approved", role="supervisor", by="boss",
             data={"approved_by": "boss"}, needs=("approved_by",),
             refusals=(
                 bad(G("not_self_approval", "002 §7.3"), by="C-8"),
                 bad(R(("manager", "supervisor")), as_="agent"),
             )),
        Step("approve", ("submit",), "approved", role="manager", by="mgr",
             data={"approved_by": "mgr"}),
        Step("apply", ("submit", "approve"), "applied", data={"applied_by": "clerk"},
             needs=("applied_by",)),
        Step("reject", (), "rejected", data={"reason": "no consent"}, needs=("reason",)),
        Step("reject", ("submit",), "rejected", data={"reason": "identity not verified"}),
    ),
)

# --- P8 survey_campaign -----------------------------------------------------------------------

SURVEY_CAMPAIGN = Process(
    intake={"service_line": "meeting rooms", "questionnaire": "Q2-2026"},
    intake_needs=("service_line", "questionnaire"),
    steps=(
        Step("dispatch", (), "dispatched", data={"audience": "all tenants", "channel": "email"},
             needs=("audience", "channel"),
             refusals=(bad(G("channel_known", VOCAB_CHANNELS), channel="carrier pigeon"),)),
        Step("collect", ("dispatch",), "collecting"),
        Step("analyse", ("dispatch", "collect"), "analysed",
             data={"responses": "120", "findings": "projectors"},
             needs=("responses", "findings")),
        Step("report", ("dispatch", "collect", "analyse"), "reported",
             data={"report": "R-Q2", "meeting": "2026-03-05 review"},
             needs=("report", "meeting")),
        Step("raise_actions", ("dispatch", "collect", "analyse", "report"), "actions_raised",
             data={"actions": ["IA-1", "IA-2"]}, needs=("actions",)),
    ),
)

# --- P3 consultation --------------------------------------------------------------------------

CONSULTATION = Process(
    intake={"channel": "SMS", "customer_ref": "C-3003", "question": "how to change my plan?"},
    intake_needs=("channel", "customer_ref", "question"),
    intake_refusals=(
        # Only phone, online, email and SMS are consultation channels (003 §4.1).
        bad(G("channel_known", "vocabulary (003 §4.1)"), channel="letter"),
        bad(G("channel_known", "vocabulary (003 §4.1)"), channel="walk-in"),
    ),
    steps=(
        Step("answer", (), "answered", data={"answer": "online service hall"},
             needs=("answer",),
             refusals=(
                 bad(G("intake_complete", "intake (003 §4.1)"), intake={"question": "  "}),
                 bad(G("channel_known", "vocabulary (003 §4.1)"), intake={"channel": "letter"},
                     bare=True),
             )),
        Step("close", ("answer",), "closed"),
        Step("transfer", (), "transferred",
             data={"transfer_to": "投訴", "linked_case_id": "CMP-1"},
             needs=("transfer_to", "linked_case_id"),
             refusals=(bad(G("transfer_to_known", "vocabulary (003 §4.1)"),
                           transfer_to="nowhere"),)),
        Step("transfer", ("answer",), "transferred",
             data={"transfer_to": "service_request", "linked_case_id": "SR-1"}),
    ),
)

# --- P4 service_problem -----------------------------------------------------------------------

_ANALYSIS = {"symptom": "submit fails", "cause": "expired certificate", "impact": "all users"}
SERVICE_PROBLEM = Process(
    intake={"problem_type": "系統故障", "description": "ticket system rejects submissions"},
    intake_needs=("problem_type", "description"),
    intake_refusals=(
        bad(G("problem_type_known", "vocabulary (000 §3.3, 001 §4.2)"), problem_type="gremlins"),
    ),
    steps=(
        Step("report", (), "reported", data={"reported_to": "it.lead"}, needs=("reported_to",),
             refusals=(
                 bad(G("complaint_linked", "problem types (000 §3.3)"),
                     intake={"problem_type": "投訴"}),
                 bad(G("problem_type_known", "vocabulary (000 §3.3, 001 §4.2)"),
                     intake={"problem_type": "gremlins"}, bare=True),
             )),
        # A complaint-type problem is linked to its complaint case.
        Step("report", (), "reported", data={"reported_to": "qa.lead"},
             intake={"problem_type": "complaint", "linked_case_id": "CMP-7"}),
        Step("analyse", ("report",), "analysed", data=_ANALYSIS, needs=tuple(_ANALYSIS)),
        Step("resolve", ("report", "analyse"), "resolved", data={"solution": "renew it"},
             needs=("solution",),
             refusals=(
                 bad(G("analysis_complete", "000 §3.3"),
                     path=("report", Fire("analyse", {**_ANALYSIS, "cause": "  "}))),
             )),
        Step("reanalyse", ("report", "analyse", "resolve"), "analysed",
             data={"reason": "came back"}, needs=("reason",)),
        Step("verify", ("report", "analyse", "resolve"), "verified",
             data={"verified_by": "qa", "verification": "24 h without errors"},
             needs=("verified_by", "verification")),
        Step("archive", ("report", "analyse", "resolve", "verify"), "archived",
             data={"archive_key": "PRB-1", "owner": "it.lead", "retain_until": RETAIN},
             needs=("archive_key", "owner"),
             refusals=(bad(G(*RETENTION), retain_until=RETAIN_SHORT),
                       bad(G(*RETENTION), retain_until="soon"))),
        Step("review", ("report", "analyse", "resolve", "verify", "archive"), "reviewed",
             role="supervisor",
             data={"review_report": "REV-1", "chaired_by": "team.lead"},
             needs=("review_report", "chaired_by"),
             refusals=(bad(R(("manager", "supervisor")), as_="agent"),)),
    ),
    unreachable={("archive", "problem_verified"):
                 "archive is only offered from verified, which verify enters with verified_by: "
                 "tested on a derivation (test_problem_verified_on_a_derivation)"},
)

# --- P7 improvement_action --------------------------------------------------------------------

_PLAN = {"goal": "follow-up on time ≥ 95%", "owner": "team.lead", "deadline": SOON,
         "acceptance_criteria": "Q2 report"}
_REPLAN = {**_PLAN, "deadline": LATER}
_NOT_EFFECTIVE = ("plan", "start", "check", "mark_not_effective")
IMPROVEMENT_ACTION = Process(
    intake={"origin": "投訴", "description": "follow-ups are late"},
    intake_needs=("origin", "description"),
    intake_refusals=(
        bad(G("origin_known", "vocabulary (000 §4.3, 001 §4.3)"), origin="gut feeling"),
    ),
    reserved={"deadline": (("plan", "re_plan"), LATER)},
    steps=(
        Step("plan", (), "planned", data=_PLAN, needs=tuple(_PLAN),
             refusals=(
                 bad(G("plan_not_blank", "C13 (001 §4.3)"), goal="  "),
                 bad(G("plan_not_blank", "C13 (001 §4.3)"), acceptance_criteria=" "),
                 bad(G("deadline_in_future", "C13 (001 §4.3)"), deadline=PAST),
                 bad(G("deadline_in_future", "C13 (001 §4.3)"), deadline=NAIVE),
                 bad(G("origin_known", "vocabulary (000 §4.3, 001 §4.3)"),
                     intake={"origin": "gut feeling"}, bare=True),
             )),
        Step("start", ("plan",), "implementing"),
        Step("check", ("plan", "start"), "checked",
             data={"checked_by": "qa", "check_result": "94%"},
             needs=("checked_by", "check_result")),
        Step("close", ("plan", "start", "check"), "closed"),
        Step("mark_not_effective", ("plan", "start", "check"), "not_effective",
             data={"reason": "below target"}, needs=("reason",)),
        Step("re_plan", _NOT_EFFECTIVE, "planned", data=_REPLAN, needs=tuple(_REPLAN),
             refusals=(
                 bad(G("plan_not_blank", "C13 (001 §4.3)"), owner=""),
                 bad(G("plan_not_blank", "C13 (001 §4.3)"), owner="  "),
                 bad(G("deadline_in_future", "C13 (001 §4.3)"), deadline=PAST),
                 bad(G("cause_analysis_if_overdue", "C13 (001 §4.3)"),
                     path=(*_NOT_EFFECTIVE, Advance(10))),
             )),
        # Overdue: re-planned with a cause analysis.
        Step("re_plan", (*_NOT_EFFECTIVE, Advance(10)), "planned",
             data={**_REPLAN, "cause_analysis": "owner was on leave"}),
    ),
    unreachable={
        ("plan", "reserved_fields"): "the only reserved field is deadline, which plan owns",
        ("re_plan", "reserved_fields"): "the only reserved field is deadline, which re_plan "
                                        "owns",
        ("start", "plan_complete"):
            "start is only offered from planned, which plan and re_plan enter with the four "
            "fields not blank: tested on a derivation (test_plan_complete_on_a_derivation)",
    },
)

# --- P5 incident ------------------------------------------------------------------------------

_INFOSEC = Fire("classify", {"category": "信息安全", "level": "重大"})
_NOTIFIED = ("classify", "respond", "recover", "notify_customers")
_INFOSEC_NOTIFIED = (_INFOSEC, "respond", "recover", "notify_customers")
_REPORTED = Fire("report", {"reported_to": ["regulator", "customers", "internal_audit"]})
_STATEMENT = Fire("issue_statement", {"public_statement": "Service restored at 10:00"})
_OTHER_WORDING = {"public_statement": "Nothing happened"}
INCIDENT = Process(
    intake={"description": "customer data may have leaked"},
    intake_needs=("description",),
    reserved={"public_statement": (("issue_statement", "notify_customers"), "We are sorry")},
    steps=(
        Step("classify", (), "classified", data={"category": "accident", "level": "一般"},
             needs=("category", "level"),
             refusals=(
                 bad(G("category_known", "vocabulary (003 §10.1, 002 §7.4)"), category="meteor"),
                 bad(G("level_known", "vocabulary (002 §7.4)"), level="meh"),
             )),
        Step("respond", ("classify",), "responding", data={"response_lead": "duty.manager"},
             needs=("response_lead",)),
        Step("update_customers", ("classify", "respond"), "responding",
             data={"progress_update": "engineers on site"}, needs=("progress_update",)),
        Step("issue_statement", ("classify",), "classified",
             data={"public_statement": "Service restored at 10:00"},
             needs=("public_statement",),
             refusals=(bad(G("one_wording", "003 §10.3(2)"), path=("classify", _STATEMENT),
                           **_OTHER_WORDING),)),
        # The agreed wording may be repeated.
        Step("issue_statement", ("classify", "respond", _STATEMENT), "responding",
             data={"public_statement": "Service restored at 10:00"}),
        Step("recover", ("classify", "respond"), "recovered", data={"recovery": "failover"},
             needs=("recovery",)),
        Step("notify_customers", ("classify", "respond", "recover"), "customers_notified",
             data={"notice": "restored"}, needs=("notice",),
             refusals=(bad(G("one_wording", "003 §10.3(2)"),
                           path=("classify", "respond", "recover", _STATEMENT),
                           **_OTHER_WORDING),)),
        # The notice may carry the agreed statement.
        Step("notify_customers", ("classify", "respond", "recover", _STATEMENT),
             "customers_notified",
             data={"notice": "restored", "public_statement": "Service restored at 10:00"}),
        Step("report", _INFOSEC_NOTIFIED, "reported",
             data={"reported_to": ["regulator", "customers", "internal_audit"]},
             needs=("reported_to",),
             refusals=(
                 bad(G("information_security", "002 §7.4"), path=_NOTIFIED),
                 bad(G("reported_to_all", "002 §7.4"), reported_to=["regulator"]),
                 bad(G("reported_to_all", "002 §7.4"), reported_to="regulator, customers"),
             )),
        Step("review", _NOTIFIED, "reviewed",
             data={"root_cause": "expired certificate", "rectification": "monitoring"},
             needs=("root_cause", "rectification"),
             refusals=(
                 # An information-security incident is reported before review (002 §7.4).
                 bad(G("information_security", "002 §7.4"), path=_INFOSEC_NOTIFIED),
             )),
        Step("review", (*_INFOSEC_NOTIFIED, _REPORTED), "reviewed",
             data={"root_cause": "phishing", "rectification": "training"}),
        Step("close", (*_NOTIFIED, "review"), "closed"),
    ),
    unreachable={
        **{(t, "one_wording"): "public_statement is reserved to issue_statement and "
                               "notify_customers: reserved_fields refuses it first"
           for t in ("classify", "respond", "update_customers", "recover", "report", "review",
                     "close")},
        **{(t, "reserved_fields"): "the only reserved field is public_statement, which this "
                                   "trigger owns" for t in ("issue_statement", "notify_customers")},
    },
)

# --- P8 obligation ----------------------------------------------------------------------------

_OBLIGATION_RULE = "P8 cadence in the obligation's zone (000 §4.1–4.2, §5.4, §7.2; 001 §5.1)"
_VOCAB_OBLIGATION = "vocabulary (000 §4.1–4.2, §5.4, §7.2; 001 §5.1)"
_COMPLETION = ("completion_in_range", "P8 completion (000 §4.1, 001 §5.1)")
OBLIGATION = Process(
    intake={"kind": "客戶聯繫", "cadence": "weekly", "start": "2026-02-23",
            "tz": "Asia/Shanghai", "subject": "C-1"},
    intake_needs=("kind", "cadence", "start", "tz", "subject"),
    intake_refusals=(
        bad(G("kind_known", _VOCAB_OBLIGATION), kind="gardening"),
        bad(G("cadence_known", _VOCAB_OBLIGATION), cadence="hourly"),
        bad(G("tz_known", _OBLIGATION_RULE), tz="Mars/Olympus"),
        bad(G("tz_known", _OBLIGATION_RULE), tz=" Asia/Shanghai"),
        bad(G("start_valid", "P8 cadence start (000 §4.1–4.2, §5.4, §7.2; 001 §5.1)"),
            start="next monday"),
        bad(G("start_valid", "P8 cadence start (000 §4.1–4.2, §5.4, §7.2; 001 §5.1)"),
            start=NAIVE),
        bad(G("subject_given", "P8 obligation subject (000 §4.1–4.2, §5.4, §7.2; 001 §5.1)"),
            subject="   "),
    ),
    reserved={"kind": ((), "survey"), "cadence": ((), "monthly"), "start": ((), "2026-01-01"),
              "tz": ((), "UTC"), "subject": ((), "C-2")},
    steps=(
        Step("fulfil", (), "active", data={"ref": "call 2026-03-02"},
             refusals=(
                 bad(G(*_COMPLETION), fulfilled_at=SOON),
                 bad(G(*_COMPLETION), fulfilled_at="2026-02-22T09:00:00+08:00"),
                 bad(G(*_COMPLETION), fulfilled_at=NAIVE),
             )),
        # Back-dated to the obligation's first instant.
        Step("fulfil", (), "active",
             data={"ref": "visit", "fulfilled_at": "2026-02-23T00:00:00+08:00"}),
        Step("end", ("fulfil",), "ended", data={"reason": "customer left"}, needs=("reason",),
             refusals=(bad(G("reason_given", "P8 ending an obligation (000 §4.1–4.2, §5.4, "
                                             "§7.2; 001 §5.1)"), reason="  "),)),
    ),
)

# --- P1 service_request -----------------------------------------------------------------------

_PLAN_FIELDS = {"plan_content": "replace the lamp", "plan_schedule": "today 13:00",
                "plan_method": "on site", "plan_staff": "li.na", "plan_fee": "0",
                "plan_guarantees": "90 days"}
_CONFIRMATION = {"confirmed_by": "Ms Wu", "confirmed_at": NOW, "confirmation_medium": "email"}
_DELIVERY = {"delivery_content": "lamp replaced", "delivery_method": "on site",
             "delivered_at": NOW, "delivered_by": "li.na"}
_AGREED = ("register", "confirm", "propose_plan", "agree_plan")
_STARTED = (*_AGREED, "start")
_DELIVERED = (*_STARTED, "deliver")
_ACCEPTED = (*_DELIVERED, "accept")
SERVICE_REQUEST = Process(
    intake={"channel": "電話", "customer_ref": "C-1001", "description": "projector is broken"},
    intake_needs=("channel", "customer_ref", "description"),
    intake_refusals=(bad(G("channel_known", VOCAB_CHANNELS), channel="pigeon"),),
    reserved={**{f: (("agree_plan",), v) for f, v in _CONFIRMATION.items()},
              **{f: (("deliver",), v) for f, v in _DELIVERY.items()}},
    steps=(
        Step("register", (), "registered",
             data={"request_type": "repair", "need": "works by 14:00", "contact": "138-0000"},
             needs=("request_type", "need", "contact"),
             refusals=(
                 bad(G("intake_complete", "C1 (001 §2.1)"), intake={"description": "  "}),
                 bad(G("intake_complete", "C1 (001 §2.1)"), intake={"customer_ref": None},
                     bare=True),
                 bad(G("channel_known", VOCAB_CHANNELS), intake={"channel": "pigeon"},
                     bare=True),
             )),
        Step("request_info", ("register",), "registered", data={"missing_info": "room number"},
             needs=("missing_info",)),
        Step("supply_info", ("register",), "registered", data={"info": "room 3"},
             needs=("info",)),
        Step("confirm", ("register",), "confirmed",
             data={"priority": "緊急", "owner": "li.na", "due": SOON,
                   "time_limit_notice": "told by phone"},
             needs=("priority", "owner", "due", "time_limit_notice"),
             refusals=(
                 bad(G("priority_known", "vocabulary (000 §2.1)"), priority="whenever"),
                 bad(G("due_is_instant", INSTANT), due=NAIVE),
                 bad(G("due_is_instant", INSTANT), due="tomorrow"),
             )),
        Step("propose_plan", ("register", "confirm"), "planned", data=_PLAN_FIELDS,
             needs=tuple(_PLAN_FIELDS)),
        Step("revise_plan", ("register", "confirm", "propose_plan"), "planned",
             data={"plan_content": "replace the projector", "revision_reason": "lamp is fine"},
             needs=("plan_content", "revision_reason")),
        Step("revise_plan", _AGREED, "planned",
             data={"plan_content": "replace the projector", "revision_reason": "customer"}),
        Step("agree_plan", ("register", "confirm", "propose_plan"), "plan_agreed",
             data=_CONFIRMATION, needs=tuple(_CONFIRMATION),
             refusals=(bad(G("confirmed_at_is_instant", INSTANT), confirmed_at="yesterday"),)),
        Step("start", _AGREED, "in_progress",
             data={"task_content": "replace lamp", "task_owner": "tech-1", "task_due": SOON,
                   "expected_outcome": "projector works"},
             needs=("task_content", "task_owner", "task_due", "expected_outcome"),
             refusals=(
                 bad(G("task_due_is_instant", INSTANT), task_due=NAIVE),
                 bad(G("task_defined", "C2 (000 §2.1, 001 §2.2)"),
                     path=("register", Fire("confirm", {
                         "priority": "緊急", "owner": "  ", "due": SOON,
                         "time_limit_notice": "told"}), "propose_plan", "agree_plan")),
             )),
        Step("wait_customer", _STARTED, "waiting_customer", data={"reason": "customer away"},
             needs=("reason",)),
        Step("resume", (*_STARTED, "wait_customer"), "in_progress"),
        Step("escalate", _STARTED, "in_progress", data={"alert_kind": "delay", "reason": "late"},
             needs=("alert_kind", "reason"),
             refusals=(bad(G("alert_kind_known", "vocabulary (002 §3.3)"),
                           alert_kind="boredom"),)),
        Step("escalate", (*_STARTED, "wait_customer"), "waiting_customer",
             data={"alert_kind": "資源不足", "reason": "no parts"}),
        Step("deliver", _STARTED, "delivered", data=_DELIVERY, needs=tuple(_DELIVERY),
             refusals=(bad(G("delivered_at_is_instant", INSTANT), delivered_at=NAIVE),)),
        Step("rework", _DELIVERED, "in_progress", data={"reason": "still flickers"},
             needs=("reason",)),
        Step("accept", _DELIVERED, "accepted", data={"signer": "Ms Wu", "satisfaction": "滿意"},
             needs=("signer", "satisfaction"),
             refusals=(
                 bad(G("satisfaction_known", "C5 (000 §3.4, 001 §3.3)"), satisfaction="meh"),
                 bad(G("delivery_recorded", "C4 (001 §3.3)"),
                     path=(*_STARTED, Fire("deliver", {**_DELIVERY, "delivered_by": " "}))),
             )),
        Step("follow_up", _ACCEPTED, "followed_up",
             data={"contact_channel": "phone", "follow_up_result": "all good"},
             needs=("contact_channel", "follow_up_result"),
             refusals=(bad(G("contact_channel_known", VOCAB_CHANNELS),
                           contact_channel="pigeon"),)),
        Step("follow_up", (*_ACCEPTED, "follow_up"), "followed_up",
             data={"contact_channel": "email", "follow_up_result": "second contact"}),
        Step("archive", (*_ACCEPTED, "follow_up"), "archived",
             data={"archive_key": "SR-1", "retain_until": RETAIN},
             needs=("archive_key", "retain_until"),
             refusals=(bad(G(*RETENTION), retain_until=RETAIN_SHORT),)),
        Step("cancel", (), "cancelled", data={"reason": "withdrawn"}, needs=("reason",)),
        Step("cancel", _STARTED, "cancelled", data={"reason": "withdrawn"}),
        Step("reject", (), "rejected", data={"reason": "out of scope", "customer_notification":
                                             "sms"}, needs=("reason", "customer_notification")),
        Step("reject", ("register",), "rejected",
             data={"reason": "out of scope", "customer_notification": "call"}),
    ),
    unreachable={("start", "plan_agreed"):
                 "start is only offered from plan_agreed, which agree_plan enters with the "
                 "confirmation: tested on a derivation (test_plan_agreed_on_a_derivation)"},
)

# --- P2 complaint -----------------------------------------------------------------------------

_CLASSIFIED = ("record", "classify")
_CONFIRMED = (*_CLASSIFIED, "confirm_classification")
_ACKNOWLEDGED = (*_CONFIRMED, "acknowledge")
_INVESTIGATING = (*_ACKNOWLEDGED, "investigate")
_RESOLVED = (*_INVESTIGATING, "resolve")
_FEEDBACK = (*_RESOLVED, "give_feedback")
_CLOSED = (*_FEEDBACK, "close")
_C8 = "C8 (001 §7.3)"
_C9 = ("handler_matches_level", "C9 (000 §5.1, 001 §7.2)")
_C14 = "C14 (003 §4.3.1)"
COMPLAINT = Process(
    intake={"channel": "網上", "customer_ref": "C-2002", "content": "rude repair staff"},
    intake_needs=("channel", "customer_ref", "content"),
    intake_refusals=(bad(G("channel_known", VOCAB_CHANNELS), channel="pigeon"),),
    reserved={"tier": (("escalate",), "manager"), "level": (("classify",), "緊急"),
              "supervisor": (("confirm_classification",), "zhao")},
    steps=(
        Step("record", (), "recorded", data={"tracker": "wang", "first_receiver": "wang"},
             needs=("tracker", "first_receiver"),
             refusals=(
                 bad(G("intake_complete", "intake (000 §5.2-1, 003 §4.2.2)"),
                     intake={"content": "  "}),
                 bad(G("channel_known", VOCAB_CHANNELS), intake={"channel": "pigeon"},
                     bare=True),
             )),
        Step("reject_invalid", (), "invalid",
             data={"explanation": "not our product", "redirect": "vendor hotline"},
             needs=("explanation", "redirect")),
        Step("reject_invalid", ("record",), "invalid",
             data={"explanation": "duplicate", "redirect": "CMP-1"}),
        Step("hand_over", ("record",), "recorded", data={"owner": "li", "reason": "shift"},
             needs=("owner", "reason")),
        Step("hand_over", _FEEDBACK, "feedback_given", data={"owner": "li", "reason": "leave"}),
        Step("classify", ("record",), "classified",
             data={"complaint_type": "服務態度", "level": "一般", "scope": "external"},
             needs=("complaint_type", "level", "scope"),
             refusals=(
                 bad(G("has_tracker", "C10 (001 §7.1–7.2)"),
                     path=(Fire("record", {"tracker": "  ", "first_receiver": "wang"}),)),
                 bad(G("complaint_type_known", "vocabulary (000 §5.1, 001 §7.1)"),
                     complaint_type="mood"),
                 bad(G("level_known", "vocabulary (000 §5.1, 001 §7.2)"), level="apocalyptic"),
                 bad(G("scope_known", "vocabulary (000 §5.1)"), scope="galactic"),
             )),
        # Re-classifying before confirmation.
        Step("classify", _CLASSIFIED, "classified",
             data={"complaint_type": "product", "level": "重要", "scope": "internal"}),
        Step("confirm_classification", _CLASSIFIED, "confirmed", role="supervisor", by="zhao",
             data={"supervisor": "zhao"}, needs=("supervisor",),
             refusals=(bad(R(("executive", "manager", "supervisor")), as_="agent"),)),
        Step("acknowledge", _CONFIRMED, "acknowledged",
             data={"measures": "retrain staff", "expected_completion": SOON},
             needs=("measures", "expected_completion"),
             refusals=(
                 bad(G("expected_completion_is_instant", "C7 (000 §5.2)"),
                     expected_completion=NAIVE),
             )),
        Step("investigate", _ACKNOWLEDGED, "investigating", data={"handler": "wang"},
             needs=("handler",),
             refusals=(
                 bad(G(*_C9), as_="supervisor"),
                 # An important complaint is handled by a supervisor (001 §7.2).
                 bad(G(*_C9), path=("record", Fire("classify", {
                     "complaint_type": "product", "level": "重要", "scope": "internal"}),
                     "confirm_classification", "acknowledge")),
             )),
        Step("investigate", (*_ACKNOWLEDGED, Fire("escalate",
                                                  {"tier": "supervisor", "reason": "slow"})),
             "investigating", role="supervisor", data={"handler": "zhao"}),
        Step("escalate", _ACKNOWLEDGED, "acknowledged",
             data={"tier": "supervisor", "reason": "no progress"}, needs=("tier", "reason"),
             refusals=(
                 bad(G("one_tier_up", "escalation (000 §5.1, 001 §7.2)"), tier="manager"),
                 bad(G("one_tier_up", "escalation (000 §5.1, 001 §7.2)"), tier="agent"),
             )),
        Step("extend", ("record",), "recorded",
             data={"reason": "parts", "customer_notification": "sms", "new_deadline": LATER},
             needs=("reason", "customer_notification", "new_deadline"),
             refusals=(
                 bad(G("extension_noticed", _C14), customer_notification="  "),
                 bad(G("new_deadline_in_future", _C14), new_deadline=PAST),
                 bad(G("new_deadline_in_future", _C14), new_deadline=NAIVE),
             )),
        Step("resolve", _INVESTIGATING, "resolved", data={"remedy": "道歉", "result": "apology"},
             needs=("remedy", "result"),
             refusals=(
                 bad(G("acknowledged_with_time", "C7 (000 §5.2)"),
                     path=(*_CONFIRMED, Fire("acknowledge", {"measures": "  ",
                                                             "expected_completion": SOON}),
                           "investigate")),
                 bad(G(*_C9), as_="manager"),
                 bad(G("remedy_known", "vocabulary (000 §5.2-4)"), remedy="a hug"),
             )),
        Step("give_feedback", _RESOLVED, "feedback_given",
             data={"feedback": "apologised in writing", "feedback_channel": "email"},
             needs=("feedback", "feedback_channel"),
             refusals=(
                 bad(G("feedback_channel_known", VOCAB_CHANNELS), feedback_channel="pigeon"),
                 bad(G("satisfaction_known", _C8), satisfaction="meh"),
             )),
        Step("record_satisfaction", _FEEDBACK, "feedback_given", data={"satisfaction": "不滿意"},
             needs=("satisfaction",),
             refusals=(bad(G("satisfaction_known", _C8), satisfaction="meh"),)),
        Step("reopen", _FEEDBACK, "investigating", data={"reason": "customer unhappy"},
             needs=("reason",),
             refusals=(bad(G("satisfaction_known", _C8), satisfaction=7),)),
        Step("close", _FEEDBACK, "closed", data={"satisfaction": "滿意"}, needs=("satisfaction",),
             refusals=(
                 bad(G("written_feedback", _C8),
                     path=(*_RESOLVED, Fire("give_feedback", {"feedback": "  ",
                                                              "feedback_channel": "email"}))),
                 bad(G("satisfaction_known", _C8), satisfaction="meh"),
                 bad(G("customer_not_dissatisfied", "C11 (004 §6)"), satisfaction="不滿意"),
                 bad(G("customer_not_dissatisfied", "C11 (004 §6)"), satisfaction=1),
             )),
        Step("follow_up", _CLOSED, "followed_up", data={"follow_up_result": "happy"},
             needs=("follow_up_result",)),
        Step("follow_up", (*_CLOSED, "follow_up"), "followed_up",
             data={"follow_up_result": "still happy"}),
        Step("archive", (*_CLOSED, "follow_up"), "archived",
             data={"archive_key": "CMP-1", "retain_until": RETAIN}, needs=("archive_key",),
             refusals=(bad(G(*RETENTION), retain_until=RETAIN_SHORT),)),
    ),
    unreachable={("acknowledge", "classification_confirmed"):
                 "acknowledge is only offered from confirmed, which confirm_classification "
                 "enters with a supervisor: tested on a derivation "
                 "(test_classification_confirmed_on_a_derivation)"},
)

# --- P6 after_sales ---------------------------------------------------------------------------

_ASSIGNED = ("classify", "prioritise", "assign")
_ON_SITE = (*_ASSIGNED, "dispatch")
_AS_RESOLVED = (*_ON_SITE, "resolve")
_NOTIFIED_AS = (*_AS_RESOLVED, "notify_customer")
_FOLLOWED = (*_NOTIFIED_AS, "follow_up")
_SAT = "vocabulary (001 §4.1)"
_C15 = "C15 (004 §6)"
AFTER_SALES = Process(
    intake={"channel": "app", "customer_ref": "VIP-9", "description": "air conditioner",
            "customer_tier": "VIP"},
    intake_needs=("channel", "customer_ref", "description"),
    intake_refusals=(
        bad(G("channel_known", VOCAB_CHANNELS), channel="pigeon"),
        bad(G("customer_tier_known", "vocabulary (000 §1.2, 001 §1.3)"), customer_tier="emperor"),
    ),
    reserved={"tier": (("escalate",), "rnd")},
    unreachable={("escalate", "reserved_fields"):
                 "the only reserved field is tier, which escalate owns"},
    steps=(
        Step("classify", (), "classified", data={"problem_type": "hardware"},
             needs=("problem_type",),
             refusals=(
                 bad(G("intake_complete", "intake (004 §1)"), intake={"description": " "}),
                 bad(G("channel_known", VOCAB_CHANNELS), intake={"channel": "pigeon"},
                     bare=True),
             )),
        Step("prioritise", ("classify",), "prioritised", data={"priority": "緊急"},
             needs=("priority",),
             refusals=(
                 bad(G("priority_known", "vocabulary (004 §1, §3)"), priority="asap"),
                 bad(G("customer_tier_known", "vocabulary (000 §1.2, 001 §1.3)"),
                     intake={"customer_tier": "emperor"}, bare=True),
             )),
        Step("assign", ("classify", "prioritise"), "assigned", data={"technician": "zhou"},
             needs=("technician",)),
        Step("support_remotely", _ASSIGNED, "remote_support", data={"remote_method": "video"},
             needs=("remote_method",)),
        Step("dispatch", _ASSIGNED, "on_site", data={"visit_time": SOON, "address": "Pudong"},
             needs=("visit_time", "address")),
        Step("dispatch", (*_ASSIGNED, "support_remotely"), "on_site",
             data={"visit_time": SOON, "address": "Pudong"}),
        Step("wait_parts", _ON_SITE, "waiting_parts",
             data={"reason": "compressor", "eta": SOON, "customer_notification": "phone"},
             needs=("reason", "eta", "customer_notification"),
             refusals=(
                 bad(G("reason_and_eta", _C15), reason="  "),
                 bad(G("reason_and_eta", _C15), customer_notification=" "),
                 bad(G("eta_in_future", _C15), eta=PAST),
                 bad(G("eta_in_future", _C15), eta=NAIVE),
             )),
        Step("wait_customer", _ON_SITE, "waiting_customer", data={"reason": "nobody home"},
             needs=("reason",)),
        Step("resume", (*_ON_SITE, "wait_parts"), "remote_support", data={"mode": "遠程"},
             needs=("mode",),
             refusals=(bad(G("resume_remote", "004 §2"), mode="telepathy",
                           covers=("resume_on_site",)),)),
        Step("resume", (*_ON_SITE, "wait_customer"), "on_site", data={"mode": "上門"}),
        Step("escalate", _ASSIGNED, "assigned", data={"tier": "emergency_team", "reason": "hard"},
             needs=("tier", "reason"),
             refusals=(
                 bad(G("one_tier_up", "escalation ladder (004 §2)"), tier="rnd"),
                 bad(G("one_tier_up", "escalation ladder (004 §2)"), tier="agent"),
             )),
        Step("escalate", (*_ASSIGNED, "escalate"), "assigned", data={"tier": "rnd",
                                                                     "reason": "harder"}),
        Step("resolve", _ON_SITE, "resolved", data={"solution": "new compressor"},
             needs=("solution",)),
        Step("notify_customer", _AS_RESOLVED, "customer_notified",
             data={"result": "cools again", "work_done": "compressor", "next_steps": "call us"},
             needs=("result", "work_done", "next_steps"),
             refusals=(bad(G("satisfaction_known", _SAT), satisfaction="meh"),)),
        Step("record_satisfaction", _NOTIFIED_AS, "customer_notified",
             data={"satisfaction": "滿意"}, needs=("satisfaction",),
             refusals=(bad(G("satisfaction_known", _SAT), satisfaction="meh"),)),
        Step("reopen", _NOTIFIED_AS, "assigned", data={"reason": "still warm"},
             needs=("reason",),
             refusals=(bad(G("satisfaction_known", _SAT), satisfaction="meh"),)),
        Step("follow_up", _NOTIFIED_AS, "followed_up", data={"follow_up_result": "fine"},
             needs=("follow_up_result",),
             refusals=(bad(G("satisfaction_known", _SAT), satisfaction="meh"),)),
        Step("close", _FOLLOWED, "closed",
             refusals=(
                 bad(G("satisfaction_known", _SAT), satisfaction="meh"),
                 bad(G("customer_not_dissatisfied", "C11 (004 §6)"),
                     path=(*_FOLLOWED, Fire("record_satisfaction",
                                            {"satisfaction": "不滿意"}))),
                 bad(G("customer_not_dissatisfied", "C11 (004 §6)"), satisfaction="不滿意"),
             )),
    ),
)

PROCESS_TABLE: Mapping[str, Process] = {
    "service_request": SERVICE_REQUEST,
    "complaint": COMPLAINT,
    "consultation": CONSULTATION,
    "service_problem": SERVICE_PROBLEM,
    "incident": INCIDENT,
    "after_sales": AFTER_SALES,
    "improvement_action": IMPROVEMENT_ACTION,
    "survey_campaign": SURVEY_CAMPAIGN,
    "obligation": OBLIGATION,
    "contract": CONTRACT,
    "contract_change": CONTRACT_CHANGE,
    "customer_data_change": CUSTOMER_DATA_CHANGE,
    "access_grant": ACCESS_GRANT,
}
