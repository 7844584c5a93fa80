"""The conformance report of an import: fitness, deviations by kind and rule, each case's
first divergence; as a text table, JSON and HTML (escaped; no script, no external asset)."""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import Any

import attrs

from servicewf.interop.replay import Deviation, ImportResult

__all__ = ["ConformanceReport", "conformance"]


@attrs.frozen
class ConformanceReport:
    """What an import says about fit: ``fitness`` is fitting cases / cases (1.0 for none)."""

    process: str
    cases: int
    cases_fitting: int
    by_kind: dict[str, int]
    by_rule: dict[str, int]
    first_divergence: dict[str, Deviation]
    loss: dict[str, Any]

    @property
    def fitness(self) -> float:
        """Fitting cases / cases."""
        return self.cases_fitting / self.cases if self.cases else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what ``servicewf import --report`` writes)."""
        return {**self.loss, "process": self.process, "cases": self.cases,
                "cases_fitting": self.cases_fitting, "fitness": round(self.fitness, 6),
                "deviations": dict(self.by_kind), "deviations_by_rule": dict(self.by_rule),
                "first_divergence": {c: d.to_dict() for c, d in self.first_divergence.items()}}

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def summary_rows(self) -> list[tuple[str, str]]:
        """The summary as (what, value) rows."""
        rows = [("rows read", str(self.loss.get("rows_read", 0))),
                ("rows imported", str(self.loss.get("rows_imported", 0)))]
        rows += [(f"rows dropped: {k}", str(v))
                 for k, v in self.loss.get("rows_dropped", {}).items()]
        rows += [(f"rows coerced: {k}", str(v))
                 for k, v in self.loss.get("rows_coerced", {}).items()]
        rows += [("cases", str(self.cases)), ("cases fitting", str(self.cases_fitting)),
                 ("fitness", f"{self.fitness:.3f}")]
        rows += [(f"deviations: {k}", str(v)) for k, v in self.by_kind.items()]
        rows += [(f"rule {k}", str(v)) for k, v in self.by_rule.items()]
        return rows

    def to_table(self) -> str:
        """The summary as an aligned text table."""
        rows = self.summary_rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def to_html(self, *, divergences: int = 200) -> str:
        """A standalone HTML page: the summary and the first ``divergences`` cases' first
        divergence (every text escaped)."""
        e = html.escape
        summary = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>"
                          for k, v in self.summary_rows())
        first = "".join(
            f"<tr><td>{e(c)}</td><td>{d.seq}</td><td>{d.row}</td><td>{e(d.kind)}</td>"
            f"<td>{e(d.rule or '')}</td><td>{e(d.state)}</td><td>{e(d.label)}</td>"
            f"<td>{e(d.reason)}</td></tr>"
            for c, d in list(self.first_divergence.items())[:divergences])
        return (
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>Conformance of {e(self.process)}</title></head><body>"
            f"<h1>Conformance of {e(self.process)}</h1><table>{summary}</table>"
            "<h2>First divergence per case</h2><table><tr><th>case</th><th>seq</th>"
            "<th>row</th><th>kind</th><th>rule</th><th>state</th><th>log</th>"
            f"<th>reason</th></tr>{first}</table></body></html>")


def conformance(result: ImportResult) -> ConformanceReport:
    """The conformance report of an import."""
    kinds: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    first: dict[str, Deviation] = {}
    for case_id, deviations in result.cases.items():
        for d in deviations:
            kinds[d.kind] += 1
            if d.rule:
                rules[d.rule] += 1
        if deviations:
            first[case_id] = deviations[0]
    return ConformanceReport(result.process, len(result.cases), result.cases_fitting,
                             dict(sorted(kinds.items())), dict(sorted(rules.items())), first,
                             result.report.to_dict())
