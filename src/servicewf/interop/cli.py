"""The ``import``, ``discover`` and ``export`` sub-commands of ``servicewf``.

- ``servicewf import LOG --db URL (--process NAME | --definition FILE) --case COL
  (--activity COL | --state COL) --time COL --tz ZONE [--time-format FMT] [--actor COL]
  [--role COL] [--data COL ...] [--report FILE]``: prints the loss and conformance summary;
  ``--report`` writes it as JSON.
- ``servicewf discover LOG --case COL (--activity COL | --state COL) --time COL --tz ZONE
  --out FILE``: writes the discovered definition (JSON).
- ``servicewf export --db URL --format xes|ocel-json|ocel-sqlite|csv --out FILE
  [--as-role ROLE] [--as-actor ID] [--purpose TEXT]``: masked for the reader's role
  (everything classified masked by default; see :mod:`servicewf.privacy.reader`).

Long runs show progress on stderr (only on a terminal; ``--no-progress`` turns it off).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from servicewf.errors import UsageError

__all__ = ["add_parsers"]


@contextmanager
def _progress(label: str, disabled: bool) -> Iterator[Callable[[int, int | None], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True,
                   disable=disabled or not sys.stderr.isatty())
    with bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None = None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _columns(args: argparse.Namespace) -> Any:
    from servicewf.interop import ColumnMap

    data = {c: c for c in args.data or ()}
    return ColumnMap(case=args.case, activity=args.activity, state=args.state, time=args.time,
                     actor=getattr(args, "actor", None), role=getattr(args, "role", None),
                     data=data)


def _read(args: argparse.Namespace) -> Any:
    from servicewf.interop import read_log

    if not Path(args.log).is_file():
        raise UsageError(f"{args.log}: no such file")
    with _progress("reading", args.no_progress) as tick:
        return read_log(args.log, _columns(args), tz=args.tz, time_format=args.time_format,
                        progress=lambda n: tick(n, None))


def _store(db: str) -> Any:
    from servicewf.cli import check_db

    check_db(db, memory=False)
    from servicewf.storage.sql import SQLStore

    return SQLStore(db)


def _engine(args: argparse.Namespace, store: Any) -> tuple[Any, str, Any]:
    """The engine, the process name, and the SLA processor (or ``None``)."""
    from servicewf import Engine
    from servicewf.clock import SystemClock
    from servicewf.interop import bpic2013

    # The import path never reads the clock (imported events carry their own instants).
    clock = SystemClock()
    if args.definition:
        from servicewf.cli import load_definition

        definition = load_definition(args.definition)
        return Engine(store, clock, [definition]), definition.name, None
    if args.process == bpic2013.PROCESS:
        sla = bpic2013.sla()
        return (Engine(store, clock, [bpic2013.definition()], processors=[sla]),
                bpic2013.PROCESS, sla)
    from servicewf.processes.stack import builtin_stack

    stack = builtin_stack(store, clock)
    stack.engine.registry.get(args.process)  # UnknownProcess names the known ones
    return stack.engine, args.process, stack.sla


def _cmd_import(args: argparse.Namespace) -> int:
    from servicewf.interop import import_log
    from servicewf.interop.conformance import conformance

    log = _read(args)
    store = _store(args.db)
    try:
        engine, process, _ = _engine(args, store)
        with _progress("importing cases", args.no_progress) as tick:
            result = import_log(engine, log, process, in_flight=args.in_flight,
                                batch=args.batch, progress=tick)
    finally:
        store.close()
    report = conformance(result)
    print(report.to_table())
    if args.report:
        Path(args.report).write_text(report.to_json(indent=2), encoding="utf-8")
    return 0


def _cmd_discover(args: argparse.Namespace) -> int:
    from servicewf.interop import discover

    log = _read(args)
    data = discover(log, args.name)
    Path(args.out).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                              encoding="utf-8")
    print(f"{len(data['states'])} states, {len(data['transitions'])} transitions from "
          f"{len(log.cases)} cases -> {args.out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from servicewf.clock import SystemClock
    from servicewf.interop import export
    from servicewf.privacy.reader import reader_masker

    store = _store(args.db)
    try:
        masker = reader_masker(args, store, SystemClock())
        with _progress("exporting events", args.no_progress) as tick:
            def progress(n: int) -> None:
                tick(n, None)

            if args.format == "ocel-sqlite":
                n = export.write_ocel_sqlite(store, args.out, progress=progress,
                                             masker=masker)
            else:
                writers: dict[str, Callable[..., int]] = {
                    "xes": export.write_xes, "ocel-json": export.write_ocel_json,
                    "csv": export.write_csv}
                writer = writers[args.format]
                kwargs: dict[str, Any] = {"progress": progress, "masker": masker}
                if args.format in ("xes", "csv"):
                    kwargs["tz"] = args.tz
                with open(args.out, "w", encoding="utf-8", newline="") as out:
                    n = writer(store, out, **kwargs)
    finally:
        store.close()
    print(f"{n} events -> {args.out} ({args.format}, {masker.label} for role "
          f"{args.as_role!r})")
    return 0


def _log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("log", help="the event log: CSV (plain or .gz), XES, OCEL 2.0 JSON/SQLite")
    p.add_argument("--case", required=True, help="column of the case id")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--activity", help="column of the activity (an event log)")
    what.add_argument("--state", help="column of the state (a state-snapshot log: a row "
                                      "repeating the state is a data update)")
    p.add_argument("--time", required=True, help="column of the time stamp")
    p.add_argument("--tz", required=True,
                   help="IANA zone of time stamps without a UTC offset (never guessed)")
    p.add_argument("--time-format", default=None,
                   help="strptime format of the time stamps (default: ISO 8601)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_parsers(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add ``import``, ``discover`` and ``export`` to the ``servicewf`` sub-parsers."""
    imp = sub.add_parser(
        "import", formatter_class=fmt,
        help="import an event log into a database, checking it against a process",
        description="Replay an event log's cases against a process: every event is a fact "
                    "(written with its own time), every deviation from the definition is "
                    "recorded; prints the loss and conformance summary.")
    _log_options(imp)
    imp.add_argument("--db", required=True,
                     help="database URL: sqlite:///path or postgresql://user@host/db")
    proc = imp.add_mutually_exclusive_group(required=True)
    proc.add_argument("--process", help="a built-in process (or bpic2013_incident)")
    proc.add_argument("--definition", help="a process definition JSON file")
    imp.add_argument("--actor", default=None, help="column of the actor id")
    imp.add_argument("--role", default=None, help="column of the actor's role")
    imp.add_argument("--data", nargs="*", default=[], metavar="COL",
                     help="columns imported as data fields (same names)")
    imp.add_argument("--report", default=None, help="write the report as JSON to this file")
    imp.add_argument("--in-flight", action="store_true",
                     help="open cases directly in their first state (tickets under way)")
    imp.add_argument("--batch", type=int, default=500, help="cases per transaction")
    imp.set_defaults(func=_cmd_import)

    dis = sub.add_parser(
        "discover", formatter_class=fmt,
        help="write a permissive definition discovered from an event log",
        description="The directly-follows graph of a log as a process definition (JSON) to "
                    "edit: every state and move seen, initial and final states.")
    _log_options(dis)
    dis.add_argument("--out", required=True, help="the definition JSON file to write")
    dis.add_argument("--name", default="imported", help="the process name")
    dis.set_defaults(func=_cmd_discover, data=None, actor=None, role=None)

    exp = sub.add_parser(
        "export", formatter_class=fmt,
        help="export a database's audit log as XES, OCEL 2.0 or CSV",
        description="Every event of the database, streamed: XES (IEEE 1849-2023), OCEL 2.0 "
                    "JSON or SQLite (cases, customers, actors and SLA clocks as objects), "
                    "or CSV.")
    exp.add_argument("--db", required=True,
                     help="database URL: sqlite:///path or postgresql://user@host/db")
    exp.add_argument("--format", required=True,
                     choices=("xes", "ocel-json", "ocel-sqlite", "csv"), help="what to write")
    exp.add_argument("--out", required=True, help="the file to write")
    exp.add_argument("--tz", default=None,
                     help="render XES/CSV times in this IANA zone (default UTC)")
    exp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    from servicewf.privacy.reader import add_reader_options

    add_reader_options(exp, purpose="export")
    exp.set_defaults(func=_cmd_export)
