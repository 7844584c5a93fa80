"""The written, versioned definitions of the KPIs (printed in every report).

A definition changes only with its version: a report states the version of each KPI it
computed, so two reports are comparable when their versions match. The English text is the
reference; the Chinese texts translate it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["DEFINITIONS", "LANGS", "KpiDefinition"]

LANGS = ("en", "zh_hans", "zh_hant")
"""The languages of definitions and reports."""


@attrs.frozen
class KpiDefinition:
    """One KPI: its key, version, and title and definition per language."""

    key: str
    version: int
    title: Mapping[str, str]
    text: Mapping[str, str]

    def to_dict(self) -> dict[str, object]:
        """Plain data (JSON-able)."""
        return {"key": self.key, "version": self.version, "title": dict(self.title),
                "text": dict(self.text)}


def _d(key: str, version: int, title: tuple[str, str, str], text: tuple[str, str, str]
       ) -> KpiDefinition:
    return KpiDefinition(key, version, dict(zip(LANGS, title, strict=True)),
                         dict(zip(LANGS, text, strict=True)))


DEFINITIONS: Mapping[str, KpiDefinition] = {d.key: d for d in (
    _d("attainment", 1,
       ("SLA attainment", "SLA 达成率", "SLA 達成率"),
       ("Per SLA clock (and per level, tier and period): attainment = met / (met + breached) "
        "among the clock cycles completed in the period (a cycle belongs to the period of its "
        "final stop). Breached includes a window stopped too early. Cancelled cycles and "
        "cycles without a goal are excluded from both sides and shown apart. Open cycles are "
        "counted as of the report instant; open-and-overdue are the open ones already "
        "breached or running past their deadline. Level is the case's level or priority, "
        "tier the escalation tier, both as of the report instant.",
        "按 SLA 时钟(及级别、层级、期间)统计:达成率 = 达标 / (达标 + 超时),只计本期间内完成的"
        "时钟周期(周期归入其最终停止所在期间)。超时包括"
        "过早停止的时间窗。已取消及无目标的周期不计入分子"
        "分母,另行列出。未完成周期按报表时点统计;逾期未完"
        "成 = 已超时或已过截止时间仍在计时的未完成周期。",
        "按 SLA 時鐘(及級別、層級、期間)統計:達成率 = 達標 / (達標 + 超時),只計本期間內完成的"
        "時鐘週期(週期歸入其最終停止所在期間)。超時包括"
        "過早停止的時間窗。已取消及無目標的週期不計入分子"
        "分母,另行列出。未完成週期按報表時點統計;逾期未完"
        "成 = 已超時或已過截止時間仍在計時的未完成週期。")),
    _d("durations", 1,
       ("First response and resolution times", "首次响应与解决时长", "首次響應與解決時長"),
       ("Per SLA clock, over its cycles completed in the period (cancelled excluded): the "
        "median and 90th percentile (linear interpolation) of the cycle's duration from its "
        "start to its final stop, in calendar time (wall-clock elapsed, pauses included) and "
        "in business time (working time of the clock's calendar, paused time excluded). A "
        "cycle is paused while the case is in one of the clock's pause states, held by its "
        "pause trigger, or stopped before a reopen: a reopened cycle continues (it does not "
        "restart) and the time between its stop and the reopen counts as paused. Reopened and "
        "paused cycles are counted. First response = the response clocks (service request "
        "first_response, complaint acknowledge, incident response); resolution = the "
        "resolution clocks (service request resolution, complaint resolve).",
        "按 SLA 时钟统计本期间内完成的周期(不含已取消):从周期开始到最终停止的时长的中位数与第 90 "
        "百分位(线性插值),分别以日历时间(实际经过时间,含暂停)和工作时间(时钟所用日历的工作时间,"
        "不含暂停)计。案件处于暂停状态、被暂停触发保留、"
        "或在重开前已停止时,周期视为暂停:重开的周期继续"
        "计时而不重新开始,停止到重开之间计为暂停。",
        "按 SLA 時鐘統計本期間內完成的週期(不含已取消):從週期開始到最終停止的時長的中位數與第 90 "
        "百分位(線性插值),分別以日曆時間(實際經過時間,含暫停)和工作時間(時鐘所用日曆的工作時間,"
        "不含暫停)計。案件處於暫停狀態、被暫停觸發保留、"
        "或在重開前已停止時,週期視為暫停:重開的週期繼續"
        "計時而不重新開始,停止到重開之間計為暫停。")),
    _d("reopen", 1,
       ("Reopen rate and first-contact resolution", "重开率与首次接触解决率",
        "重開率與首次接觸解決率"),
       ("Among the cases first resolved in the period (service request: delivered; "
        "complaint: resolved; after-sales: resolved): reopen rate = cases reopened at least "
        "once (complaint or after-sales reopen, service-request rework) / cases resolved. "
        "First-contact resolution (FCR) = cases resolved and never reopened, never escalated "
        "or handed over, and never sent back to the customer for information (request_info, "
        "wait_customer) / cases resolved. servicewf records no contacts, so FCR here means "
        "'resolved in one pass by the first holder'; read it next to the reopen rate.",
        "在本期间首次解决的案件中(服务请求:已交付;投诉:已解决;售后:已解决):重开率 = 至少重开一次"
        "的案件(投诉或售后重开、服务请求返工)/ 已解决案"
        "件。首次接触解决率 = 已解决且从未重开、从未升级或"
        "移交、从未退回客户补充资料的案件 / 已解决案件。",
        "在本期間首次解決的案件中(服務請求:已交付;投訴:已解決;售後:已解決):重開率 = 至少重開一次"
        "的案件(投訴或售後重開、服務請求返工)/ 已解決案"
        "件。首次接觸解決率 = 已解決且從未重開、從未升級或"
        "移交、從未退回客戶補充資料的案件 / 已解決案件。")),
    _d("escalations", 1,
       ("Escalations and tier hops", "升级与层级跳转", "升級與層級跳轉"),
       ("Per process, counted by the instant of the event: escalations = the sweep's "
        "escalated events plus escalate transitions; handovers = hand_over transitions; "
        "tier hops = escalations + handovers; escalated cases = cases with at least one "
        "escalation in the period; ping-pong cases = cases whose tier sequence (as of the "
        "report instant) returns to a tier it had left.",
        "按流程、以事件时点计:升级次数 = 扫描器记录的升级"
        "事件 + 升级操作;移交 = 移交操作;层级跳转 = "
        "升级 + 移交;升级案件 = 本期间至少升级一次的"
        "案件;往返案件 = 层级序列回到曾离开的层级的案件。",
        "按流程、以事件時點計:升級次數 = 掃描器記錄的升級"
        "事件 + 升級操作;移交 = 移交操作;層級跳轉 = "
        "升級 + 移交;升級案件 = 本期間至少升級一次的"
        "案件;往返案件 = 層級序列回到曾離開的層級的案件。")),
    _d("csat", 1,
       ("Customer satisfaction (CSAT) and response rate", "客户满意度与回复率",
        "客戶滿意度與回覆率"),
       ("Per case, the last satisfaction rating recorded (data field satisfaction) counts "
        "once, in the period of that rating. CSAT = top-2-box (very satisfied, satisfied; a "
        "score of 4-5 of 5) / ratings. Response rate = cases asked in the period (that "
        "entered the state where the rating is asked: service request delivered, complaint "
        "feedback_given, after-sales customer_notified) that have a rating / cases asked.",
        "每个案件以最后一次记录的满意度评价计一次,归入该"
        "评价所在期间。满意度 = 前两档(非常满意、满意;"
        "5 分制 4–5 分)/ 评价数。回复率 = 本期间被征询的案件中已有评价者 / 被征询案件。",
        "每個案件以最後一次記錄的滿意度評價計一次,歸入該"
        "評價所在期間。滿意度 = 前兩檔(非常滿意、滿意;"
        "5 分制 4–5 分)/ 評價數。回覆率 = 本期間被徵詢的案件中已有評價者 / 被徵詢案件。")),
    _d("backlog", 1,
       ("Backlog over time", "积压趋势", "積壓趨勢"),
       ("At the end of each day of the period (in the report's time zone): open = cases "
        "opened and not resolved or ended (a reopen puts a case back); age = time since the "
        "case was opened (median, 90th percentile, maximum). Created and resolved count the "
        "cases opened and first resolved that day.",
        "本期间每日结束时(报表时区):未结 = 已开立且尚未"
        "解决或结束的案件(重开后重新计入);案龄 = 自开立"
        "起的时间(中位数、第 90 百分位、最大值)。新建与解决 = 当日开立与首次解决的案件数。",
        "本期間每日結束時(報表時區):未結 = 已開立且尚未"
        "解決或結束的案件(重開後重新計入);案齡 = 自開立"
        "起的時間(中位數、第 90 百分位、最大值)。新建與解決 = 當日開立與首次解決的案件數。")),
    _d("handling", 1,
       ("Complaint handling rate (處理率)", "投诉处理率", "投訴處理率"),
       ("Complaints received (opened) in the period; handled = those resolved or found "
        "invalid by the report instant; handling rate = handled / received.",
        "本期间受理的投诉中,截至报表时点已解决或判定无效者 / 受理投诉数。",
        "本期間受理的投訴中,截至報表時點已解決或判定無效者 / 受理投訴數。")),
    _d("within_deadline", 1,
       ("Tickets closed within deadline (工單處理率)", "工单按时处理率", "工單按時處理率"),
       ("Per ticket process, the tickets whose resolution clock (service request "
        "resolution, complaint resolve) completed its last cycle in the period with a goal: "
        "within deadline = met / closed (met or breached). One ticket counts once, by its "
        "last cycle.",
        "按工单流程:解决时钟最后一个周期在本期间以有目标方式完成的工单中,按时(达标)者 / 已完成者。"
        "每张工单以最后一个周期计一次。",
        "按工單流程:解決時鐘最後一個週期在本期間以有目標方式完成的工單中,按時(達標)者 / 已完成者。"
        "每張工單以最後一個週期計一次。")),
    _d("obligations", 1,
       ("Recurring obligations (P8)", "周期性义务", "週期性義務"),
       ("Per obligation kind and cadence, the periods the sweep settled in the report "
        "period (obligation_due events with status met or missed, by the instant they "
        "were recorded): met, missed, and met / (met + missed). Subjects (customers) are "
        "not shown.",
        "按义务类型与周期:扫描器在本期间结算的期数(状态为达成或错过的 obligation_due 事件):达成、"
        "错过、达成 / (达成 + 错过)。不显示对象(客户)。",
        "按義務類型與週期:掃描器在本期間結算的期數(狀態為達成或錯過的 obligation_due 事件):達成、"
        "錯過、達成 / (達成 + 錯過)。不顯示對象(客戶)。")),
)}
"""Every KPI's definition, by key."""
