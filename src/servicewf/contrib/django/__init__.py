"""servicewf in a Django project (``pip install servicewf[django]``).

- :class:`~servicewf.contrib.django.store.DjangoStore`: the SQL store on Django's own database
  connection. Its writes take part in ``transaction.atomic()``: the case, its events, timers
  and outbox messages commit and roll back with the app's rows, on SQLite and PostgreSQL (no
  second connection, so no ``database is locked`` on SQLite either).
- ``INSTALLED_APPS += ["servicewf.contrib.django"]`` adds migrations for the store's tables
  (``manage.py migrate``), an admin for cases that runs every change through the engine with
  the user's role (never a raw field edit; every admin action is audited), and
  ``manage.py servicewf_worker``.

Settings (all optional), in ``SERVICEWF = {...}``:

- ``"ENGINE"``: dotted path of a callable ``(store) -> Engine`` or a stack (an object with
  ``.engine`` and optionally ``.sla`` and ``.sweeper``, like
  :func:`~servicewf.processes.stack.builtin_stack`); default: the built-in processes;
- ``"ROLE"``: dotted path of a callable ``(user) -> str | None``, the role a Django user acts
  in; default: the name of the user's first group (alphabetically), none without a group;
- ``"PREFIX"``: the tables' name prefix (default ``"servicewf_"``); ``"DATABASE"``: the
  database alias (default ``"default"``).
"""

from servicewf.contrib.django.conf import get_engine, get_stack, role_for, settings_value
from servicewf.contrib.django.store import DjangoStore

__all__ = ["DjangoStore", "get_engine", "get_stack", "role_for", "settings_value"]
