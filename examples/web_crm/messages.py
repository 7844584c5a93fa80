"""Refusal messages for agents, in Chinese (简体) and English, by refusal class.

The engine's own message (English, with what to do next) stays the reference; these are the
short texts an agent reads. They use the refusal's fields, never the customer's data.
"""

from __future__ import annotations

from typing import Any

from servicewf.errors import CommandRefused

TEXTS: dict[str, dict[str, str]] = {
    "RoleNotPermitted": {
        "zh": "您的角色（{role}）不能执行此操作；可以执行的角色：{allowed}。",
        "en": "Your role ({role}) may not do this; roles that may: {allowed}.",
    },
    "GuardFailed": {
        "zh": "业务规则不允许此操作（{rule}）。",
        "en": "A business rule does not allow this ({rule}).",
    },
    "DataMissing": {
        "zh": "缺少必填信息：{missing}。",
        "en": "Required information is missing: {missing}.",
    },
    "TriggerNotAllowed": {
        "zh": "案件当前状态（{state}）下不能执行此操作。",
        "en": "This cannot be done while the case is in state {state}.",
    },
    "UnknownTrigger": {"zh": "没有这个操作。", "en": "There is no such action."},
    "StaleVersion": {
        "zh": "案件刚被其他人修改，请刷新页面后重试。",
        "en": "Someone else changed the case just now; reload the page and retry.",
    },
    "FieldNotOwned": {
        "zh": "此操作不能填写这些字段：{fields}。",
        "en": "This action may not write these fields: {fields}.",
    },
    "InvalidData": {"zh": "填写的数据格式不正确（{path}）。",
                    "en": "The data is not in a valid form ({path})."},
}
FALLBACK = {"zh": "操作被拒绝。", "en": "The action was refused."}


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if value else "—"
    return "—" if value in (None, "") else str(value)


def refusal_text(refusal: CommandRefused, lang: str) -> str:
    """The agent's message for ``refusal`` in ``lang`` (``"zh"`` or ``"en"``)."""
    lang = "zh" if lang.startswith("zh") else "en"
    template = TEXTS.get(type(refusal).__name__, FALLBACK)[lang]
    fields = {k: _text(v) for k, v in vars(refusal).items()}
    try:
        return template.format_map(fields)
    except KeyError:
        return FALLBACK[lang]
