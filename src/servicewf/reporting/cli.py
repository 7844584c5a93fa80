"""``servicewf report``: the KPIs of a database's audit log, as a headline, HTML and JSON.

The top-level :mod:`servicewf.cli` registers the command with :func:`add_parser` and runs it
with :func:`run`; this module is where the report command's options are read and the wall
clock is consulted (the default report instant is now).
"""

from __future__ import annotations

import argparse
import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicewf.errors import UsageError
from servicewf.reporting.definitions import LANGS

if TYPE_CHECKING:
    import pendulum

__all__ = ["add_parser", "parse_day", "run"]

def parse_day(text: str, option: str, tz: str) -> pendulum.DateTime:
    """The start of day ``text`` (``YYYY-MM-DD``) in ``tz``; a :class:`UsageError` naming
    ``option`` otherwise."""
    import pendulum

    try:
        day = _dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a date as YYYY-MM-DD") from None
    return pendulum.datetime(day.year, day.month, day.day, tz=tz)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``report`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    report: argparse.ArgumentParser = sub.add_parser(
        "report", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="KPIs and SLA attainment of a database, as a headline, HTML and JSON",
        description="Read a database's audit log with the built-in processes' SLA policies "
                    "and print the KPI headline; --html writes the self-contained report "
                    "(no JavaScript), --json every KPI's rows. Dates are days in --tz; --to "
                    "is inclusive and is also the report instant (else now).")
    report.add_argument("--db", required=True,
                        help="database URL: sqlite:///path or postgresql://user@host/db")
    report.add_argument("--from", dest="start", default=None, metavar="DATE",
                        help="first day of the period (YYYY-MM-DD); None: the first event")
    report.add_argument("--to", dest="end", default=None, metavar="DATE",
                        help="last day of the period (YYYY-MM-DD, inclusive); None: now")
    report.add_argument("--lang", choices=LANGS, default="en", help="language of the report")
    report.add_argument("--html", default=None, metavar="FILE", help="write the HTML report")
    report.add_argument("--json", default=None, metavar="FILE", help="write the KPIs as JSON")
    report.add_argument("--tz", default=None,
                        help="time zone of days and periods; None: the office calendar's")
    report.add_argument("--granularity", choices=("day", "week", "month"), default="week",
                        help="period of the attainment-by-period table")
    from servicewf.privacy.reader import add_reader_options

    add_reader_options(report, purpose="report")
    return report


def run(args: argparse.Namespace, *, now: _dt.datetime | None = None) -> int:
    """Run ``servicewf report`` with parsed ``args``; ``now`` stands for the wall clock."""
    import pendulum

    from servicewf.calendar import china_office
    from servicewf.cli import check_db
    from servicewf.clock import FrozenClock, SystemClock
    from servicewf.privacy.reader import reader_masker
    from servicewf.processes import builtin_registry
    from servicewf.processes.policies import default_sla
    from servicewf.reporting.html import render_html
    from servicewf.reporting.kpi import from_store
    from servicewf.reporting.text import headline_lines
    from servicewf.storage.sql import SQLStore

    check_db(args.db, memory=False)
    tz = args.tz or china_office().timezone
    try:
        pendulum.timezone(tz)
    except Exception:
        raise UsageError(f"--tz {tz!r}: unknown time zone; use an IANA name such as "
                         "Asia/Shanghai") from None
    start = parse_day(args.start, "--from", tz) if args.start else None
    wall = pendulum.instance(now) if now is not None else SystemClock().now()
    end = parse_day(args.end, "--to", tz).add(days=1) if args.end else wall
    if start is not None and start >= end:
        raise UsageError("--from must be a day before --to (or before today)")
    as_of = min(end, wall)
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    store = SQLStore(args.db)
    try:
        masker = reader_masker(args, store, FrozenClock(wall))
        report = from_store(store, sla=sla, registry=registry, as_of=as_of, start=start,
                            end=min(end, as_of), tz=tz, granularity=args.granularity,
                            cycles=args.json is not None, masker=masker)
    finally:
        store.close()
    for line in headline_lines(report, lang=args.lang, registry=registry):
        print(line)
    outputs: list[tuple[str | None, Callable[[], str]]] = [
        (args.html, lambda: render_html(report, lang=args.lang, registry=registry)),
        (args.json, report.to_json)]
    for path, text in outputs:
        if path:
            try:
                Path(path).write_text(text(), encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"{path}: cannot be written ({exc.strerror})") from None
            print(f"wrote {path}")
    return 0
