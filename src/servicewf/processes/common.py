"""What the built-in processes share: vocabularies, tiers, guard factories, documentation records.

Vocabularies accept the Chinese values of the guidelines (繁體 and 简体) and English aliases, and
normalise them to one stable English identifier (``"緊急"``, ``"紧急"``, ``"urgent"`` and
``"Urgent"`` all become ``"urgent"``). The data stored on a case is what the caller supplied;
the typed case data classes (``ComplaintData``...) normalise when they are built, and the
guards made by :func:`vocabulary_guard` refuse values no vocabulary knows.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from servicewf.clock import _years_after
from servicewf.context import CommandContext
from servicewf.definition import DefinitionBuilder, Guard, Labels, ProcessDefinition
from servicewf.processes.explanations import translate_guards

__all__ = [
    "AFTER_SALES_PRIORITY",
    "AFTER_SALES_TIERS",
    "AGENT",
    "ALERT_KIND",
    "CHANNELS",
    "COMPLAINT_LEVEL",
    "COMPLAINT_SCOPE",
    "COMPLAINT_TIERS",
    "COMPLAINT_TYPE",
    "CONSULTATION_CHANNELS",
    "CUSTOMER_TIER",
    "EXECUTIVE",
    "IMPROVEMENT_ORIGIN",
    "INCIDENT_CATEGORY",
    "INCIDENT_LEVEL",
    "LEVEL_TIER",
    "MANAGER",
    "PROBLEM_TYPE",
    "REMEDY",
    "REQUESTER_KIND",
    "REQUEST_PRIORITY",
    "RETENTION_YEARS",
    "SATISFACTION",
    "STAFF_ROLES",
    "SUPERVISOR",
    "SUPPORT_MODE",
    "TRANSFER_TARGET",
    "ClockDoc",
    "ProcessInfo",
    "Term",
    "Vocabulary",
    "after_sales_priority_id",
    "alert_kind_id",
    "channels_id",
    "complaint_level_id",
    "complaint_scope_id",
    "complaint_type_id",
    "consultation_channels_id",
    "customer_tier_id",
    "fields_guard",
    "guard_every_transition",
    "improvement_origin_id",
    "incident_category_id",
    "incident_level_id",
    "instant_guard",
    "is_dissatisfied",
    "lab",
    "parse_instant",
    "problem_type_id",
    "remedy_id",
    "request_priority_id",
    "requester_kind_id",
    "reserved_fields_guard",
    "retention_guard",
    "satisfaction_id",
    "support_mode_id",
    "text_list",
    "transfer_target_id",
    "vocabulary_guard",
    "with_intake",
]

AGENT = "agent"
SUPERVISOR = "supervisor"
MANAGER = "manager"
EXECUTIVE = "executive"
STAFF_ROLES = (AGENT, SUPERVISOR, MANAGER, EXECUTIVE)
"""The service roles of the guidelines, lowest tier first."""

RETENTION_YEARS = 3
"""Archived records are kept at least this long (001 §4.4)."""


def lab(en: str, zh_hant: str, zh_hans: str) -> Labels:
    """Labels in English, 繁體 and 简体 (argument order as in the guideline tables)."""
    return Labels(en=en, zh_hant=zh_hant, zh_hans=zh_hans)


# --- vocabularies -------------------------------------------------------------------------


@attrs.frozen
class Term:
    """One value of a vocabulary: its stable id, its labels, and extra accepted spellings."""

    id: str
    labels: Labels
    aliases: tuple[str, ...] = ()


def _key(text: str) -> str:
    return " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


@attrs.frozen
class Vocabulary:
    """A closed set of values (levels, priorities, channels...) with Chinese and English
    spellings. ``normalise`` maps any accepted spelling to the term's id, or ``None``.

    ``numeric`` optionally maps numbers (e.g. satisfaction scores 1–5) to term ids.
    """

    name: str
    terms: tuple[Term, ...]
    source: str = ""
    numeric: Callable[[float], str | None] | None = attrs.field(default=None, eq=False)
    _index: Mapping[str, str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, str] = {}
        for t in self.terms:
            for spelling in (t.id, t.labels.en, t.labels.zh_hant, t.labels.zh_hans, *t.aliases):
                if spelling:
                    index.setdefault(_key(spelling), t.id)
        object.__setattr__(self, "_index", index)

    @property
    def ids(self) -> tuple[str, ...]:
        """The stable ids, in order."""
        return tuple(t.id for t in self.terms)

    def normalise(self, value: Any) -> str | None:
        """The id ``value`` stands for, or ``None`` when it is not a known spelling."""
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            return self.numeric(float(value)) if self.numeric else None
        if not isinstance(value, str):
            return None
        found = self._index.get(_key(value))
        if found is None and self.numeric is not None:
            try:
                return self.numeric(float(value.strip()))
            except ValueError:
                return None
        return found

    def optional_id(self, value: Any) -> str | None:
        """An attrs converter for typed case data: ``None`` stays ``None``, any accepted
        spelling becomes its id, and an unknown value is kept as given (so data recorded
        before a vocabulary changed still loads)."""
        if value is None:
            return None
        found = self.normalise(value)
        return found if found is not None else str(value)

    def canonical(self, value: Any) -> str:
        """Like :meth:`normalise`, but raises ``ValueError`` naming the accepted values."""
        found = self.normalise(value)
        if found is None:
            raise ValueError(f"{value!r} is not a known {self.name}; use one of {self.choices()}")
        return found

    def term(self, value: Any) -> Term:
        """The :class:`Term` for ``value`` (any accepted spelling)."""
        wanted = self.canonical(value)
        return next(t for t in self.terms if t.id == wanted)

    def choices(self, script: str = "zh_hant", note: str = "en") -> str:
        """The accepted values, e.g. ``"緊急/urgent, 重要/important, 普通/normal"``: each
        Chinese label in ``script`` (``"zh_hant"`` or ``"zh_hans"``), and for a numeric
        vocabulary a note in ``note``'s language that a score 1–5 is accepted too."""
        text = ", ".join(f"{t.labels.get(script)}/{t.id}" if t.labels.zh_hant else t.id
                         for t in self.terms)
        return text + (_SCORE_NOTE[note] if self.numeric else "")


