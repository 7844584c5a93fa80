"""The ``SERVICEWF`` settings of a Django project, and the engine they build."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from servicewf.engine import Engine

__all__ = ["get_engine", "get_stack", "reset", "role_for", "settings_value"]

_DEFAULTS: dict[str, Any] = {
    "ENGINE": "servicewf.contrib.django.conf.builtin_engine",
    "ROLE": "servicewf.contrib.django.conf.group_role",
    "PREFIX": "servicewf_",
    "DATABASE": "default",
}

_lock = threading.Lock()
_stack: Any = None


def settings_value(key: str) -> Any:
    """``SERVICEWF[key]`` or its default."""
    configured = getattr(settings, "SERVICEWF", {}) or {}
    return configured.get(key, _DEFAULTS[key])


def builtin_engine(store: Any) -> Any:
    """The default ``ENGINE``: the built-in processes with their SLA clocks on the system
    clock (:func:`~servicewf.processes.stack.builtin_stack`)."""
    from servicewf.clock import SystemClock
    from servicewf.processes.stack import builtin_stack

    return builtin_stack(store, SystemClock())


def group_role(user: Any) -> str | None:
    """The default ``ROLE``: the name of the user's first group, alphabetically."""
    group = user.groups.order_by("name").first() if getattr(user, "pk", None) else None
    return None if group is None else str(group.name)


def get_stack() -> Any:
    """What ``ENGINE`` built for the project's :class:`DjangoStore` (built once): an
    :class:`Engine` or a stack with ``.engine`` (``.sla``, ``.sweeper`` when it has them)."""
    global _stack
    with _lock:
        if _stack is None:
            from servicewf.contrib.django.store import DjangoStore

            factory: Callable[[Any], Any] = import_string(settings_value("ENGINE"))
            _stack = factory(DjangoStore())
        return _stack


def get_engine() -> Engine:
    """The project's engine (see :func:`get_stack`)."""
    stack = get_stack()
    engine = stack if isinstance(stack, Engine) else stack.engine
    if not isinstance(engine, Engine):
        raise TypeError("SERVICEWF['ENGINE'] must build an Engine or an object with .engine")
    return engine


def role_for(user: Any) -> str | None:
    """The role ``user`` acts in (``ROLE`` setting); ``None``: no workflow role."""
    resolve: Callable[[Any], str | None] = import_string(settings_value("ROLE"))
    return resolve(user)


def reset() -> None:
    """Forget the built engine (tests, or after changing the settings)."""
    global _stack
    with _lock:
        _stack = None
