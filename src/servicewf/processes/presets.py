"""Ready-made policies from the guideline documents, as plain data.

Each preset names states and triggers of the process catalogue (``processes.md``) and cites
its seed section; binding it to a definition checks the names. Business clocks use the
calendar named ``"office"`` (supply it, e.g. ``{"office": china_office()}``); clock-hour
clocks count 24×7. Every number is a default: change one with
``policy.replace_clock("resolve", target=WorkingDays(4))``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from servicewf.errors import InvalidPolicy
from servicewf.processes.common import (
    COMPLAINT_LEVEL,
    COMPLAINT_TIERS,
    INCIDENT_LEVEL,
    LEVEL_TIER,
    REQUEST_PRIORITY,
    Vocabulary,
)
from servicewf.sla import (
    BusinessHours,
    ClockHours,
    ClockSpec,
    DueField,
    ExtensionRule,
    GoalTable,
    On,
    Policy,
    Target,
    Warn,
    WorkingDays,
)

__all__ = [
    "BUSINESS_CENTRE_SERVICE_TIMES",
    "BUSINESS_CENTRE_TYPE_ALIASES",
    "COMPLAINT_LEVEL_ALIASES",
    "DATA_PRESETS",
    "INCIDENT_LEVEL_ALIASES",
    "PRESETS",
    "PROGRESS_UPDATE_EVERY",
    "REQUEST_PRIORITY_ALIASES",
    "BusinessCentrePolicy",
    "complaint_business_centre",
    "complaint_telecom",
    "incident",
    "incident_servicenow",
    "load_preset",
    "service_request",
    "service_request_business_centre",
    "service_request_crm",
]

OFFICE = "office"


def _aliases(vocabulary: Vocabulary) -> Mapping[str, str]:
    """Every other spelling of a vocabulary's terms → the term's 繁體 label, which is the key
    of the goal tables below (as the seeds write it)."""
    out: dict[str, str] = {}
    for term in vocabulary.terms:
        key = term.labels.zh_hant
        for spelling in (term.id, term.labels.en, term.labels.zh_hans, *term.aliases):
            if spelling and spelling != key:
                out.setdefault(spelling, key)
    return out


COMPLAINT_LEVEL_ALIASES: Mapping[str, str] = _aliases(COMPLAINT_LEVEL)
"""Other spellings of the complaint levels 一般 / 重要 / 緊急 (000 §5.1, 001 §7.2), from the
process vocabulary."""

REQUEST_PRIORITY_ALIASES: Mapping[str, str] = _aliases(REQUEST_PRIORITY)
"""Other spellings of the request priorities 緊急 / 重要 / 普通 (000 §2.1)."""

INCIDENT_LEVEL_ALIASES: Mapping[str, str] = _aliases(INCIDENT_LEVEL)
"""Other spellings of the incident levels 重大 / 較大 / 一般 (002 §7.4)."""

# Handler tiers (001 §7.2; executive above the manager, 000 §5.1): the complaint process's own
# ladder and level → tier table, for every spelling of the level.
_COMPLAINT_LADDER = COMPLAINT_TIERS
_COMPLAINT_TIERS: dict[Any, str] = {
    spelling: LEVEL_TIER[term.id]
    for term in COMPLAINT_LEVEL.terms
    for spelling in (term.id, term.labels.en, term.labels.zh_hant, term.labels.zh_hans,
                     *term.aliases)
}

_OFFICE_WARN = Warn(fraction=0.75, business_hours_only=True)
_NOTICE_RULE = ExtensionRule(require_reason=True, require_notice=True)


def _complaint_common(resolve: ClockSpec, feedback_48h: bool) -> tuple[ClockSpec, ...]:
    invalid = On(enter="invalid")
    return (
        # seed 001 §7.2: 投訴受理後24小時內登記 — record within 24 h of receipt.
        ClockSpec("record", start=On(enter="received"), stop=On(enter="recorded"),
                  target=ClockHours(24), cancel=invalid, calendar=OFFICE, source="001 §7.2"),
        # seed 001 §4.2: response notice within 24 h of receipt.
        ClockSpec("acknowledge", start=On(enter="received"), stop=On(enter="acknowledged"),
                  target=ClockHours(24), cancel=invalid, calendar=OFFICE, source="001 §4.2"),
        resolve,
        # seed 001 §4.2: result feedback within 48 h — conflicts with the working-day table of
        # 001 §7.2, so it is shipped off (enable with replace_clock("feedback", enabled=True)).
        ClockSpec("feedback", start=On(enter="received"), stop=On(enter="feedback_given"),
                  target=ClockHours(48), cancel=invalid, enabled=feedback_48h, calendar=OFFICE,
                  source="001 §4.2"),
        # seed 001 §7.4: at least one follow-up within 30 days after handling (closed).
        ClockSpec("follow_up", start=On(enter="closed"), stop=On(trigger="follow_up"),
                  target=ClockHours(days=30), calendar=OFFICE, warn=Warn(fraction=None,
                                                        lead=_dt.timedelta(days=3)),
                  source="001 §7.4"),
    )


def complaint_business_centre(*, feedback_48h: bool = False) -> Policy:
    """Complaints, business-centre preset (001 §7.2, §4.2, §7.4).

    Resolution by level from receipt, in working days of the ``office`` calendar:
    **緊急 2 WD, 一般 3 WD, 重要 5 WD** (a table, not a formula: it is not monotonic). Until the
    complaint is classified the resolution clock runs without a deadline; classification sets
    it from the original receipt. A breach escalates one tier (agent → supervisor → manager →
    executive; the first tier follows the level). Extensions need a reason and a customer
    notice (003 §4.3.1); the complaint's ``extend`` transition is the extension of
    ``resolve``. Reopening continues the resolution clock (004 §6); the time between the
    resolution and the reopening counts as paused.
    """
    resolve = ClockSpec(
        "resolve", start=On(enter="received"), stop=On(enter="resolved"),
        target=GoalTable("level", {"緊急": WorkingDays(2), "一般": WorkingDays(3),
                                   "重要": WorkingDays(5)},
                         domain=("一般", "重要", "緊急"), aliases=COMPLAINT_LEVEL_ALIASES),
        calendar=OFFICE, cancel=On(enter="invalid"), reopen=On(trigger="reopen"),
        warn=_OFFICE_WARN, escalate=True, extension=_NOTICE_RULE, source="001 §7.2",
    )
    return Policy("complaint.business_centre", "complaint",
                  _complaint_common(resolve, feedback_48h),
                  ladder=_COMPLAINT_LADDER, tier_from=("level", _COMPLAINT_TIERS),
                  extend_triggers={"extend": "resolve"},
                  source="001 §7.2, §4.2, §7.4; 003 §4.3.1",
                  description="complaint clocks of the business-centre guideline")


def complaint_telecom(*, feedback_48h: bool = False) -> Policy:
    """Complaints, telecom preset (003 §4.3.1): **3 WD** from receipt for every valid
    complaint (an invalid one cancels the clock), extendable only with a reason and a
    recorded customer notification ("如遇特殊情況,需延長處理時限,應及時告知客戶")."""
    resolve = ClockSpec(
        "resolve", start=On(enter="received"), stop=On(enter="resolved"),
        target=WorkingDays(3), calendar=OFFICE, cancel=On(enter="invalid"),
        reopen=On(trigger="reopen"), warn=_OFFICE_WARN, escalate=True,
        extension=_NOTICE_RULE, source="003 §4.3.1",
    )
    return Policy("complaint.telecom", "complaint", _complaint_common(resolve, feedback_48h),
                  ladder=_COMPLAINT_LADDER, tier_from=("level", _COMPLAINT_TIERS),
                  extend_triggers={"extend": "resolve"}, source="003 §4.3.1",
                  description="complaint clocks of the telecom service standard")


def _request_clocks(first_response: ClockSpec) -> tuple[ClockSpec, ...]:
    ended = On(enter=("cancelled", "rejected"))
    return (
        first_response,
        # seed 002 §3.1: requests confirmed within 24 h.
        ClockSpec("confirmation", start=On(enter="received"), stop=On(enter="confirmed"),
                  target=ClockHours(24), cancel=ended, calendar=OFFICE,
                  pause_in=("waiting_customer",),
                  source="002 §3.1"),
        # seed 000 §2.2: the owner and the due time are set at confirmation and the customer
        # is told the time limit; delivery must meet it. Waiting for the customer pauses it.
        ClockSpec("resolution", start=On(enter="confirmed"), stop=On(enter="delivered"),
                  target=DueField("due"), cancel=ended, pause_in=("waiting_customer",),
                  calendar=OFFICE, source="000 §2.1–2.2"),
        # seed 000 §3.2: customer feedback gets initial processing within 24 h after the
        # service ends: the delivery is accepted or rework starts (our reading).
        ClockSpec("feedback_processing", start=On(enter="delivered"),
                  stop=On(enter="accepted", trigger="rework"), target=ClockHours(24),
                  cancel=ended, calendar=OFFICE, source="000 §3.2"),
        # seed 000 §4.1: contact the customer within 24 h after delivery.
        ClockSpec("post_service_contact", start=On(enter="delivered"),
                  stop=On(trigger="follow_up"), target=ClockHours(24), cancel=ended,
                  calendar=OFFICE, source="000 §4.1"),
        # seed 000 §4.1: a second follow-up between day 15 and day 30 after delivery. The
        # first follow-up uses the same trigger, so an early contact does not count here.
        ClockSpec("second_follow_up", start=On(enter="delivered"),
                  stop=On(trigger="follow_up"), target=ClockHours(days=30),
                  earliest=ClockHours(days=15), early="ignore", cancel=ended, calendar=OFFICE,
                  warn=Warn(fraction=None, lead=_dt.timedelta(days=3)), source="000 §4.1"),
    )


def _first_response_30min() -> ClockSpec:
    return ClockSpec(
        "first_response", start=On(enter="received"),
        stop=On(enter="confirmed", trigger="request_info"), target=ClockHours(minutes=30),
        cancel=On(enter=("cancelled", "rejected")), pause_in=("waiting_customer",),
        escalate=True, calendar=OFFICE, source="000 §6.1, §7.1",
    )


def service_request() -> Policy:
    """Service requests (000 §6.1, §2.2, §3.2, §4.1; 002 §3.1): first response **30 min**
    (received → confirmed, or a first customer contact via ``request_info``), confirmation
    **24 h**, resolution by the **due time promised at confirmation** (``due``), initial
    processing of the customer's feedback **24 h** after delivery, post-service contact
    **24 h** after delivery, second follow-up window **day 15–30**. ``waiting_customer``
    pauses the response and resolution clocks."""
    return Policy("service_request.default", "service_request",
                  _request_clocks(_first_response_30min()),
                  source="000 §6.1, §2.2, §3.2, §4.1; 002 §3.1",
                  description="service-request clocks of the operations guide")


def service_request_crm() -> Policy:
    """Service requests, CRM preset (002 §1.4): first response **2 h** for 緊急 (major)
    requests, **24 h** otherwise; 24 h while the priority is not known yet. The other clocks
    as in :func:`service_request`."""
    first = ClockSpec(
        "first_response", start=On(enter="received"),
        stop=On(enter="confirmed", trigger="request_info"),
        target=GoalTable("priority", {"緊急": ClockHours(2),
                                      ("重要", "普通"): ClockHours(24)},
                         domain=("緊急", "重要", "普通"), when_missing=ClockHours(24),
                         aliases=REQUEST_PRIORITY_ALIASES),
        cancel=On(enter=("cancelled", "rejected")), pause_in=("waiting_customer",),
        escalate=True, calendar=OFFICE, source="002 §1.4",
    )
    return Policy("service_request.crm", "service_request", _request_clocks(first),
                  source="002 §1.4, §3.1; 000 §4.1",
                  description="service-request clocks of the CRM standard")


BUSINESS_CENTRE_SERVICE_TIMES: Mapping[str, ClockHours] = {
    "check_in": ClockHours(minutes=30), "printing": ClockHours(1),
}
"""Business-centre service times by ``request_type`` (001 §6.1): check-in done within 30 min,
document printing within 1 h. (Room bookings are confirmed within 24 h: the ``confirmation``
clock.) Other request types have no service-time goal."""

BUSINESS_CENTRE_TYPE_ALIASES: Mapping[str, str] = {
    "入住登記": "check_in", "入住登记": "check_in", "check-in": "check_in",
    "文件打印": "printing", "打印": "printing", "print": "printing",
}


@attrs.frozen
class BusinessCentrePolicy(Policy):
    """The business-centre preset: the service-time clock's goal depends on the request
    type, and types without one run no deadline (a :class:`GoalTable` would refuse them)."""

    def target_keys(self, clock: ClockSpec) -> frozenset[str] | None:
        if clock.name == "service_time":
            return frozenset(("request_type",))
        return super().target_keys(clock)

    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        if clock.name == "service_time":
            kind = data.get("request_type")
            if not isinstance(kind, str):
                return None
            key = kind.strip()
            key = BUSINESS_CENTRE_TYPE_ALIASES.get(key, key.casefold())
            return BUSINESS_CENTRE_SERVICE_TIMES.get(key)
        return super().select_target(clock, data)


def service_request_business_centre() -> Policy:
    """Service requests, business-centre preset (001 §6.1): the clocks of
    :func:`service_request` plus ``service_time`` (received → delivered) by request type:
    **check-in 30 min**, **printing 1 h**; room bookings are confirmed within **24 h** (the
    ``confirmation`` clock). ``waiting_customer`` pauses it."""
    service_time = ClockSpec(
        "service_time", start=On(enter="received"), stop=On(enter="delivered"),
        target=ClockHours(1), cancel=On(enter=("cancelled", "rejected")),
        pause_in=("waiting_customer",), calendar=OFFICE, source="001 §6.1",
        description="goal by request_type: check_in 30 min, printing 1 h, others none",
    )
    return BusinessCentrePolicy(
        "service_request.business_centre", "service_request",
        (*_request_clocks(_first_response_30min()), service_time),
        source="001 §6.1; 000 §6.1, §2.2, §3.2, §4.1; 002 §3.1",
        description="service-request clocks of the business-centre guideline")


PROGRESS_UPDATE_EVERY = ClockHours(4)
"""Default interval of incident progress updates (ours: 003 §10.3 gives none)."""


def incident(*, progress_every: ClockHours | BusinessHours = PROGRESS_UPDATE_EVERY) -> Policy:
    """Incidents (002 §7.4, 003 §10.3).

    - ``response``: started within **重大 2 h, 較大 4 h, 一般 24 h** of detection (24×7). The
      level is known at classification; until then no deadline runs, and classification sets
      it from the detection time. A breach escalates.
    - ``progress_update``: while ``responding``, customers get a progress update
      (``update_customers``) at least every ``progress_every`` (003 §10.3 asks for updates
      but gives no interval: **4 h** is our default, not the seed's). Each update meets the
      current cycle and starts the next; a missed update is a breach; leaving ``responding``
      ends the obligation.
    """
    response = ClockSpec(
        "response", start=On(enter="detected"), stop=On(enter="responding"),
        target=GoalTable("level", {"重大": ClockHours(2), "較大": ClockHours(4),
                                   "一般": ClockHours(24)},
                         domain=("重大", "較大", "一般"), aliases=INCIDENT_LEVEL_ALIASES),
        warn=Warn(fraction=0.5), escalate=True, source="002 §7.4",
    )
    progress = ClockSpec(
        "progress_update", start=On(enter="responding", trigger="update_customers"),
        stop=On(trigger="update_customers"), cancel=On(leave="responding"),
        target=progress_every, warn=Warn(fraction=0.75), source="003 §10.3",
        description="recurring: every update starts the next interval",
    )
    return Policy("incident.default", "incident", (response, progress),
                  source="002 §7.4, 003 §10.3", description="incident response clocks")


def incident_servicenow() -> Policy:
    """A ServiceNow-style incident policy: resolution targets by priority (the incident's
    ``level``), after ServiceNow's demo SLA definitions "Priority 1 resolution (8 hour)",
    "Priority 2 resolution (24 hour)" and the like, with ServiceNow's retroactive re-judging
    when the priority changes, beside the response clock and a measure-only clock of the
    time to close. ServiceNow's priority names (``"1 - Critical"``...) are accepted as aliases.

    Shipped as plain data too (``sla_policies/incident.servicenow.json``); the two are equal.
    """
    aliases = {**INCIDENT_LEVEL_ALIASES, "1 - Critical": "重大", "2 - High": "較大",
               "3 - Moderate": "一般", "4 - Low": "一般"}
    response = ClockSpec(
        "response", start=On(enter="detected"), stop=On(enter="responding"),
        target=GoalTable("level", {"重大": ClockHours(1), "較大": ClockHours(4),
                                   "一般": ClockHours(24)},
                         domain=("重大", "較大", "一般"), aliases=aliases),
        warn=Warn(fraction=0.5), escalate=True, goal_change="retroactive",
        source="ServiceNow: Priority N response")
    resolution = ClockSpec(
        "resolution", start=On(enter="detected"), stop=On(enter="recovered"),
        target=GoalTable("level", {"重大": ClockHours(8), "較大": ClockHours(24),
                                   "一般": ClockHours(days=5)},
                         domain=("重大", "較大", "一般"), aliases=aliases),
        warn=Warn(fraction=0.75), goal_change="retroactive",
        source="ServiceNow: Priority N resolution (8 hour, 24 hour, 5 day)")
    to_close = ClockSpec(
        "time_to_close", start=On(enter="detected"), stop=On(enter="closed"), target=None,
        warn=None, description="measure-only: detection to closure")
    return Policy("incident.servicenow", "incident", (response, resolution, to_close),
                  source="ServiceNow task SLA definitions (incident)",
                  description="incident response and resolution by priority")


PRESETS: Mapping[str, Callable[[], Policy]] = {
    "complaint.business_centre": complaint_business_centre,
    "complaint.telecom": complaint_telecom,
    "service_request.default": service_request,
    "service_request.crm": service_request_crm,
    "service_request.business_centre": service_request_business_centre,
    "incident.default": incident,
    "incident.servicenow": incident_servicenow,
}
"""Preset name → factory."""

DATA_PRESETS = ("complaint.business_centre", "complaint.telecom", "incident.default",
                "incident.servicenow")
"""The presets also shipped as plain data (``servicewf/processes/sla_policies/<name>.json``)."""


def load_preset(name: str) -> Policy:
    """The plain-data form of preset ``name`` (one of :data:`DATA_PRESETS`), loaded from
    the JSON file shipped in the package; equal to the Python preset of that name."""
    from importlib.resources import files

    from servicewf.sla import policy_from_dict

    if name not in DATA_PRESETS:
        raise InvalidPolicy(f"no plain-data preset {name!r}; known: {', '.join(DATA_PRESETS)}")
    text = files("servicewf.processes").joinpath("sla_policies").joinpath(f"{name}.json").read_text(
        encoding="utf-8")
    return policy_from_dict(json.loads(text))