_SCORE_NOTE = {"en": " (or a score 1–5)", "zh_hant": "（或 1–5 分）", "zh_hans": "（或 1–5 分）"}


def _terms(*rows: tuple[str, str, str, str] | tuple[str, str, str, str, tuple[str, ...]]) \
        -> tuple[Term, ...]:
    out = []
    for row in rows:
        aliases: tuple[str, ...] = row[4] if len(row) == 5 else ()
        out.append(Term(row[0], Labels(row[1], row[2], row[3]), aliases))
    return tuple(out)


CHANNELS = Vocabulary("channel", _terms(
    ("phone", "Phone", "電話", "电话", ("telephone", "hotline", "call", "熱線", "热线")),
    ("sms", "SMS", "短信", "短信", ("text", "簡訊", "简讯")),
    ("email", "Email", "電子郵件", "电子邮件", ("e-mail", "mail", "郵件", "邮件")),
    ("letter", "Letter", "信函", "信函", ("post", "來信", "来信")),
    ("online", "Online chat / web", "在線", "在线", ("web", "chat", "website", "網上", "网上")),
    ("app", "App", "應用", "应用", ("mobile app", "APP", "客戶端", "客户端")),
    ("portal", "Portal", "門戶", "门户", ()),
    ("social_media", "Social media", "社交媒體", "社交媒体", ("social", "微信", "微博")),
    ("walk_in", "Walk-in / store", "到店", "到店", ("store", "counter", "前台", "門店", "门店")),
    ("on_site", "On-site", "現場", "现场", ("onsite", "上門", "上门")),
    ("chatbot", "Chatbot", "智能客服", "智能客服", ("bot", "機器人", "机器人")),
), "channels (Classifications)")

CONSULTATION_CHANNELS = Vocabulary(
    "consultation channel",
    tuple(t for t in CHANNELS.terms if t.id in ("phone", "online", "email", "sms")),
    "003 §4.1",
)

