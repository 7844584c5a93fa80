"""Reports a service manager reads: KPIs and SLA attainment over the audit log.

:func:`compute` (or :func:`from_store`) returns a :class:`Report` of typed rows (JSON, CSV,
DataFrame); :func:`render_html` writes it as one self-contained HTML file (no JavaScript,
inline SVG charts each beside its data table). See ``docs/reporting.md``.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from servicewf.reporting.definitions import (
        DEFINITIONS,
        LANGS,
        KpiDefinition,
    )
    from servicewf.reporting.html import (
        render_html,
    )
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
        ReportMask,
        Table,
        WithinDeadlineRow,
        case_index,
        compute,
        from_store,
        percentile,
    )
    from servicewf.reporting.text import (
        headline_lines,
    )

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
    "ReportMask",
    "Table",
    "WithinDeadlineRow",
    "case_index",
    "compute",
    "from_store",
    "headline_lines",
    "percentile",
    "render_html",
]

# The names are imported on first use (PEP 562), so the ``servicewf`` command registers
# ``report`` without loading the KPI code for every other command (the worker starts faster).
_HOME = {
    "DEFINITIONS": "definitions",
    "KpiDefinition": "definitions",
    "LANGS": "definitions",
    "render_html": "html",
    "AttainmentRow": "kpi",
    "BacklogRow": "kpi",
    "CsatRow": "kpi",
    "CycleRow": "kpi",
    "DurationRow": "kpi",
    "EscalationRow": "kpi",
    "HandlingRow": "kpi",
    "ObligationRow": "kpi",
    "PROFILES": "kpi",
    "ProcessProfile": "kpi",
    "ReopenRow": "kpi",
    "Report": "kpi",
    "ReportMask": "kpi",
    "Table": "kpi",
    "WithinDeadlineRow": "kpi",
    "case_index": "kpi",
    "compute": "kpi",
    "from_store": "kpi",
    "percentile": "kpi",
    "headline_lines": "text",
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'servicewf.reporting' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"servicewf.reporting.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
