"""``servicewf queue``: print an inbox, most urgent first.

    servicewf queue --db URL (--actor ID | --group NAME | --role ROLE) [--unassigned]
                    [--limit N]

One line per case: its place, id, process, state, priority rank, whether a clock breached or
is overdue now, the SLA due instant (UTC) and the owner. It creates the queue indexes if they
are missing (idempotent; a one-off build on a large table).
"""

from __future__ import annotations

import argparse
from typing import Any

from servicewf.errors import UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``queue`` command to the ``servicewf`` sub-parsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "queue", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="print an inbox (an actor's, a group's or a role's open cases), most urgent first",
        description="Print the open cases of one actor, group or role in the queue order: "
                    "priority, breached first, SLA due instant, age.")
    p.add_argument("--db", required=True,
                   help="database URL: sqlite:///path or postgresql://user@host/db")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--actor", help="the owner's actor id")
    who.add_argument("--group", help="a group (team)")
    who.add_argument("--role", help="a handler tier (agent, supervisor, manager...)")
    p.add_argument("--unassigned", action="store_true",
                   help="only cases waiting for an owner (with --group or --role)")
    p.add_argument("--limit", type=int, default=20, help="rows to print (1 to 1000)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the inbox ``args`` asks for; 0 on success."""
    from servicewf.cli import check_db
    from servicewf.clock import SystemClock, epoch_us, from_epoch_us
    from servicewf.queues.policy import NO_DUE
    from servicewf.queues.query import MAX_LIMIT, Queues
    from servicewf.storage.sql import SQLStore

    check_db(args.db, memory=False)
    if not 0 < args.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be from 1 to {MAX_LIMIT}")
    if args.unassigned and args.actor is not None:
        raise UsageError("--unassigned goes with --group or --role, not --actor")
    store = SQLStore(args.db)
    try:
        queues = Queues(store)
        queues.install()
        page = queues.inbox(actor=args.actor, group=args.group, role=args.role,
                            unassigned=args.unassigned, limit=args.limit)
        # The command line is the one place that reads the wall clock, to say "overdue".
        now = epoch_us(SystemClock().now())
        print(f"{'#':>3}  {'case':<34} {'process':<16} {'state':<16} {'rank':>4}  "
              f"{'breach':<7} {'due (UTC)':<20} owner")
        for n, item in enumerate(page, start=1):
            q = item.queue
            case = item.case
            due = "-" if q.due >= NO_DUE else from_epoch_us(q.due).strftime("%Y-%m-%d %H:%M")
            flag = "yes" if q.breached else ("overdue" if q.due <= now else "")
            print(f"{n:>3}  {item.id:<34} {case.process:<16} {case.state:<16} {q.rank:>4}  "
                  f"{flag:<7} {due:<20} {q.owner or '-'}")
        if not page.items:
            print("(no open cases)")
            if not queues.holds_queue_state():
                print("No case in this database carries queue state: cases join queues when "
                      "an engine with the QueueProcessor writes them (servicewf.queues."
                      "queue_stack); the demo's engine has none. See docs/queues.md.")
        queues.close()
    finally:
        store.close()
    return 0