REQUEST_PRIORITY = Vocabulary("request priority", _terms(
    ("urgent", "Urgent", "緊急", "紧急"),
    ("important", "Important", "重要", "重要"),
    ("normal", "Normal", "普通", "普通", ("general", "ordinary", "一般")),
), "000 §2.1")

COMPLAINT_LEVEL = Vocabulary("complaint level", _terms(
    ("general", "General", "一般", "一般", ("normal", "ordinary")),
    ("important", "Important", "重要", "重要", ("major",)),
    ("urgent", "Urgent", "緊急", "紧急", ("critical",)),
), "000 §5.1, 001 §7.2")

COMPLAINT_TYPE = Vocabulary("complaint type", _terms(
    ("product", "Product", "產品", "产品", ("產品質量", "产品质量")),
    ("service_quality", "Service quality", "服務質量", "服务质量", ("quality",)),
    ("service_attitude", "Service attitude", "服務態度", "服务态度", ("attitude",)),
    ("process", "Process", "流程", "流程", ("procedure",)),
    ("facility", "Facility", "設施", "设施", ("facilities",)),
    ("price", "Price", "價格", "价格", ("pricing", "fee", "收費", "收费")),
    ("other", "Other", "其他", "其他"),
), "000 §5.1, 001 §7.1")

COMPLAINT_SCOPE = Vocabulary("complaint scope", _terms(
    ("internal", "Internal", "內部", "内部"),
    ("external", "External", "外部", "外部"),
    ("cross_department", "Cross-department", "跨部門", "跨部门", ("cross department",)),
), "000 §5.1")

SATISFACTION = Vocabulary(
    "satisfaction",
    _terms(
        ("very_satisfied", "Very satisfied", "非常滿意", "非常满意"),
        ("satisfied", "Satisfied", "滿意", "满意"),
        ("neutral", "Neutral", "一般", "一般", ("average", "fair", "ok")),
        ("dissatisfied", "Dissatisfied", "不滿意", "不满意",
         ("unsatisfied", "not satisfied", "very dissatisfied", "非常不滿意", "非常不满意")),
    ),
    "001 §4.1",
    # A numeric score on a 1–5 scale: 5 very satisfied, 4 satisfied, 3 neutral, 1–2 dissatisfied.
    numeric=lambda x: None if not 1 <= x <= 5 else (
        "very_satisfied" if x >= 4.5 else "satisfied" if x >= 3.5 else
        "neutral" if x >= 2.5 else "dissatisfied"),
)

INCIDENT_LEVEL = Vocabulary("incident level", _terms(
    ("major", "Major", "重大", "重大", ("critical",)),
    ("serious", "Serious", "較大", "较大", ("significant",)),
    ("general", "General", "一般", "一般", ("minor", "normal")),
), "002 §7.4")

INCIDENT_CATEGORY = Vocabulary("incident category", _terms(
    ("natural_disaster", "Natural disaster", "自然災害", "自然灾害"),
    ("accident", "Accident", "事故災難", "事故灾难", ("事故",)),
    ("public_health", "Public health", "公共衛生事件", "公共卫生事件", ("公共衛生", "公共卫生")),
    ("social_security", "Social security", "社會安全事件", "社会安全事件",
     ("社會安全", "社会安全")),
    ("information_security", "Information security", "信息安全事件", "信息安全事件",
     ("信息安全", "資訊安全", "security", "infosec", "data breach")),
    ("staffing", "Staffing", "人員事件", "人员事件", ("人員", "人员", "personnel")),
), "003 §10.1, 002 §7.4")

REMEDY = Vocabulary("remedy", _terms(
    ("repair_replace", "Repair or replace", "維修更換", "维修更换",
     ("repair", "replace", "維修", "维修", "更換", "更换")),
    ("apology_compensation", "Apology and compensation", "道歉賠償", "道歉赔偿",
     ("apology", "compensation", "道歉", "賠償", "赔偿", "補償", "补偿")),
    ("process_fix", "Process fix", "流程改進", "流程改进", ("process", "流程優化", "流程优化")),
    ("other", "Other", "其他", "其他"),
), "000 §5.2-4")

