"""The default SLA clocks of the built-in processes, ready to plug into an engine.

>>> sla = default_sla()
>>> engine = Engine(store, clock, builtin_registry(), processors=[sla])
>>> Sweeper(engine, sla).run()
"""

from __future__ import annotations

from collections.abc import Mapping

from servicewf.calendar import BusinessCalendar, china_office
from servicewf.definition import Registry
from servicewf.processes.presets import (
    complaint_business_centre,
    incident,
    service_request,
)
from servicewf.sla import (
    SLA,
    Policy,
)

__all__ = ["default_policies", "default_sla"]


def default_policies() -> list[Policy]:
    """Service request (000 §6.1, 002 §3.1, 000 §4.1), complaint preset ``business_centre``
    (001 §7.2, §4.2, §7.4) and incident (002 §7.4)."""
    return [service_request(), complaint_business_centre(), incident()]


def default_sla(
    calendars: Mapping[str, BusinessCalendar] | None = None,
    *,
    registry: Registry | None = None,
) -> SLA:
    """An :class:`~servicewf.sla.SLA` with :func:`default_policies` on the China office
    calendar (``"office"``), validated against ``registry`` (the built-in one by default)."""
    from servicewf.processes import builtin_registry

    sla = SLA(default_policies(), calendars or {"office": china_office()})
    sla.validate(registry if registry is not None else builtin_registry())
    return sla
