"""The KPI headline as plain text lines (the demo's last lines, ``servicewf report``)."""

from __future__ import annotations

from servicewf.definition import Registry
from servicewf.reporting.definitions import LANGS
from servicewf.reporting.html import _CLOCKS
from servicewf.reporting.kpi import Report

__all__ = ["headline_lines"]

_HEAD: dict[str, tuple[str, str, str]] = {
    "attainment": ("SLA attainment per clock", "各时钟 SLA 达成率", "各時鐘 SLA 達成率"),
    "first": ("Median first response (business hours)", "首次响应中位数(工作小时)",
              "首次響應中位數(工作小時)"),
    "reopen": ("Reopen rate", "重开率", "重開率"),
    "csat": ("CSAT (response rate)", "满意度(回复率)", "滿意度(回覆率)"),
}

# How many of the completed cycles met the goal, and how many open ones are overdue.
_COUNTS: tuple[str, str, str] = (
    "{met} of {done} met; {overdue} open and overdue",
    "{done} 个已完成周期中 {met} 个达成;逾期未完成 {overdue} 个",
    "{done} 個已完成週期中 {met} 個達成;逾期未完成 {overdue} 個",
)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def headline_lines(report: Report, *, lang: str = "en",
                   registry: Registry | None = None) -> list[str]:
    """The short KPI headline as lines of text: attainment per clock, median first response,
    reopen rate and CSAT with its response rate, per process."""
    i = LANGS.index(lang)

    def process(name: str) -> str:
        if registry is not None:
            try:
                labels = registry.get(name).labels
            except Exception:  # an unknown process: its name is its label
                labels = None
            if labels is not None:
                return labels.get(lang)
        return name

    def clock(name: str) -> str:
        found = _CLOCKS.get(name)
        return found[i] if found else name

    lines = [f"{_HEAD['attainment'][i]}:"]
    for r in report.attainment:
        if r.by == "all":
            done = r.met + r.breached + r.too_early
            lines.append(f"  {process(r.process)} · {clock(r.clock)}: {_pct(r.attainment)} "
                         "(" + _COUNTS[i].format(met=r.met, done=done, overdue=r.open_overdue)
                         + ")")
    first = [r for r in report.durations if r.role == "response"]
    lines.append(f"{_HEAD['first'][i]}: " + (", ".join(
        f"{process(r.process)} · {clock(r.clock)} "
        + ("—" if r.business_median is None else f"{r.business_median / 3600:.2f} h")
        for r in first) or "—"))
    lines.append(f"{_HEAD['reopen'][i]}: " + (", ".join(
        f"{process(r.process)} {_pct(r.reopen_rate)}" for r in report.reopen) or "—"))
    lines.append(f"{_HEAD['csat'][i]}: " + (", ".join(
        f"{process(r.process)} {_pct(r.csat)} ({_pct(r.response_rate)})"
        for r in report.csat) or "—"))
    return lines