PROBLEM_TYPE = Vocabulary("problem type", _terms(
    ("technical", "Technical", "技術問題", "技术问题", ("技術", "技术")),
    ("process", "Process", "流程問題", "流程问题", ("流程",)),
    ("complaint", "Complaint", "投訴", "投诉"),
    ("delay", "Delay", "延誤", "延误", ("延遲", "延迟")),
    ("inadequate_service", "Inadequate service", "服務不到位", "服务不到位", ("inadequate",)),
    ("system_failure", "System failure", "系統故障", "系统故障", ("outage",)),
), "000 §3.3, 001 §4.2")

AFTER_SALES_PRIORITY = Vocabulary("after-sales priority", _terms(
    ("urgent", "Urgent", "緊急", "紧急"),
    ("important", "Important", "重要", "重要"),
    ("general", "General", "一般", "一般", ("normal", "普通")),
), "004 §1, §3")

CUSTOMER_TIER = Vocabulary("customer tier", _terms(
    ("vip", "VIP", "VIP", "VIP", ("貴賓", "贵宾", "high value", "大客戶", "大客户")),
    ("ordinary", "Ordinary", "普通", "普通", ("regular", "normal")),
    ("prospect", "Prospect", "潛在", "潜在", ("potential",)),
), "000 §1.2, 001 §1.3")

SUPPORT_MODE = Vocabulary("support mode", _terms(
    ("remote", "Remote support", "遠程支持", "远程支持", ("遠程", "远程", "remote_support")),
    ("on_site", "On site", "上門服務", "上门服务", ("onsite", "上門", "上门", "現場", "现场")),
), "004 §2")

ALERT_KIND = Vocabulary("alert kind", _terms(
    ("delay", "Delay", "延誤", "延误", ("延遲", "延迟")),
    ("resource", "Resource shortage", "資源不足", "资源不足", ("resources", "資源", "资源")),
), "002 §3.3")

IMPROVEMENT_ORIGIN = Vocabulary("improvement origin", _terms(
    ("survey", "Survey", "滿意度調查", "满意度调查", ("調查", "调查")),
    ("complaint", "Complaint", "投訴", "投诉"),
    ("problem_review", "Problem review", "問題復盤", "问题复盘", ("review", "復盤", "复盘")),
), "000 §4.3, 001 §4.3")

TRANSFER_TARGET = Vocabulary("transfer target", _terms(
    ("service_request", "Service request", "服務請求", "服务请求", ("request",)),
    ("complaint", "Complaint", "投訴", "投诉"),
), "003 §4.1")

REQUESTER_KIND = Vocabulary("requester kind", _terms(
    ("customer", "Customer", "客戶本人", "客户本人", ("客戶", "客户", "self")),
    ("authorised_agent", "Authorised agent", "授權代理人", "授权代理人",
     ("authorized agent", "agent", "代理人")),
), "002 §2.1")

# Handler tiers by complaint level (default follows 001 §7.2); above the manager, top
# management coordinates (000 §5.1 "緊急投訴則需由管理層協調處理").
COMPLAINT_TIERS: tuple[str, ...] = (AGENT, SUPERVISOR, MANAGER, EXECUTIVE)
LEVEL_TIER: Mapping[str, str] = {"general": AGENT, "important": SUPERVISOR, "urgent": MANAGER}
# After-sales escalation ladder (004 §2).
AFTER_SALES_TIERS: tuple[str, ...] = (AGENT, "emergency_team", "rnd", "supplier")


# Named converters for the typed case data classes (attrs/mypy want named functions).


def after_sales_priority_id(value: Any) -> str | None:
    """AFTER_SALES_PRIORITY.optional_id as a named attrs converter."""
    return AFTER_SALES_PRIORITY.optional_id(value)


def alert_kind_id(value: Any) -> str | None:
    """ALERT_KIND.optional_id as a named attrs converter."""
    return ALERT_KIND.optional_id(value)


