"""``explain()``: a refused command in plain words, in English, 繁體 or 简体.

Every :class:`~servicewf.errors.CommandRefused` already carries what went wrong as attributes
(the trigger, the state, the guard and the rule it enforces, the missing fields, the roles that
may). ``explain`` turns those attributes — not the English message — into one sentence for
the person who was refused, using the definition's labels for states, triggers and guard
explanations when a definition is given. Like the messages themselves, the sentence never
contains a data value: only names the definition declares.

Why hand-written templates and not gettext: the sentences are few, built from structured
attributes rather than translated from the English text, and the labels they fill in live
in the definitions already; a message catalogue would add a build step and a second source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from servicewf.definition import ProcessDefinition
from servicewf.errors import (
    CaseMismatch,
    CommandRefused,
    DataMissing,
    EventNotRecordable,
    ExtensionRefused,
    FieldNotOwned,
    GoalUndefined,
    GuardFailed,
    HookFailed,
    InvalidData,
    InvalidIdentifier,
    MigrationRefused,
    RoleNotPermitted,
    StaleVersion,
    TimeOutOfOrder,
    TriggerNotAllowed,
    UnknownTrigger,
)

__all__ = ["LANGUAGES", "explain", "language"]

LANGUAGES = ("en", "zh_hant", "zh_hans")
"""The languages :func:`explain` writes: English, traditional and simplified Chinese."""

_ALIASES = {"en": "en", "zh": "zh_hant", "zh_hant": "zh_hant", "zh_tw": "zh_hant",
            "zh_hk": "zh_hant", "zh_hans": "zh_hans", "zh_cn": "zh_hans"}


def language(lang: str) -> str:
    """The canonical name of ``lang`` (``"zh"`` and ``"zh-TW"`` are ``"zh_hant"``,
    ``"zh-CN"`` is ``"zh_hans"``); ``ValueError`` for any other."""
    key = _ALIASES.get(lang.replace("-", "_").lower())
    if key is None:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return key


# One entry per sentence: English, 繁體, 简体. Placeholders are filled with names only.
_TEXT: dict[str, tuple[str, str, str]] = {
    "not_here": ("{trigger} is not possible in the state {state}; possible there: {allowed}",
                 "在「{state}」狀態下不能執行「{trigger}」；此時可執行：{allowed}",
                 "在“{state}”状态下不能执行“{trigger}”；此时可执行：{allowed}"),
    "nothing": ("nothing (the case is closed)", "無（案件已結束）", "无（案件已结束）"),
    "unknown_trigger": ("the process has no step {trigger}",
                        "流程中沒有「{trigger}」這一步", "流程中没有“{trigger}”这一步"),
    "missing": ("required information is missing: {fields}", "缺少必填資料：{fields}",
                "缺少必填资料：{fields}"),
    "role": ("the role {role} may not do this; ask someone with the role {allowed}",
             "「{role}」角色無權執行此操作；請由以下角色處理：{allowed}",
             "“{role}”角色无权执行此操作；请由以下角色处理：{allowed}"),
    "role_nobody": ("the role {role} may not do this", "「{role}」角色無權執行此操作",
                    "“{role}”角色无权执行此操作"),
    "not_owned": ("{trigger} may not change these fields: {fields}",
                  "「{trigger}」不得修改以下欄位：{fields}",
                  "“{trigger}”不得修改以下字段：{fields}"),
    "invalid_data": ("the value at {path} is not accepted: {problem}",
                     "{path} 的值不被接受：{problem}", "{path} 的值不被接受：{problem}"),
    "invalid_identifier": ("the {what} is not a valid identifier",
                           "{what} 不是有效的識別碼", "{what} 不是有效的标识符"),
    "not_recordable": ("this kind of event cannot be recorded here",
                       "此類事件不能在此記錄", "此类事件不能在此记录"),
    "mismatch": ("the case shown is not the stored one: reload it and try again",
                 "所示案件與已儲存的不一致：請重新載入後再試",
                 "所示案件与已保存的不一致：请重新加载后再试"),
    "time": ("the time is earlier than the case's last event", "時間早於案件的最後一個事件",
             "时间早于案件的最后一个事件"),
    "stale": ("someone else changed the case meanwhile: reload it and try again",
              "案件已被他人修改：請重新載入後再試", "案件已被他人修改：请重新加载后再试"),
    "hook": ("an integration check stopped the command ({hook})", "整合檢查中止了此操作（{hook}）",
             "集成检查中止了此操作（{hook}）"),
    "migration": ("the case cannot move to that version of its process",
                  "案件不能遷移到該流程版本", "案件不能迁移到该流程版本"),
    "extension": ("the deadline cannot be extended this way", "期限不能以此方式延長",
                  "期限不能以此方式延长"),
    "goal": ("no deadline is defined for this case's level or priority",
             "此案件的級別或優先級沒有定義期限", "此案件的级别或优先级没有定义期限"),
    "other": ("the command was refused", "操作被拒絕", "操作被拒绝"),
    "rule": (" (rule {rule})", "（規則 {rule}）", "（规则 {rule}）"),
    "sep": (", ", "、", "、"),
}


def _say(key: str, lang: str, **names: str) -> str:
    return _TEXT[key][LANGUAGES.index(lang)].format(**names)


def explain(refusal: CommandRefused, *, definition: ProcessDefinition | None = None,
            lang: str = "en", cite_rule: bool = True) -> str:
    """One sentence for the person refused: what stopped the command and, where the
    definition cites one (and ``cite_rule`` is true), the rule (``"… (rule C11 (004 §6))"``).

    ``definition`` (the case's process) lends its labels: states and triggers by their
    label in ``lang``, a failed guard by its explanation in ``lang``
    (:meth:`~servicewf.definition.Guard.explanation`). Without it, names are used as they
    are. The sentence never contains a data value and, unlike the refusal's message, not
    the case id either: it is meant for a screen or a summary, not a log. Sentences in
Chinese fill in English names where the definition has no Chinese label, and
:class:`~servicewf.errors.InvalidData`'s ``problem`` stays English.
    """
    lang = language(lang)
    sep = _TEXT["sep"][LANGUAGES.index(lang)]

    def listed(names: Iterable[str], label: Callable[[str], str] = str) -> str:
        return sep.join(label(n) for n in names)

    def state(name: str) -> str:
        if definition is not None and definition.has_state(name):
            return definition.state(name).label(lang)
        return name

    def trigger(name: str | None) -> str:
        if name is None:
            return ""
        if definition is not None:
            for t in definition.transitions:
                if t.trigger == name:
                    return t.label(lang)
        return name

    if isinstance(refusal, GuardFailed):
        guard = definition.guards.get(refusal.guard) if definition is not None else None
        if guard is not None:
            text = guard.explanation(lang)
        else:
            text = refusal.explanation or refusal.guard
        cited = refusal.rule if cite_rule else None
        return text + (_say("rule", lang, rule=cited) if cited else "")
    if isinstance(refusal, TriggerNotAllowed):
        allowed = listed(refusal.allowed, trigger) or _say("nothing", lang)
        return _say("not_here", lang, trigger=trigger(refusal.trigger),
                    state=state(refusal.state), allowed=allowed)
    if isinstance(refusal, UnknownTrigger):
        return _say("unknown_trigger", lang, trigger=refusal.trigger or "")
    if isinstance(refusal, DataMissing):
        return _say("missing", lang, fields=listed(refusal.missing))
    if isinstance(refusal, RoleNotPermitted):
        if not refusal.allowed:
            return _say("role_nobody", lang, role=refusal.role)
        return _say("role", lang, role=refusal.role, allowed=listed(refusal.allowed))
    if isinstance(refusal, FieldNotOwned):
        return _say("not_owned", lang, trigger=trigger(refusal.trigger),
                    fields=listed(refusal.fields))
    if isinstance(refusal, InvalidData):
        return _say("invalid_data", lang, path=refusal.path, problem=refusal.problem)
    if isinstance(refusal, InvalidIdentifier):
        return _say("invalid_identifier", lang, what=refusal.what)
    key = next((k for cls, k in _BY_CLASS if isinstance(refusal, cls)), "other")
    if key == "hook":
        assert isinstance(refusal, HookFailed)
        return _say(key, lang, hook=refusal.hook)
    return _say(key, lang)


# Refusals explained by their class alone (checked in order: subclasses first).
_BY_CLASS: tuple[tuple[type[CommandRefused], str], ...] = (
    (EventNotRecordable, "not_recordable"),
    (CaseMismatch, "mismatch"),
    (TimeOutOfOrder, "time"),
    (StaleVersion, "stale"),
    (HookFailed, "hook"),
    (MigrationRefused, "migration"),
    (ExtensionRefused, "extension"),
    (GoalUndefined, "goal"),
)
