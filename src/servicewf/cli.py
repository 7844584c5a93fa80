"""The ``servicewf`` command: the only module that prints or picks a backend.

Sub-commands: ``demo`` (a simulated workload with a summary), ``worker`` (the sweep loop of the
SLA clocks and the recurring obligations against a database), ``validate`` (check a process
definition or business calendar JSON file, listing every problem), ``diagram`` (Mermaid or DOT
text of a built-in process or a definition file), ``processes`` (the built-in catalogue) and
``report`` (KPIs and SLA attainment of a database: :mod:`servicewf.reporting.cli`) and
``check`` (compliance of a database's cases; implemented in ``servicewf.compliance.cli``).

A bad invocation (a missing file, malformed JSON, a database path where a URL is needed, a
driver that is not installed) is one line on stderr and exit code 2, never a traceback;
``validate`` exits 1 when the file has problems.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicewf.errors import UsageError

if TYPE_CHECKING:
    from servicewf.definition import Guard, ProcessDefinition

__all__ = ["UsageError", "build_parser", "main"]


# --- shared checks --------------------------------------------------------------------------

def check_db(db: str, *, memory: bool) -> None:
    """Refuse, in one line, a ``--db`` that cannot work: a path instead of a URL, an unknown
    scheme, PostgreSQL without its driver, or ``memory`` where it is not allowed."""
    if db == "memory":
        if memory:
            return
        raise UsageError("--db memory keeps nothing between sweeps: name a database, "
                         "sqlite:///path or postgresql://user@host/db")
    if "://" not in db:
        raise UsageError(f"--db {db!r} is a path, not a database URL: use sqlite:///{db} "
                         "(or postgresql://user@host/db)")
    scheme = db.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError("--db names a PostgreSQL database but its driver (psycopg) is "
                             "not installed: install servicewf[postgres], e.g. "
                             "pip install 'servicewf[postgres]'") from None
    elif scheme != "sqlite":
        raise UsageError(f"--db {db!r}: unsupported database; use sqlite:///path or "
                         "postgresql://user@host/db")


def load_json(path: str) -> Any:
    """The JSON value in the file ``path``; a missing or malformed file is a
    :class:`UsageError` naming it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from None


def _named_guards(data: Any) -> list[Guard]:
    """Stand-ins for every guard a definition's data names: a file carries guards by name
    only (their code lives in the application), so checking a file checks the names."""
    from servicewf.definition import Guard

    names: set[str] = set()
    if isinstance(data, dict):
        for group in (data.get("guards"), data.get("intake_guards")):
            if isinstance(group, list):
                names.update(g for g in group if isinstance(g, str))
        transitions = data.get("transitions")
        for t in transitions if isinstance(transitions, list) else ():
            if isinstance(t, dict):
                for key in ("conditions", "unless"):
                    value = t.get(key)
                    if isinstance(value, str):
                        names.add(value)
                    elif isinstance(value, list):
                        names.update(g for g in value if isinstance(g, str))
    return [Guard(name, lambda _ctx: True) for name in sorted(names)]


def load_definition(path: str) -> ProcessDefinition:
    """A process definition from a JSON file (guards by name only)."""
    from servicewf.definition import ProcessDefinition

    data = load_json(path)
    return ProcessDefinition.from_dict(data, _named_guards(data))


# --- validate -------------------------------------------------------------------------------

_DEFINITION_KEYS = frozenset({"states", "transitions"})
_CALENDAR_KEYS = frozenset({"timezone", "weekly", "holidays", "extra_holidays",
                            "extra_workdays", "overrides", "workday_hours"})
_POLICY_KEYS = frozenset({"clocks", "ladder"})


