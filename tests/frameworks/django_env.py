"""One Django configuration for the whole test session (Django is configured once per
process): the ``default`` database is a SQLite file, ``pg`` the test PostgreSQL server
(tables go into the session's schema, ``pg_schema``)."""

from __future__ import annotations

import os
import tempfile
import threading

from ..conftest import pg_dsn

_lock = threading.Lock()
_ready = False


def django_setup() -> None:
    """Configure and set up Django (once), and migrate the SQLite database."""
    global _ready
    with _lock:
        if _ready:
            return
        import django
        import sqlalchemy as sa
        from django.conf import settings

        url = sa.make_url(pg_dsn())
        directory = tempfile.mkdtemp(prefix="swf-django-")
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast tests
            ALLOWED_HOSTS=["*"],
            USE_TZ=True,
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": os.path.join(directory, "django.db"),
                    # The recommended SQLite settings for concurrent writers (docs/django.md).
                    "OPTIONS": {"transaction_mode": "IMMEDIATE",
                                "init_command": "PRAGMA journal_mode=WAL;"},
                },
                "pg": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": url.database or "test", "USER": url.username or "postgres",
                    "HOST": url.host or "127.0.0.1", "PORT": url.port or 5432,
                    "PASSWORD": url.password or "",
                },
            },
            INSTALLED_APPS=[
                "django.contrib.contenttypes", "django.contrib.auth", "django.contrib.admin",
                "django.contrib.sessions", "django.contrib.messages",
                "servicewf.contrib.django",
            ],
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware",
            ],
            ROOT_URLCONF="tests.frameworks.django_urls",
            TEMPLATES=[{
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {"context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]},
            }],
            SERVICEWF={"ENGINE": "tests.frameworks.django_env.test_engine"},
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, database="default")
        _ready = True


def test_engine(store):  # type: ignore[no-untyped-def]
    """The tests' SERVICEWF["ENGINE"]: the built-in stack on a clock the tests move."""
    from servicewf.processes.stack import builtin_stack

    from ..helpers import ticket_definition

    stack = builtin_stack(store, CLOCK)
    stack.registry.add(ticket_definition())
    return stack


def _clock():  # type: ignore[no-untyped-def]
    import pendulum

    from servicewf import FrozenClock

    return FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))


CLOCK = _clock()
