"""Reports a service manager reads: KPIs and SLA attainment over the audit log.

:func:`compute` (or :func:`from_store`) returns a :class:`Report` of typed rows (JSON, CSV,
DataFrame); :func:`render_html` writes it as one self-contained HTML file (no JavaScript,
inline SVG charts each beside its data table). See ``docs/reporting.md``.
"""

from __future__ import annotations

from servicewf.reporting.definitions import DEFINITIONS, LANGS, KpiDefinition
from servicewf.reporting.html import render_html
from servicewf.reporting.kpi import (
    PROFILES,
    AttainmentRow,
    BacklogRow,
    CsatRow,
    CycleRow,
    DurationRow,
    EscalationRow,
    HandlingRow,
    ObligationRow,
    ProcessProfile,
    ReopenRow,
    Report,
    Table,
    WithinDeadlineRow,
    case_index,
    compute,
    from_store,
    percentile,
)
from servicewf.reporting.text import headline_lines

__all__ = [
    "DEFINITIONS",
    "LANGS",
    "PROFILES",
    "AttainmentRow",
    "BacklogRow",
    "CsatRow",
    "CycleRow",
    "DurationRow",
    "EscalationRow",
    "HandlingRow",
    "KpiDefinition",
    "ObligationRow",
    "ProcessProfile",
    "ReopenRow",
    "Report",
    "Table",
    "WithinDeadlineRow",
    "case_index",
    "compute",
    "from_store",
    "headline_lines",
    "percentile",
    "render_html",
]
