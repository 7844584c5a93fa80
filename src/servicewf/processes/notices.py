"""The built-in outbox messages: customer notices and staff alerts, in Chinese and English.

Each declaration is a :class:`Notice`, a :class:`~servicewf.engine.MessageRule`: give them to
the engine (``Engine(..., messages=builtin_messages())``) and every command that appends a
matching event writes an :class:`~servicewf.storage.base.OutboxMessage` in the same atomic
write as its case. A dispatcher (:mod:`servicewf.outbox`) delivers them afterwards.

* ``complaint.deadline_extended`` → ``customer``: the customer notice of a time-limit
  extension of a complaint (003 §4.3.1): the ``extend`` transition, or a ``clock_extended``
  event recorded on a complaint;
* ``incident.progress`` → ``customer``: the progress updates of an incident while it is being
  handled (003 §10.3): the ``update_customers`` transition;
* ``sla.warning``, ``sla.breached``, ``sla.escalated`` → ``staff``: the SLA sweep's warnings,
  breaches and escalations (``clock_warning``, ``clock_breached``, ``escalated`` events and
  ``escalate`` transitions), on every process.

The payload is plain data: ``subject`` and ``body`` rendered in each language (``zh``,
``en``), the case's ``process``, ``state`` and ``case_id``, and ``fields``: the values the
texts were rendered from (``customer_ref`` tells the integrator's sender whom to write to).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from servicewf.case import Case
from servicewf.clock import from_epoch_us
from servicewf.definition import ProcessDefinition
from servicewf.engine import MessageRule
from servicewf.events import Event, EventKind
from servicewf.storage.base import OutboxMessage

__all__ = ["COMPLAINT_EXTENSION", "INCIDENT_PROGRESS", "LANGUAGES", "SLA_BREACHED",
           "SLA_ESCALATED", "SLA_WARNING", "Notice", "Template", "builtin_messages"]

LANGUAGES = ("zh", "en")
"""The languages of the built-in templates."""

_MISSING = "—"


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return _MISSING


_FORMATTER = string.Formatter()


@attrs.frozen
class Template:
    """A subject and a body per language, ``str.format`` texts over the notice's fields
    (``{case_id}``, ``{process}``, ``{state}`` and the notice's ``fields``); a field without
    a value renders as ``—``."""

    subject: Mapping[str, str]
    body: Mapping[str, str]

    def render(self, values: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """``{"subject": {lang: text}, "body": {lang: text}}``."""
        known = _Values({k: _MISSING if v is None else v for k, v in values.items()})
        return {
            "subject": {lang: _FORMATTER.vformat(text, (), known)
                        for lang, text in self.subject.items()},
            "body": {lang: _FORMATTER.vformat(text, (), known)
                     for lang, text in self.body.items()},
        }


def _plain_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@attrs.frozen
class Notice:
    """A message rule: every event ``matches`` accepts, on cases of ``process`` (any process
    when ``None``), gives one message about ``topic`` for ``recipient``, rendered from
    ``template`` with ``fields`` (looked up in the event's data, then the case's data, then
    the case's SLA clock the event names)."""

    topic: str
    recipient: str
    template: Template
    matches: Callable[[Event], bool]
    process: str | None = None
    fields: tuple[str, ...] = ()

    def __call__(self, definition: ProcessDefinition, case: Case,
                 events: Sequence[Event]) -> Iterable[OutboxMessage]:
        if self.process is not None and case.process != self.process:
            return []
        return [self.message(case, e) for e in events if self.matches(e)]

    def message(self, case: Case, event: Event) -> OutboxMessage:
        """The message ``event`` of ``case`` produces."""
        clock = _clock_of(case, event)
        fields = {f: _plain_value(event.data.get(f, case.data.get(f, clock.get(f))))
                  for f in self.fields}
        values = {**fields, "case_id": case.id, "process": case.process, "state": case.state}
        payload = {**self.template.render(values), "case_id": case.id,
                   "process": case.process, "state": case.state, "fields": fields}
        return OutboxMessage.for_event(event, self.topic, self.recipient, payload)


def _clock_of(case: Case, event: Event) -> Mapping[str, Any]:
    """The deadline of the SLA clock an event names (``data["clock"]``), as ISO text under
    ``deadline`` and ``new_deadline`` (a recorded extension's notice needs the new one)."""
    name = event.data.get("clock")
    sla = case.extensions.get("sla")
    if not isinstance(name, str) or not isinstance(sla, Mapping):
        return {}
    for clock in sla.get("clocks", ()):
        if isinstance(clock, Mapping) and clock.get("name") == name:
            deadline = clock.get("deadline")
            if isinstance(deadline, int):
                text = from_epoch_us(deadline).isoformat()
                return {"deadline": text, "new_deadline": text}
    return {}


def _transition(trigger: str) -> Callable[[Event], bool]:
    def matches(e: Event) -> bool:
        return e.kind is EventKind.TRANSITION and e.trigger == trigger
    return matches


def _kind(kind: EventKind, trigger: str | None = None) -> Callable[[Event], bool]:
    def matches(e: Event) -> bool:
        return e.kind is kind or (trigger is not None and e.kind is EventKind.TRANSITION
                                  and e.trigger == trigger)
    return matches


COMPLAINT_EXTENSION = Notice(
    "complaint.deadline_extended", "customer",
    Template(
        subject={"zh": "您的投诉 {case_id} 处理时限已延长",
                 "en": "The time limit of your complaint {case_id} was extended"},
        body={"zh": "您好！您的投诉（编号 {case_id}）处理时限已延长至 {new_deadline}。"
                    "原因：{reason}。{customer_notification}",
              "en": "Hello, the time limit for handling your complaint (ref. {case_id}) was "
                    "extended to {new_deadline}. Reason: {reason}. {customer_notification}"},
    ),
    _kind(EventKind.CLOCK_EXTENDED, "extend"), process="complaint",
    fields=("customer_ref", "new_deadline", "reason", "customer_notification"),
)
"""Customer notice of a complaint's time-limit extension (003 §4.3.1)."""

INCIDENT_PROGRESS = Notice(
    "incident.progress", "customer",
    Template(
        subject={"zh": "事件 {case_id} 进展通报", "en": "Progress update on incident {case_id}"},
        body={"zh": "您好！关于事件 {case_id}（{category}，{level}）的最新进展：{progress_update}",
              "en": "Hello, the latest on incident {case_id} ({category}, {level}): "
                    "{progress_update}"},
    ),
    _transition("update_customers"), process="incident",
    fields=("category", "level", "progress_update"),
)
"""Progress updates to customers while an incident is handled (003 §10.3)."""

_SLA_FIELDS = ("clock", "deadline", "target", "handler")

SLA_WARNING = Notice(
    "sla.warning", "staff",
    Template(
        subject={"zh": "【时限预警】{process} {case_id}：{clock} 即将到期",
                 "en": "[SLA warning] {process} {case_id}: {clock} is due soon"},
        body={"zh": "案件 {case_id}（{process}，状态 {state}）的时限 {clock} 将于 {deadline} "
                    "到期，请尽快处理。",
              "en": "Case {case_id} ({process}, state {state}): {clock} is due at {deadline}; "
                    "please act now."},
    ),
    _kind(EventKind.CLOCK_WARNING), fields=_SLA_FIELDS,
)
"""Staff alert: an SLA clock is about to breach."""

SLA_BREACHED = Notice(
    "sla.breached", "staff",
    Template(
        subject={"zh": "【时限超时】{process} {case_id}：{clock} 已超时",
                 "en": "[SLA breached] {process} {case_id}: {clock} breached"},
        body={"zh": "案件 {case_id}（{process}，状态 {state}）的时限 {clock} 已于 {deadline} "
                    "超时。",
              "en": "Case {case_id} ({process}, state {state}): {clock} breached at "
                    "{deadline}."},
    ),
    _kind(EventKind.CLOCK_BREACHED), fields=_SLA_FIELDS,
)
"""Staff alert: an SLA clock breached."""

SLA_ESCALATED = Notice(
    "sla.escalated", "staff",
    Template(
        subject={"zh": "【升级】{process} {case_id} 已升级至 {tier}",
                 "en": "[Escalated] {process} {case_id} escalated to {tier}"},
        body={"zh": "案件 {case_id}（{process}，状态 {state}）已升级至 {tier}。原因：{reason}",
              "en": "Case {case_id} ({process}, state {state}) was escalated to {tier}. "
                    "Reason: {reason}"},
    ),
    _kind(EventKind.ESCALATED, "escalate"), fields=("tier", "reason", "clock"),
)
"""Staff alert: a case was escalated (by the sweep or by hand)."""


def builtin_messages() -> list[MessageRule]:
    """The built-in notices, for ``Engine(..., messages=builtin_messages())``."""
    return [COMPLAINT_EXTENSION, INCIDENT_PROGRESS, SLA_WARNING, SLA_BREACHED, SLA_ESCALATED]