def channels_id(value: Any) -> str | None:
    """CHANNELS.optional_id as a named attrs converter."""
    return CHANNELS.optional_id(value)


def complaint_level_id(value: Any) -> str | None:
    """COMPLAINT_LEVEL.optional_id as a named attrs converter."""
    return COMPLAINT_LEVEL.optional_id(value)


def complaint_scope_id(value: Any) -> str | None:
    """COMPLAINT_SCOPE.optional_id as a named attrs converter."""
    return COMPLAINT_SCOPE.optional_id(value)


def complaint_type_id(value: Any) -> str | None:
    """COMPLAINT_TYPE.optional_id as a named attrs converter."""
    return COMPLAINT_TYPE.optional_id(value)


def consultation_channels_id(value: Any) -> str | None:
    """CONSULTATION_CHANNELS.optional_id as a named attrs converter."""
    return CONSULTATION_CHANNELS.optional_id(value)


def customer_tier_id(value: Any) -> str | None:
    """CUSTOMER_TIER.optional_id as a named attrs converter."""
    return CUSTOMER_TIER.optional_id(value)


def improvement_origin_id(value: Any) -> str | None:
    """IMPROVEMENT_ORIGIN.optional_id as a named attrs converter."""
    return IMPROVEMENT_ORIGIN.optional_id(value)


def incident_category_id(value: Any) -> str | None:
    """INCIDENT_CATEGORY.optional_id as a named attrs converter."""
    return INCIDENT_CATEGORY.optional_id(value)


def incident_level_id(value: Any) -> str | None:
    """INCIDENT_LEVEL.optional_id as a named attrs converter."""
    return INCIDENT_LEVEL.optional_id(value)


def problem_type_id(value: Any) -> str | None:
    """PROBLEM_TYPE.optional_id as a named attrs converter."""
    return PROBLEM_TYPE.optional_id(value)


def remedy_id(value: Any) -> str | None:
    """REMEDY.optional_id as a named attrs converter."""
    return REMEDY.optional_id(value)


def requester_kind_id(value: Any) -> str | None:
    """REQUESTER_KIND.optional_id as a named attrs converter."""
    return REQUESTER_KIND.optional_id(value)


def request_priority_id(value: Any) -> str | None:
    """REQUEST_PRIORITY.optional_id as a named attrs converter."""
    return REQUEST_PRIORITY.optional_id(value)


def satisfaction_id(value: Any) -> str | None:
    """SATISFACTION.optional_id as a named attrs converter."""
    return SATISFACTION.optional_id(value)


def support_mode_id(value: Any) -> str | None:
    """SUPPORT_MODE.optional_id as a named attrs converter."""
    return SUPPORT_MODE.optional_id(value)


def transfer_target_id(value: Any) -> str | None:
    """TRANSFER_TARGET.optional_id as a named attrs converter."""
    return TRANSFER_TARGET.optional_id(value)


def is_dissatisfied(value: Any) -> bool:
    """True when ``value`` records a dissatisfied customer (不滿意, "dissatisfied", score ≤ 2)."""
    return SATISFACTION.normalise(value) == "dissatisfied"


