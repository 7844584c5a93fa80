"""Who reads an export or a report on the command line: the ``--as-role``, ``--as-actor``
and ``--purpose`` options of ``servicewf export`` and ``servicewf report``, and the masker
they stand for.

Masking is the default (PIPL Art. 6 minimisation, 002 §7.2): without ``--as-role`` the
reader is :data:`ANONYMOUS`, a role no catalogue lets see any class, so every classified
field is masked, free text is redacted and customers acting on their own cases are
pseudonymised. A reader who may see personal data names their role (``--as-role
account_manager``), and each case's unmasked read is recorded in the access log beside
the database (actor, role, purpose, case, field names; 002 §7.3).

Pseudonyms are keyed hashes under ``SERVICEWF_PRIVACY_SECRET`` (the deployment's secret,
the same the application gives :class:`~servicewf.privacy.Privacy`); without it a random
secret is drawn for the run, so pseudonyms link rows within one output only.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
from typing import Any

from servicewf.case import Actor
from servicewf.clock import Clock
from servicewf.errors import UsageError
from servicewf.privacy.masking import MIN_SECRET
from servicewf.storage.base import Store

__all__ = ["ANONYMOUS", "SECRET_ENV", "add_reader_options", "reader_masker"]

ANONYMOUS = "anonymous"
"""The default reader's role: no catalogue names it, so it sees no classified value."""

SECRET_ENV = "SERVICEWF_PRIVACY_SECRET"
"""The environment variable holding the keyed-hash secret (text, at least 16 bytes)."""


def add_reader_options(parser: argparse.ArgumentParser, *, purpose: str) -> None:
    """Add ``--as-role``, ``--as-actor`` and ``--purpose`` (default ``purpose``)."""
    parser.add_argument(
        "--as-role", default=ANONYMOUS, metavar="ROLE",
        help="the reader's role: classified data is shown as the privacy catalogues let "
             "this role see it (default: masked for everyone; e.g. account_manager sees "
             "customer data, finance financial data only); unmasked reads are audited")
    parser.add_argument("--as-actor", default=None, metavar="ID",
                        help="the reader's id in the access log (default: the login name)")
    parser.add_argument("--purpose", default=purpose,
                        help="the purpose recorded in the access log")


def reader_masker(args: argparse.Namespace, store: Store, clock: Clock) -> Any:
    """The :class:`~servicewf.privacy.Masker` of the reader the options name, over
    ``store`` (its key vault and access log live beside it)."""
    from servicewf.privacy.core import Privacy

    raw = os.environ.get(SECRET_ENV)
    if raw is not None and len(raw.encode()) < MIN_SECRET:
        raise UsageError(f"{SECRET_ENV} must hold at least {MIN_SECRET} bytes")
    secret = raw.encode() if raw is not None else secrets.token_bytes(32)
    actor_id = args.as_actor or _login()
    privacy = Privacy(store, clock, secret=secret)
    return privacy.masker(Actor(actor_id, args.as_role), purpose=args.purpose)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"
