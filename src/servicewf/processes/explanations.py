"""The built-in guards' explanations in 繁體 and 简体, in one place for translators.

Each entry is keyed by (process, guard name) and gives (繁體, 简体); the English text stays
with the guard (``Guard.explain``). :func:`translate_guards` attaches them as the guards'
``labels`` when a built-in definition is built; guards made by the factories of
:mod:`servicewf.processes.common` (vocabularies, instants, retention, reserved fields) carry
their own. A test checks that every built-in guard explains itself in all three languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from servicewf.definition import DefinitionBuilder, Labels

__all__ = ["GUARD_EXPLANATIONS", "translate_guards"]

GUARD_EXPLANATIONS: Mapping[tuple[str, str], tuple[str, str]] = MappingProxyType({
    ("service_request", "intake_complete"): (
        "處理前須登記請求的渠道、客戶編號和描述", "处理前须登记请求的渠道、客户编号和描述"),
    ("service_request", "task_defined"): (
        "開始工作前，請求須有類型、優先級、負責人和完成時間（先登記並確認）",
        "开始工作前，请求须有类型、优先级、负责人和完成时间（先登记并确认）"),
    ("service_request", "plan_agreed"): (
        "執行前須由客戶同意最新方案（agree_plan，記錄確認人、時間和方式）",
        "执行前须由客户同意最新方案（agree_plan，记录确认人、时间和方式）"),
    ("service_request", "delivery_recorded"): (
        "驗收前須以 deliver 記錄交付（內容、方式、時間、人員），並由客戶或其代表簽收",
        "验收前须以 deliver 记录交付（内容、方式、时间、人员），并由客户或其代表签收"),
    ("complaint", "intake_complete"): (
        "投訴須記錄渠道、客戶編號和內容", "投诉须记录渠道、客户编号和内容"),
    ("complaint", "has_tracker"): (
        "分類前，投訴須有指定的跟進人及首位受理人（先登記）",
        "分类前，投诉须有指定的跟进人及首位受理人（先登记）"),
    ("complaint", "classification_confirmed"): (
        "發出受理回覆前，須由主管確認分類（confirm_classification）",
        "发出受理回复前，须由主管确认分类（confirm_classification）"),
    ("complaint", "acknowledged_with_time"): (
        "解決前須向客戶確認受理投訴，說明措施和預計完成時間",
        "解决前须向客户确认受理投诉，说明措施和预计完成时间"),
    ("complaint", "handler_matches_level"): (
        "處理人角色須與投訴層級相符：一般 → agent，重要 → supervisor，緊急 → manager"
        "（每次升級上移一級）；請轉交該角色處理",
        "处理人角色须与投诉层级相符：一般 → agent，重要 → supervisor，紧急 → manager"
        "（每次升级上移一级）；请转交该角色处理"),
    ("complaint", "one_tier_up"): (
        "升級只能上移一級（agent → supervisor → manager → executive）並記錄在 tier；"
        "executive 層級不能再升級",
        "升级只能上移一级（agent → supervisor → manager → executive）并记录在 tier；"
        "executive 层级不能再升级"),
    ("complaint", "written_feedback"): (
        "結案前須向客戶提供書面反饋（give_feedback）並取得滿意度評價",
        "结案前须向客户提供书面反馈（give_feedback）并取得满意度评价"),
    ("complaint", "customer_not_dissatisfied"): (
        "客戶記錄為不滿意：請重開投訴並持續處理直至客戶滿意；現在不能結案",
        "客户记录为不满意：请重开投诉并持续处理直至客户满意；现在不能结案"),
    ("complaint", "extension_noticed"): (
        "延期須有理由，並記錄已通知客戶", "延期须有理由，并记录已通知客户"),
    ("consultation", "intake_complete"): (
        "諮詢須記錄渠道、客戶編號和問題", "咨询须记录渠道、客户编号和问题"),
    ("service_problem", "complaint_linked"): (
        "投訴類問題須開立關聯投訴案件：請在 linked_case_id 填寫其編號",
        "投诉类问题须开立关联投诉案件：请在 linked_case_id 填写其编号"),
    ("service_problem", "analysis_complete"): (
        "解決前須分析問題（現象、原因、影響）", "解决前须分析问题（现象、原因、影响）"),
    ("service_problem", "problem_verified"): (
        "歸檔前須驗證解決方案（verify，記錄 verified_by）",
        "归档前须验证解决方案（verify，记录 verified_by）"),
    ("incident", "information_security"): (
        "只有信息安全事件須向監管機構、客戶和內部審計報告",
        "只有信息安全事件须向监管机构、客户和内部审计报告"),
    ("incident", "one_wording"): (
        "公開聲明的措辭已經確定；請沿用同一措辭", "公开声明的措辞已经确定；请沿用同一措辞"),
    ("incident", "reported_to_all"): (
        "須向監管機構、客戶和內部審計三方報告", "须向监管机构、客户和内部审计三方报告"),
    ("after_sales", "intake_complete"): (
        "工單須記錄渠道、客戶編號和描述", "工单须记录渠道、客户编号和描述"),
    ("after_sales", "reason_and_eta"): (
        "無法盡快解決的個案須告知客戶原因和預計時間（eta），並記錄已告知",
        "无法尽快解决的个案须告知客户原因和预计时间（eta），并记录已告知"),
    ("after_sales", "resume_remote"): (
        "請說明恢復方式：mode=remote（遠程）或 mode=on_site（上門）",
        "请说明恢复方式：mode=remote（远程）或 mode=on_site（上门）"),
    ("after_sales", "resume_on_site"): (
        "請說明恢復方式：mode=remote（遠程）或 mode=on_site（上門）",
        "请说明恢复方式：mode=remote（远程）或 mode=on_site（上门）"),
    ("after_sales", "one_tier_up"): (
        "升級只能沿 agent → emergency_team → rnd → supplier 上移一級並記錄在 tier；"
        "supplier 層級不能再升級",
        "升级只能沿 agent → emergency_team → rnd → supplier 上移一级并记录在 tier；"
        "supplier 层级不能再升级"),
    ("after_sales", "customer_not_dissatisfied"): (
        "客戶記錄為不滿意：請重開工單並持續處理直至客戶滿意；現在不能結案",
        "客户记录为不满意：请重开工单并持续处理直至客户满意；现在不能结案"),
    ("improvement_action", "plan_complete"): (
        "改進措施須有可衡量的目標、負責人、期限和驗收標準",
        "改进措施须有可衡量的目标、负责人、期限和验收标准"),
    ("improvement_action", "plan_not_blank"): (
        "目標、負責人、期限和驗收標準不得為空", "目标、负责人、期限和验收标准不得为空"),
    ("improvement_action", "cause_analysis_if_overdue"): (
        "措施已逾期：重新規劃前須提交未能按期完成的原因分析（cause_analysis）",
        "措施已逾期：重新规划前须提交未能按期完成的原因分析（cause_analysis）"),
    ("obligation", "tz_known"): (
        "tz 須為 IANA 時區，例如 'Asia/Shanghai'（週期和到期時間按其當地時間計算）",
        "tz 须为 IANA 时区，例如 'Asia/Shanghai'（周期和到期时间按其当地时间计算）"),
    ("obligation", "start_valid"): (
        "start 須為 ISO 日期（如 '2026-01-01'，指 tz 的零時）或帶時區的時間",
        "start 须为 ISO 日期（如 '2026-01-01'，指 tz 的零时）或带时区的时间"),
    ("obligation", "subject_given"): (
        "subject 須說明義務針對的對象（服務線、客戶編號、團隊），不得為空",
        "subject 须说明义务针对的对象（服务线、客户编号、团队），不得为空"),
    ("obligation", "completion_in_range"): (
        "完成時間（fulfilled_at，否則為現在）須帶時區，不得在未來，也不得早於義務開始",
        "完成时间（fulfilled_at，否则为现在）须带时区，不得在未来，也不得早于义务开始"),
    ("obligation", "reason_given"): (
        "結束定期義務須說明理由（為何不再需要：客戶離開、服務線關閉等）",
        "结束定期义务须说明理由（为何不再需要：客户离开、服务线关闭等）"),
    ("contract", "both_parties_reviewed"): (
        "簽署前雙方須審閱草稿（customer_review 和 company_review）",
        "签署前双方须审阅草稿（customer_review 和 company_review）"),
    ("contract_change", "written_request"): (
        "合同變更須以書面提出，寫明合同、理由和變更內容",
        "合同变更须以书面提出，写明合同、理由和变更内容"),
    ("customer_data_change", "requester_authorised"): (
        "變更須由客戶本人（requester_kind=customer）或持授權編號（authorisation_ref）的"
        "授權代理人提出",
        "变更须由客户本人（requester_kind=customer）或持授权编号（authorisation_ref）的"
        "授权代理人提出"),
    ("customer_data_change", "not_self_approval"): (
        "申請人不能批准自己的變更；請由另一位主管批准",
        "申请人不能批准自己的变更；请由另一位主管批准"),
    ("access_grant", "least_privilege"): (
        "最小權限：approved_scope 須為 requested_scope 的非空子集",
        "最小权限：approved_scope 须为 requested_scope 的非空子集"),
    ("access_grant", "not_self_approval"): (
        "被授權人不能批准自己的權限；請由另一位主管批准",
        "被授权人不能批准自己的权限；请由另一位主管批准"),
})
"""(process, guard) → (繁體, 简体) explanation of the built-in guards the factories do not
translate themselves."""


def translate_guards(builder: DefinitionBuilder) -> DefinitionBuilder:
    """Give the builder's guards that have no Chinese labels theirs from
    :data:`GUARD_EXPLANATIONS` (keyed by the builder's process name)."""
    for name, guard in list(builder.guards.items()):
        texts = GUARD_EXPLANATIONS.get((builder.name, name))
        if texts is not None and guard.labels is None:
            builder.guards[name] = attrs.evolve(guard, labels=Labels("", *texts))
    return builder