def text_list(value: Any) -> tuple[str, ...]:
    """A list given as a sequence or as comma/、-separated text, stripped, empties dropped."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts: Iterable[str] = value.replace("、", ",").replace("，", ",").split(",")
    elif isinstance(value, Iterable):
        parts = (str(v) for v in value)
    else:
        parts = (str(value),)
    return tuple(p.strip() for p in parts if p.strip())


def parse_instant(value: Any) -> pendulum.DateTime | None:
    """An aware instant from an aware ``datetime`` or an ISO-8601 text with a zone offset;
    ``None`` for anything else (naive times are refused: the zone would be a guess)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return None
        return pendulum.instance(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return pendulum.instance(parsed)


# --- guard factories ----------------------------------------------------------------------


def vocabulary_guard(field: str, vocabulary: Vocabulary, *, rule: str | None = None) -> Guard:
    """A guard named ``<field>_known``: the value of ``field`` (supplied, else on the case),
    when there is one, is a spelling ``vocabulary`` knows. Absent values pass, so a missing
    required field is reported by name as missing data rather than as a bad value."""

    def check(ctx: CommandContext) -> bool:
        value = ctx.value(field)
        return value is None or vocabulary.normalise(value) is not None

    return Guard(
        f"{field}_known", check,
        explain=f"{field} must be a known {vocabulary.name}: one of {vocabulary.choices()}",
        rule=rule or f"vocabulary ({vocabulary.source})",
        labels=lab("", f"{field} 須為已知取值之一：{vocabulary.choices('zh_hant', 'zh_hant')}",
                   f"{field} 须为已知取值之一：{vocabulary.choices('zh_hans', 'zh_hans')}"),
    )


def instant_guard(
    field: str, *, not_before_now: bool = False, rule: str | None = None, name: str | None = None
) -> Guard:
    """A guard: ``field``, when given, is an aware instant (ISO-8601 with offset or an aware
    datetime); with ``not_before_now`` it must also not lie in the past."""

    def check(ctx: CommandContext) -> bool:
        value = ctx.value(field)
        if value is None:
            return True
        when = parse_instant(value)
        if when is None:
            return False
        return not (not_before_now and when < ctx.now)

    later = " not in the past" if not_before_now else ""
    return Guard(
        name or f"{field}_is_instant", check,
        explain=(f"{field} must be an instant with its zone{later}, e.g. "
                 "'2026-10-09T18:00:00+08:00'"),
        rule=rule or "data: an instant with its zone (ISO-8601)",
        labels=lab("", f"{field} 須為帶時區的時間{'，且不得早於現在' if not_before_now else ''}，"
                       "例如 '2026-10-09T18:00:00+08:00'",
                   f"{field} 须为带时区的时间{'，且不得早于现在' if not_before_now else ''}，"
                   "例如 '2026-10-09T18:00:00+08:00'"),
    )


def retention_guard(field: str = "retain_until", *, years: int = RETENTION_YEARS) -> Guard:
    """A guard: the retention date, when given, keeps the record at least ``years`` years
    from now (001 §4.4)."""

    def check(ctx: CommandContext) -> bool:
        value = ctx.value(field)
        if value is None:
            return True
        if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            until: _dt.date = value
        else:
            when = parse_instant(value)
            if when is None:
                try:
                    until = _dt.date.fromisoformat(str(value).strip())
                except ValueError:
                    return False
            else:
                until = when.date()
        today = ctx.now.date()
        return until >= _years_after(today, years)

    return Guard(
        "retention_at_least_3_years" if years == 3 else f"retention_at_least_{years}_years",
        check,
        explain=f"{field} must be a date at least {years} years from now (archived records are "
                "kept that long)",
        rule="Retention (001 §4.4)",
        labels=lab("", f"{field} 須為至少 {years} 年後的日期（歸檔記錄須保存至少 {years} 年）",
                   f"{field} 须为至少 {years} 年后的日期（归档记录须保存至少 {years} 年）"),
    )


def fields_guard(
    name: str, fields: Sequence[str], *, rule: str, explain: str, absent_ok: bool = False
) -> Guard:
    """A guard: every field in ``fields`` has a non-blank value (supplied, else on the case).

    With ``absent_ok`` a field given nowhere passes (the transition's ``required`` then names
    it as missing data) and only blank values (whitespace, empty lists) fail: use it when the
    fields are also required by the transition.
    """

    def check(ctx: CommandContext) -> bool:
        for f in fields:
            value = ctx.value(f)
            if value is None:
                if absent_ok:
                    continue
                return False
            if isinstance(value, str) and not value.strip():
                return False
            if isinstance(value, (list, tuple, dict, set)) and not value:
                return False
        return True

    return Guard(name, check, explain=explain, rule=rule)


def reserved_fields_guard(owners: Mapping[str, Sequence[str]]) -> Guard:
    """A guard named ``reserved_fields``: each field in ``owners`` may only be supplied by the
    triggers listed for it (an empty list: only at intake). Put it on every transition, so a
    tier, a level or an approval cannot be slipped in as extra data on another command."""

    def check(ctx: CommandContext) -> bool:
        return all(ctx.trigger in triggers for field, triggers in owners.items()
                   if field in ctx.data)

    listed = "; ".join(
        f"{field} only with {' or '.join(triggers)}" if triggers else f"{field} only when opened"
        for field, triggers in owners.items())
    zh = {script: "；".join(
        f"{field} 只能{'由 ' + '、'.join(triggers) + ' 設定' if triggers else '在開立時設定'}"
        if script == "hant" else
        f"{field} 只能{'由 ' + '、'.join(triggers) + ' 设定' if triggers else '在开立时设定'}"
        for field, triggers in owners.items()) for script in ("hant", "hans")}
    return Guard("reserved_fields", check, rule="audit integrity",
                 explain=f"some fields are set by one command only: {listed}",
                 labels=lab("", f"部分欄位只能由特定操作設定：{zh['hant']}",
                            f"部分字段只能由特定操作设定：{zh['hans']}"))


def guard_every_transition(builder: DefinitionBuilder, *names: str) -> None:
    """Add the guards ``names`` to the conditions of every transition of ``builder``."""
    builder.transitions = [
        attrs.evolve(t, conditions=(*t.conditions, *(n for n in names if n not in t.conditions)))
        for t in builder.transitions
    ]


# --- documentation records ----------------------------------------------------------------


@attrs.frozen
class ClockDoc:
    """One SLA clock of a process as documented (the clocks themselves live in
    ``servicewf.sla``): name, default target, unit (h, min, WD, days...), seed section."""

    name: str
    target: str
    unit: str
    source: str
    note: str = ""


@attrs.frozen
class ProcessInfo:
    """A built-in process as the catalogue describes it: code (P1...), its definition factory,
    typed case data class, intake fields (required when a case is opened), intake vocabularies,
    clocks and a short runnable example."""

    code: str
    name: str
    definition: Callable[[], ProcessDefinition] = attrs.field(eq=False)
    data_class: type[Any]
    intake: tuple[str, ...] = ()
    intake_vocabularies: Mapping[str, Vocabulary] = attrs.field(factory=dict, eq=False)
    clocks: tuple[ClockDoc, ...] = ()
    sources: str = ""
    example: str = ""


def with_intake(
    builder: DefinitionBuilder, intake: tuple[str, ...], vocabularies: Mapping[str, Vocabulary],
    *, writes: Mapping[str, Sequence[str]] | None = None, intake_writes: Sequence[str] = (),
) -> DefinitionBuilder:
    """Declare the catalogue's required fields on entry and their vocabularies as the
    definition's intake, so that ``Engine.open`` refuses a case opened without them
    (:class:`DataMissing`) or with an unknown value (:class:`GuardFailed`), and the
    definition's permissions.

    Every built-in process owns its fields: a command writes only its transition's
    ``required`` fields and what ``writes`` (trigger → optional fields) lists for it, an
    opening only the intake and ``intake_writes``. So no later step can overwrite what an
    earlier one decided (an approved scope, a level, a measure), 002 §7.3."""
    builder.own_fields()
    builder.intake_writes = tuple(intake_writes)
    optional = dict(writes or {})
    unknown = sorted(set(optional) - {t.trigger for t in builder.transitions})
    if unknown:
        raise ValueError(f"writes names triggers {unknown} the process does not have")
    builder.transitions = [
        attrs.evolve(t, writes=(*t.writes, *optional[t.trigger])) if t.trigger in optional
        else t for t in builder.transitions]
    # Staff may record an SLA extension on any built-in case (each policy's ExtensionRule
    # still decides whether it is granted); customers and other roles may not.
    builder.recorders.setdefault("clock_extended", STAFF_ROLES)
    names = []
    for field, vocabulary in vocabularies.items():
        g = vocabulary_guard(field, vocabulary)
        if g.name not in builder.guards:
            builder.add_guard(g)
        names.append(g.name)
    translate_guards(builder)
    return builder.set_intake(intake, guards=names)


