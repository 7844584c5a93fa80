"""Bring your history: event-log import with a loss report, history replay recording every
deviation, discovery, conformance reports, and XES / OCEL 2.0 / CSV export.

A package above the engine: the core never imports it. See ``docs/migrating.md``.
"""

from __future__ import annotations

from servicewf.interop.discover import discover
from servicewf.interop.replay import (
    HISTORY_DEVIATION,
    CaseReplay,
    Deviation,
    ImportResult,
    import_log,
    replay_case,
)
from servicewf.interop.source import ColumnMap, ImportedEvent, Log, LossReport, read_log, read_rows

__all__ = ["HISTORY_DEVIATION", "CaseReplay", "ColumnMap", "Deviation", "ImportResult",
           "ImportedEvent", "Log", "LossReport", "discover", "import_log", "read_log",
           "read_rows", "replay_case"]
