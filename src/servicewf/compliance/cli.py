"""``servicewf check``: the compliance report of a database, for people and for CI.

    servicewf check --db sqlite:///x.db [--process NAME] [--as-of INSTANT|now]
                    [--format table|json|html] [--rules FILE] [--only-rules FILE]

It checks the built-in catalogue (C1–C15, the built-in SLA clocks, retention; plus the rules of
``--rules``, or only those with ``--only-rules``) over every case of the database, as of
``--as-of`` (default: the instant of the log's last event, so a finished simulation is judged as
it stood). Exit status: 0 when no rule is violated, 1 when some rule is (usable in CI), 2 for a
bad invocation. The JSON is ``{"cases": N, "rules": [{"id", "cites", "activations",
"fulfilments", "violations", "pending", "violating_cases", ...}]}``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from servicewf.errors import UsageError

if TYPE_CHECKING:
    from servicewf.compliance.checker import Report
    from servicewf.compliance.rules import Rule

__all__ = ["add_parser", "render_html", "render_table", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``check`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "check", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="check a database's cases against the compliance rules (exit 1 on a violation)",
        description="Check every case of a database against the built-in compliance catalogue "
                    "(C1–C15, the SLA clocks of the built-in processes, retention) and print "
                    "per rule the activations, fulfilments, violations, pending activations "
                    "and violating cases. Exits 1 when a rule is violated.")
    p.add_argument("--db", required=True,
                   help="database URL: sqlite:///path or postgresql://user@host/db")
    p.add_argument("--process", action="append", default=None,
                   help="only cases of this process (repeatable)")
    p.add_argument("--as-of", default=None,
                   help="judge the log as it stood at this instant (ISO-8601 with a zone, or "
                        "'now'); default: the log's last event")
    p.add_argument("--format", choices=("table", "json", "html"), default="table",
                   help="output format")
    p.add_argument("--rules", default=None,
                   help="a JSON file of extra rules ({\"rules\": [...]}, see RULE_SCHEMA)")
    p.add_argument("--only-rules", default=None,
                   help="a JSON file of rules to check instead of the built-in catalogue")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the rules")
    p.set_defaults(func=run)
    return p


def _as_of(text: str | None) -> _dt.datetime | None:
    if text is None:
        return None
    if text == "now":
        import pendulum

        return pendulum.now("UTC")  # the command line is the edge: it may read the wall clock
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not an ISO-8601 instant, e.g. "
                         "2026-10-09T18:00:00+08:00 (or 'now')") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(f"--as-of {text!r} has no zone: add one, e.g. +08:00 or Z")
    return moment


def _load_rules(path: str) -> list[Rule]:
    from servicewf.cli import load_json
    from servicewf.compliance.data import rules_from_data
    from servicewf.errors import InvalidRule

    try:
        return rules_from_data(load_json(path))
    except InvalidRule as exc:
        raise UsageError(f"{path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``servicewf check``; 0 compliant, 1 violated."""
    from servicewf.cli import check_db
    from servicewf.compliance.catalogue import builtin_catalogue, builtin_environment
    from servicewf.compliance.checker import History, check
    from servicewf.storage.sql import SQLStore

    check_db(args.db, memory=False)
    as_of = _as_of(args.as_of)
    if args.only_rules:
        rules = _load_rules(args.only_rules)
    else:
        rules = list(builtin_catalogue())
        if args.rules:
            rules += _load_rules(args.rules)
    env = builtin_environment()
    registry = env.registry
    assert registry is not None
    processes: Sequence[str | None] = args.process or [None]
    store = SQLStore(args.db)
    try:
        histories = []
        for process in processes:
            for case in store.find(process=process):
                histories.append(History(case.id, case.process, store.history(case.id)))
    finally:
        store.close()
    if as_of is None and histories:
        as_of = max((h.events[-1].at for h in histories if h.events), default=None)
    if args.process:  # only the rules that can apply to the processes asked for
        rules = [r for r in rules if not r.processes or set(r.processes) & set(args.process)]
    report = check(histories, rules, as_of=as_of, env=env, registry=registry)
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif args.format == "html":
        print(render_html(report, lang=args.lang))
    else:
        render_table(report, lang=args.lang)
    return 1 if report.violated else 0


def _text(summary: Any, lang: str) -> str:
    return str((summary.text_zh or summary.text_en) if lang == "zh" else summary.text_en)


def render_table(report: Report, *, lang: str = "en", console: Any = None) -> None:
    """Print ``report`` as a table a supervisor can read (rich)."""
    import sys

    from rich.console import Console
    from rich.table import Table

    # A file or a pipe gets lines wide enough for every column (a terminal: its width).
    out = console or Console(width=None if sys.stdout.isatty() else 110)
    when = report.as_of.isoformat() if report.as_of else "the end of each history"
    table = Table(title=f"Compliance of {report.cases} cases as of {when}",
                  caption=f"cases with no violation: {report.fitness:.1%}; compliance degree "
                          f"(fulfilled / decided activations): {report.degree:.1%}")
    table.add_column("rule", no_wrap=True)
    for name in ("cases", "activations", "fulfilled", "violated", "pending", "degree %",
                 "cases violating"):
        table.add_column(name, justify="right")
    for r in report.rules:
        style = "red" if r.violations else None
        table.add_row(r.id, str(r.cases), str(r.activations),
                      str(r.fulfilments), str(r.violations), str(r.pending),
                      f"{100 * r.degree:.1f}", str(len(r.violating_cases)), style=style)
    out.print(table)
    out.print("What the rules say:")
    for r in report.rules:
        out.print(f"  {r.id} ({r.cites}): {_text(r, lang)}", markup=False, highlight=False)
    first = report.violations[:10]
    if first:
        out.print("First violations (rule, case, events, reason):")
    for o in first:
        out.print(f"  {o.rule}  {o.case_id}  #{','.join(map(str, o.violations))}  {o.reason}",
                  markup=False, highlight=False)
    out.print("verdict: " + ("VIOLATED" if report.violated else "compliant"))


def render_html(report: Report, *, lang: str = "en") -> str:
    """``report`` as a self-contained HTML page."""
    esc = html.escape
    rows = "\n".join(
        f"<tr{' class=violated' if r.violations else ''}><td>{esc(r.id)}</td>"
        f"<td>{esc(r.cites)}</td><td>{esc(_text(r, lang))}</td><td>{r.cases}</td>"
        f"<td>{r.activations}</td><td>{r.fulfilments}</td><td>{r.violations}</td>"
        f"<td>{r.pending}</td><td>{r.degree:.1%}</td><td>{len(r.violating_cases)}</td></tr>"
        for r in report.rules)
    when = esc(report.as_of.isoformat()) if report.as_of else "the end of each history"
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>servicewf compliance"
        "</title><style>table{border-collapse:collapse}td,th{border:1px solid #999;"
        "padding:2px 6px}tr.violated{background:#fdd}</style></head><body>\n"
        f"<h1>Compliance of {report.cases} cases as of {when}</h1>\n"
        f"<p>Cases with no violation: {report.fitness:.1%}. Compliance degree: "
        f"{report.degree:.1%}.</p>\n<table><tr><th>rule</th><th>cites</th><th>what it says"
        "</th><th>cases</th><th>activations</th><th>fulfilled</th><th>violated</th>"
        "<th>pending</th><th>degree</th><th>violating cases</th></tr>\n"
        f"{rows}\n</table></body></html>")