def detect_kind(data: Any, path: str) -> str:
    """``"definition"``, ``"calendar"`` or ``"policy"``, by the keys of the JSON object."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object, found {type(data).__name__}")
    keys = set(data)
    if keys & _DEFINITION_KEYS:
        return "definition"
    if keys & _CALENDAR_KEYS:
        return "calendar"
    if keys & _POLICY_KEYS:
        return "policy"
    raise UsageError(f"{path}: cannot tell what this describes (a definition has 'states' "
                     "and 'transitions', a calendar 'timezone', an SLA policy 'clocks'); say "
                     "it with --kind")


def validate_definition(data: Any) -> tuple[str, list[str]]:
    """(what the data is, every problem found) for a process definition."""
    from servicewf.definition import ProcessDefinition
    from servicewf.errors import InvalidDefinition

    try:
        d = ProcessDefinition.from_dict(data, _named_guards(data))
    except InvalidDefinition as exc:
        return f"process definition {exc.name!r}", list(exc.problems)
    return (f"process definition {d.name!r} v{d.version} ({len(d.states)} states, "
            f"{len(d.transitions)} transitions)"), []


def validate_calendar(data: Any) -> tuple[str, list[str]]:
    """(what the data is, every problem found) for a business calendar: every schema
    problem at once, then (on a well-shaped calendar) the semantic check of its fields."""
    import jsonschema

    from servicewf.calendar import CALENDAR_SCHEMA, BusinessCalendar
    from servicewf.errors import CalendarError

    validator = jsonschema.Draft202012Validator(CALENDAR_SCHEMA)
    problems = [
        f"{'.'.join(str(p) for p in err.absolute_path) or 'calendar'}: {err.message}"
        for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in
                                                                      e.absolute_path])
    ]
    if not problems:
        try:
            BusinessCalendar.from_dict(data)
        except CalendarError as exc:
            problems.append(str(exc))
    zone = data.get("timezone") if isinstance(data, dict) else None
    return f"business calendar ({zone})" if isinstance(zone, str) else "business calendar", \
        problems


def _cmd_validate(args: argparse.Namespace) -> int:
    data = load_json(args.file)
    kind = detect_kind(data, args.file) if args.kind == "auto" else args.kind
    from servicewf.sla.data import validate_policy

    check = {"definition": validate_definition, "calendar": validate_calendar,
             "policy": validate_policy}[kind]
    what, problems = check(data)
    if not problems:
        print(f"{args.file}: valid {what}")
        return 0
    s = "" if len(problems) == 1 else "s"
    print(f"{args.file}: invalid {what}, {len(problems)} problem{s}:")
    for problem in problems:
        print(f"  - {problem}")
    return 1


# --- the other commands -----------------------------------------------------------------------

def _cmd_processes(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from servicewf.processes import builtin_definitions

    table = Table(title="Built-in processes")
    for column in ("process", "version", "states", "transitions", "final states"):
        table.add_column(column)
    for d in builtin_definitions():
        finals = ", ".join(s.id for s in d.states if s.final)
        table.add_row(d.name, str(d.version), str(len(d.states)), str(len(d.transitions)), finals)
    Console().print(table)
    return 0


def _cmd_diagram(args: argparse.Namespace) -> int:
    from servicewf.diagrams import dot, mermaid
    from servicewf.processes import builtin_registry

    source: str = args.process
    if source.endswith(".json") or Path(source).is_file():
        definition = load_definition(source)
    else:
        definition = builtin_registry().get(source)
    render = mermaid if args.format == "mermaid" else dot
    sys.stdout.write(render(definition, lang=args.lang))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from servicewf.demo import render_summary, run_demo, write_report

    for option, value in (("--cases", args.cases), ("--days", args.days)):
        if value < 1:
            raise UsageError(f"{option} must be at least 1, not {value}")
    if args.db is not None:
        check_db(args.db, memory=True)
    # The bar goes to stderr, and only to a terminal: a redirected stderr stays clean.
    bar = Progress(TextColumn("simulating"), BarColumn(), TaskProgressColumn(),
                   console=Console(stderr=True), transient=True,
                   disable=args.no_progress or not sys.stderr.isatty())
    with bar:
        task = bar.add_task("simulating", total=1.0)
        summary = run_demo(cases=args.cases, seed=args.seed, db=args.db, days=args.days,
                           progress=lambda done: bar.update(task, completed=done))
    render_summary(summary, lang=args.lang)
    from servicewf.explain import language

    print(f"HTML report: {write_report(summary, lang=language(args.lang))}")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from servicewf.outbox import WebhookSender
    from servicewf.worker import configure_logging, run_worker

    check_db(args.db, memory=False)
    configure_logging(args.log_level)
    senders = {"*": WebhookSender(args.webhook)} if args.webhook else None
    return run_worker(args.db, interval=args.interval, owner=args.owner, batch=args.batch,
                      once=args.once, senders=senders, app=args.app,
                      metrics_port=args.metrics_port)


def _cmd_report(args: argparse.Namespace) -> int:
    from servicewf.reporting.cli import run

    return run(args)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("servicewf")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        from servicewf import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and shell completion generators)."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="servicewf", formatter_class=fmt,
        description="Customer-service processes as auditable state machines.")
    parser.add_argument("--version", action="version", version=f"servicewf {_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", formatter_class=fmt, help="run a simulated workload and print a summary",
        description="Simulate service requests and complaints at a Shanghai business centre "
                    "(with the mistakes people make, refused by the engine) and print SLA "
                    "attainment, refusals and details. Every run starts from a fresh database "
                    "unless --db names one.")
    demo.add_argument("--cases", type=int, default=600, help="cases to open (at least 1)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same run)")
    demo.add_argument("--days", type=int, default=20,
                      help="simulated period in which cases arrive, in days")
    demo.add_argument("--db", default=None,
                      help="database to write and keep: sqlite:///path, postgresql://... or "
                           "'memory'; it must hold no cases yet. None: a fresh temporary "
                           "SQLite file, removed after the run")
    demo.add_argument("--lang", choices=("en", "zh_hant", "zh_hans", "zh"), default="en",
                      help="language of the refusals in plain words (zh = zh_hant)")
    demo.add_argument("--no-progress", action="store_true",
                      help="no progress bar on stderr")
    demo.set_defaults(func=_cmd_demo)

    worker = sub.add_parser(
        "worker", formatter_class=fmt,
        help="run the scheduler (SLA clocks, recurring obligations, outbox) until SIGTERM")
    worker.add_argument("--db", required=True,
                        help="database URL: sqlite:///path or postgresql://user@host/db")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between sweeps")
    worker.add_argument("--owner", default=None,
                        help="lease owner name (None: host:pid)")
    worker.add_argument("--batch", type=int, default=200, help="timers claimed per sweep")
    worker.add_argument("--once", action="store_true", help="sweep once and exit")
    worker.add_argument("--webhook", default=None,
                        help="deliver the outbox after each sweep: POST every message as "
                             "JSON to this URL (SMTP and routing: run_worker(senders=...))")
    worker.add_argument("--app", default=None, metavar="MODULE:FACTORY",
                        help="your application: a factory (store, clock, *, owner, batch) -> "
                             "servicewf.worker.WorkerApp (None: the built-in processes)")
    worker.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper,
                        help="log level (stderr)")
    worker.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                        help="serve Prometheus metrics on this port (needs the 'metrics' "
                             "extra)")
    worker.set_defaults(func=_cmd_worker)

    validate = sub.add_parser(
        "validate", formatter_class=fmt,
        help="check a process definition, business calendar or SLA policy JSON file",
        description="Check a JSON file holding a process definition, a business calendar or "
                    "an SLA policy and list every problem at once; exit 0 when valid, 1 when "
                    "not. Guards are checked by name (their code lives in your application); "
                    "a policy's calendars and states are checked when it is bound.")
    validate.add_argument("file", help="the JSON file")
    validate.add_argument("--kind", choices=("auto", "definition", "calendar", "policy"),
                          default="auto",
                          help="what the file holds; auto tells by its keys")
    validate.set_defaults(func=_cmd_validate)

    diagram = sub.add_parser("diagram", formatter_class=fmt,
                             help="print a process as Mermaid or DOT")
    diagram.add_argument("process",
                         help="a built-in process name or a definition JSON file")
    diagram.add_argument("--format", choices=("mermaid", "dot"), default="mermaid",
                         help="diagram language")
    diagram.add_argument("--lang", choices=("en", "zh_hant", "zh_hans"), default="en",
                         help="language of the labels")
    diagram.set_defaults(func=_cmd_diagram)

    from servicewf.reporting.cli import add_parser as add_report

    add_report(sub).set_defaults(func=_cmd_report)

    processes = sub.add_parser("processes", formatter_class=fmt,
                               help="list the built-in processes")
    processes.set_defaults(func=_cmd_processes)

    from servicewf.interop.cli import add_parsers as add_interop  # import, discover, export

    add_interop(sub, fmt)
    from servicewf.compliance.cli import add_parser as add_check

    add_check(sub)
    from servicewf.queues import cli as queue_cli

    queue_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``servicewf`` command."""
    from servicewf.errors import ServicewfError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ServicewfError as exc:
        print(f"servicewf: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A database that cannot be reached or opened: one line, not a traceback.
        if type(exc).__module__.split(".")[0] != "sqlalchemy":
            raise
        cause = exc.__cause__ or getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        print(f"servicewf: cannot use the database: {first}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
