"""The built-in catalogue: the compliance rules C1–C15 of the guidelines, the timing rules of
every built-in SLA clock and retention, wired to the built-in processes
(``docs/compliance.md`` lists them).

>>> catalogue = builtin_catalogue()
>>> report = check(histories, catalogue, env=builtin_environment())

Integrators change it as a value: :meth:`Catalogue.add`, :meth:`Catalogue.remove` and
:meth:`Catalogue.override` return a new catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from servicewf.compliance.rules import (
    AllOf,
    Condition,
    DataRule,
    Environment,
    HandlerTier,
    Overdue,
    Precedence,
    Retention,
    Rule,
    SlaClock,
)
from servicewf.errors import InvalidRule

__all__ = ["Catalogue", "builtin_catalogue", "builtin_environment", "guideline_rules",
           "timing_rules"]

_SR = ("service_request",)
_SHORT = {"service_request": "request"}
_CMP = ("complaint",)

_SR_HANDLING = ("confirm", "propose_plan", "revise_plan", "agree_plan", "start",
                "wait_customer", "resume", "escalate", "deliver", "rework", "accept",
                "follow_up", "archive")
_CMP_HANDLING = ("classify", "confirm_classification", "acknowledge", "investigate",
                 "escalate", "extend", "resolve", "give_feedback", "record_satisfaction",
                 "reopen", "close", "follow_up", "archive")


class Catalogue:
    """An ordered set of rules with unique ids; iterating gives the rules."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, Rule] = {}
        for r in rules:
            if r.id in self._rules:
                raise InvalidRule(f"two rules have the id {r.id!r}")
            self._rules[r.id] = r

    def __iter__(self) -> Iterator[Rule]:
        return iter(list(self._rules.values()))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __getitem__(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r} in the catalogue; ids: "
                           f"{', '.join(self._rules)}") from None

    @property
    def ids(self) -> tuple[str, ...]:
        """The rule ids, in order."""
        return tuple(self._rules)

    def add(self, *rules: Rule) -> Catalogue:
        """A catalogue with ``rules`` added (an id already present is refused: override)."""
        return Catalogue([*self, *rules])

    def remove(self, *ids: str) -> Catalogue:
        """A catalogue without the rules ``ids`` (each must be present)."""
        for i in ids:
            self[i]
        return Catalogue(r for r in self if r.id not in ids)

    def override(self, *rules: Rule) -> Catalogue:
        """A catalogue where each of ``rules`` replaces the rule of its id (kept in place)."""
        new = {r.id: r for r in rules}
        for i in new:
            self[i]
        return Catalogue(new.get(r.id, r) for r in self)

    def for_process(self, process: str) -> Catalogue:
        """The rules that apply to cases of ``process``."""
        return Catalogue(r for r in self if r.applies_to(process))


