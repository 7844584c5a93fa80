"""The ``servicewf`` command: the only module that prints or picks a backend.

Sub-commands: ``demo`` (a simulated workload with a summary), ``worker`` (the sweep loop of the
SLA clocks and the recurring obligations against a database), ``diagram`` (Mermaid or DOT text
of a built-in process) and ``processes`` (the built-in catalogue).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


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

    definition = builtin_registry().get(args.process)
    render = mermaid if args.format == "mermaid" else dot
    sys.stdout.write(render(definition, lang=args.lang))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from servicewf.demo import render_summary, run_demo

    summary = run_demo(cases=args.cases, seed=args.seed, db=args.db, days=args.days)
    render_summary(summary)
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from servicewf.outbox import WebhookSender
    from servicewf.worker import run_worker

    senders = {"*": WebhookSender(args.webhook)} if args.webhook else None
    return run_worker(args.db, interval=args.interval, owner=args.owner, batch=args.batch,
                      once=args.once, senders=senders)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and shell completion generators)."""
    parser = argparse.ArgumentParser(
        prog="servicewf", description="Customer-service processes as auditable state machines."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a simulated workload and print a summary")
    demo.add_argument("--cases", type=int, default=600, help="cases to open (default 600)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (reproducible runs)")
    demo.add_argument("--days", type=int, default=20, help="simulated working period in days")
    demo.add_argument("--db", default="sqlite:///servicewf-demo.db",
                      help="database URL (default: a SQLite file in the current directory; "
                           "'memory' for the in-memory store; postgresql://... for PostgreSQL)")
    demo.set_defaults(func=_cmd_demo)

    worker = sub.add_parser(
        "worker", help="run the sweep loop (SLA clocks, recurring obligations) until SIGTERM")
    worker.add_argument("--db", required=True, help="database URL (sqlite:///... or postgresql://...)")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between sweeps")
    worker.add_argument("--owner", default=None, help="lease owner name (default host:pid)")
    worker.add_argument("--batch", type=int, default=200, help="timers claimed per sweep")
    worker.add_argument("--once", action="store_true", help="sweep once and exit")
    worker.add_argument("--webhook", default=None,
                        help="deliver the outbox after each sweep: POST every message as "
                             "JSON to this URL (SMTP and routing: run_worker(senders=...))")
    worker.set_defaults(func=_cmd_worker)

    diagram = sub.add_parser("diagram", help="print a built-in process as Mermaid or DOT")
    diagram.add_argument("process")
    diagram.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    diagram.add_argument("--lang", choices=("en", "zh_hant", "zh_hans"), default="en")
    diagram.set_defaults(func=_cmd_diagram)

    processes = sub.add_parser("processes", help="list the built-in processes")
    processes.set_defaults(func=_cmd_processes)
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
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
