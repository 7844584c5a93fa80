"""``manage.py servicewf_worker``: the SLA and obligations sweep of the project's stack."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from servicewf.contrib.django.conf import get_stack
from servicewf.worker import sweep_loop


class Command(BaseCommand):
    help = ("Sweep due SLA and obligation timers of the servicewf cases (on the project's "
            "database, with the SERVICEWF['ENGINE'] stack) until stopped.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=5.0,
                            help="seconds between sweeps (default 5)")
        parser.add_argument("--once", action="store_true", help="sweep once, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        sweeper = getattr(get_stack(), "sweeper", None)
        if sweeper is None:
            raise CommandError("SERVICEWF['ENGINE'] built no sweeper: return a stack with "
                               ".sweeper (servicewf.processes.stack.builtin_stack does)")
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        sweeps = sweep_loop(sweeper, stop, interval=options["interval"], once=options["once"],
                            on_report=lambda report: self.stdout.write(str(report)))
        self.stdout.write(f"servicewf_worker: {sweeps} sweep(s)")