def guideline_rules() -> list[Rule]:
    """C1–C15 (``processes.md``, "Compliance rules") and retention (001 §4.4)."""
    from servicewf.processes.common import COMPLAINT_TIERS, LEVEL_TIER
    from servicewf.processes.improvement_action import PLAN_FIELDS as ACTION_PLAN
    from servicewf.processes.service_request import DELIVERY_FIELDS

    def both(rule_id: str, *parts: Rule, **common: object) -> AllOf:
        return AllOf(id=rule_id, parts=parts, **common)  # type: ignore[arg-type]

    return [
        Precedence(id="C1", cites="001 §2.1", processes=_SR, source="register",
                   target=_SR_HANDLING,
                   text_en="A request is registered with its required fields before any "
                           "handling event.",
                   text_zh="先接後辦：請求須先登記（含必填資料）才能處理。"),
        DataRule(id="C2", cites="000 §2.1, 001 §2.2", processes=_SR, activity="start",
                 require=("request_type", "priority", "owner", "due"),
                 text_en="A request has type, priority, owner and deadline before work starts.",
                 text_zh="開始執行前，請求須有類型、優先級、負責人及完成時限。"),
        Precedence(id="C3", cites="000 §2.4", processes=_SR, source="agree_plan",
                   target="start",
                   text_en="The plan is confirmed by the customer before execution.",
                   text_zh="方案須經客戶確認後方可執行。"),
        both("C4", Precedence(id="C4", source="deliver", target="accept"),
             DataRule(id="C4", activity="accept", require=(*DELIVERY_FIELDS, "signer")),
             cites="001 §3.3", processes=_SR,
             text_en="No acceptance without a delivery record and the customer's (or "
                     "representative's) confirmation.",
             text_zh="無交付記錄及客戶（或代表）簽字確認，不得驗收。"),
        DataRule(id="C5", cites="000 §3.4, 001 §3.3", processes=_SR, activity="accept",
                 check=(Condition("satisfaction", "is", "satisfaction"),),
                 text_en="Every accepted request has a satisfaction score.",
                 text_zh="每項驗收的請求須有滿意度評分。"),
        Precedence(id="C6", cites="000 §5.2", processes=_CMP, source="confirm_classification",
                   target="acknowledge",
                   text_en="A complaint's classification is supervisor-confirmed before the "
                           "response notice.",
                   text_zh="投訴分類須經主管確認後方可發出響應通知。"),
        both("C7", Precedence(id="C7", source="acknowledge", target="resolve"),
             DataRule(id="C7", activity="resolve", require=("measures", "expected_completion")),
             cites="000 §5.2", processes=_CMP,
             text_en="A complaint is acknowledged, with an expected time, before it is "
                     "resolved.",
             text_zh="投訴須先響應並告知預計完成時間，方可解決。"),
        both("C8", Precedence(id="C8", source="give_feedback", target="close"),
             DataRule(id="C8", activity="close", require=("feedback",),
                      check=(Condition("satisfaction", "is", "satisfaction"),)),
             cites="001 §7.3", processes=_CMP,
             text_en="A complaint gets written feedback with a satisfaction evaluation before "
                     "it is closed.",
             text_zh="投訴結案前須有書面反饋及滿意度評價。"),
        HandlerTier(id="C9", cites="000 §5.1, 001 §7.2", processes=_CMP,
                    activity=("investigate", "resolve"), tiers=COMPLAINT_TIERS,
                    level_tiers=dict(LEVEL_TIER), normalise="complaint_level",
                    text_en="The complaint handler's role matches the level (一般 agent, 重要 "
                            "supervisor, 緊急 manager; one tier up per escalation).",
                    text_zh="投訴處理人的角色須與投訴級別相符（每次升級上調一級）。"),
        both("C10",
             DataRule(id="C10", activity=_CMP_HANDLING, require=("tracker", "first_receiver")),
             DataRule(id="C10", activity=tuple(a for a in ("open", "record", *_CMP_HANDLING)),
                      check=(Condition("owner", "absent", at="event"),)),
             cites="001 §7.1–7.2", processes=_CMP,
             text_en="A complaint has a tracker; the owner is the first receiver unless "
                     "formally handed over.",
             text_zh="投訴須有專人跟蹤；首問負責，除非正式移交。"),
        DataRule(id="C11", cites="004 §6", processes=("complaint", "after_sales"),
                 activity="close",
                 check=(Condition("satisfaction", "is_not", "dissatisfied"),),
                 text_en="A case is never closed while the customer is recorded dissatisfied.",
                 text_zh="客戶記錄為不滿意時，不得結案。"),
        Precedence(id="C12", cites="000 §3.3", processes=("service_problem",), source="verify",
                   target="archive",
                   text_en="A problem is verified before it is archived.",
                   text_zh="問題須經驗證後方可歸檔。"),
        both("C13",
             DataRule(id="C13", activity=("start",), require=ACTION_PLAN),
             DataRule(id="C13", activity=("plan", "re_plan"), require=ACTION_PLAN, at="event"),
             # The second half: overdue → a cause analysis before re-planning (the engine's
             # cause_analysis_if_overdue guard); an action left not effective past its
             # deadline is possibly violated until its re-plan brings one.
             Overdue(id="C13", activity="re_plan", require=("cause_analysis",),
                     deadline="deadline", awaiting=("mark_not_effective",)),
             cites="001 §4.3", processes=("improvement_action",),
             text_en="An improvement action has an owner, deadline and acceptance criteria "
                     "(and a measurable goal); an overdue one is re-planned only with a cause "
                     "analysis.",
             text_zh="改進措施須有負責人、完成期限及驗收標準（及可衡量目標）；逾期者須先作原因"
                     "分析方可重新計劃。"),
        DataRule(id="C14", cites="003 §4.3.1", processes=_CMP, activity="extend",
                 require=("reason", "customer_notification"), at="event",
                 text_en="An extension of a complaint deadline has a reason and a customer "
                         "notification.",
                 text_zh="延長投訴處理時限須有原因並告知客戶。"),
        DataRule(id="C15", cites="004 §6", processes=("after_sales",), activity="wait_parts",
                 require=("reason", "eta", "customer_notification"), at="event",
                 check=(Condition("eta", "is", "instant", at="event"),),
                 text_en="An after-sales case that cannot be solved soon gives the customer a "
                         "reason and an estimated time.",
                 text_zh="售後問題不能及時解決時，須告知客戶原因及預計時間。"),
        Retention(id="R1", cites="001 §4.4",
                  processes=("service_request", "complaint", "service_problem"),
                  activity="archive", field="retain_until", years=3,
                  required=False,
                  text_en="Archived records are kept at least 3 years.",
                  text_zh="歸檔記錄保存不少於三年。"),
    ]


def timing_rules() -> list[Rule]:
    """One :class:`SlaClock` rule per enabled clock of the default SLA policies
    (:func:`servicewf.processes.policies.default_policies`), id ``T:<process>.<clock>``
    (``T:request.first_response``, ``T:complaint.resolve``)."""
    from servicewf.processes.policies import default_policies

    out: list[Rule] = []
    for policy in default_policies():
        for c in policy.clocks:
            if not c.enabled:
                continue
            out.append(SlaClock(
                id=f"T:{_SHORT.get(policy.process, policy.process)}.{c.name}", cites=c.source,
                processes=(policy.process,), clock=c.name,
                text_en=f"The {policy.process} clock {c.name!r} is met, on its calendar"
                        + (f" ({c.description})" if c.description and len(c.description) < 90
                           else ""),
                text_zh=f"{policy.process} 的時限 {c.name} 須在其日曆上達成"))
    return out


def builtin_catalogue() -> Catalogue:
    """C1–C15, retention and the timing rules of the built-in clocks."""
    return Catalogue([*guideline_rules(), *timing_rules()])


def builtin_environment(calendars: Mapping[str, object] | None = None) -> Environment:
    """The environment of the built-in catalogue: the China office calendar (``"office"``),
    the default SLA (its clocks are what the timing rules check) and the built-in registry."""
    from servicewf.calendar import china_office
    from servicewf.processes import builtin_registry
    from servicewf.processes.policies import default_sla

    registry = builtin_registry()
    cals = {"office": china_office(), **(calendars or {})}
    return Environment(calendars=cals,  # type: ignore[arg-type]
                       sla=default_sla(cals, registry=registry),  # type: ignore[arg-type]
                       registry=registry)
