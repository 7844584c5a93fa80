"""The built-in processes of the catalogue (P1–P9), one module each.

>>> from servicewf.processes import builtin_registry, open_case
>>> engine = Engine(MemoryStore(), clock, builtin_registry())
>>> case = open_case(engine, "complaint", actor=agent, data={...})

Each module exposes ``definition()`` (the :class:`~servicewf.definition.ProcessDefinition`),
a typed case data class (``ComplaintData``...), ``CLOCKS_DOC`` (the documented SLA clocks with
their default targets and seed sections; the clocks themselves are in ``servicewf.sla``) and
``INFO`` (a :class:`~servicewf.processes.common.ProcessInfo`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from servicewf.case import Actor, Case
from servicewf.definition import ProcessDefinition, Registry
from servicewf.engine import Engine
from servicewf.errors import UnknownProcess
from servicewf.processes import (
    access_grant,
    after_sales,
    complaint,
    consultation,
    contract,
    contract_change,
    customer_data_change,
    improvement_action,
    incident,
    obligation,
    service_problem,
    service_request,
    survey_campaign,
)
from servicewf.processes.common import ProcessInfo

__all__ = [
    "PROCESSES",
    "ProcessInfo",
    "builtin_definitions",
    "builtin_registry",
    "open_case",
    "process_info",
    "transfer_consultation",
]

PROCESSES: Mapping[str, ProcessInfo] = MappingProxyType({
    m.INFO.name: m.INFO for m in (
        service_request, complaint, consultation, service_problem, incident, after_sales,
        improvement_action, survey_campaign, obligation, contract, contract_change,
        customer_data_change, access_grant,
    )
})
"""Every built-in process by name, in catalogue order."""


@lru_cache(maxsize=1)
def _definitions() -> tuple[ProcessDefinition, ...]:
    # Definitions are immutable; building each once lets every registry share one compiled
    # machine per process.
    return tuple(info.definition() for info in PROCESSES.values())


def builtin_definitions() -> list[ProcessDefinition]:
    """The definitions of every built-in process, in catalogue order (P1 … P9)."""
    return list(_definitions())


def builtin_registry() -> Registry:
    """A new :class:`~servicewf.definition.Registry` holding every built-in definition."""
    return Registry(_definitions())


def process_info(name: str) -> ProcessInfo:
    """The catalogue record of built-in process ``name``."""
    try:
        return PROCESSES[name]
    except KeyError:
        raise UnknownProcess(
            f"{name!r} is not a built-in process; built-in: {', '.join(PROCESSES)}"
        ) from None


def open_case(
    engine: Engine,
    process: str,
    *,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
    case_id: str | None = None,
    comment: str | None = None,
) -> Case:
    """Open a case: the same as ``engine.open``. Every built-in definition declares its
    catalogue intake (required fields on entry and their vocabularies), which the engine
    checks, so a missing field is refused with ``DataMissing`` and an unknown value with
    ``GuardFailed``."""
    return engine.open(process, actor=actor, data=data, case_id=case_id, comment=comment)


def transfer_consultation(
    engine: Engine,
    consultation_case: Case | str,
    to: str,
    *,
    actor: Actor,
    data: Mapping[str, Any],
    case_id: str | None = None,
) -> tuple[Case, Case]:
    """Turn a consultation into a new service request or complaint (003 §4.1): open the new
    case (with ``data`` as its intake, plus ``linked_case_id`` pointing back) and fire
    ``transfer`` on the consultation. Returns ``(consultation, new_case)``.

    The new case is opened first; if the transfer is then refused, the new case stays open and
    the refusal is raised (the caller may cancel it).
    """
    from servicewf.processes.common import TRANSFER_TARGET

    target = TRANSFER_TARGET.canonical(to)
    source = engine.get(consultation_case) if isinstance(consultation_case, str) \
        else consultation_case
    new_case = open_case(engine, target, actor=actor,
                         data={**data, "linked_case_id": source.id}, case_id=case_id)
    moved = engine.fire(source, "transfer", actor=actor,
                        data={"transfer_to": target, "linked_case_id": new_case.id})
    return moved, new_case
