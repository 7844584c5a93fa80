"""P3 ``consultation`` — 諮詢 (003 §4.1, 002 §2.3).

A question answered and closed. The service runs 24×7 (003 §4.1.2 "周一至周日,全天24小時"), so
its clocks run on a 24×7 calendar. ``transfer`` turns a consultation into a new service request
or complaint, linked to it (see :func:`servicewf.processes.transfer_consultation`).
"""

from __future__ import annotations

import attrs

from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    CONSULTATION_CHANNELS,
    TRANSFER_TARGET,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    consultation_channels_id,
    fields_guard,
    lab,
    transfer_target_id,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "ConsultationData", "definition"]

NAME = "consultation"
INTAKE = ("channel", "customer_ref", "question")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"channel": CONSULTATION_CHANNELS}

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("answer", "none", "—", "003 §4.1",
             "no answer time in the seeds: a configurable goal, off by default; calendar 24×7 "
             "(003 §4.1.2)"),
)


@attrs.frozen
class ConsultationData:
    """Typed view of a consultation's data (``case.data_as(ConsultationData)``)."""

    channel: str | None = attrs.field(
        default=None, converter=consultation_channels_id)
    customer_ref: str | None = None
    question: str | None = None
    answer: str | None = None
    transfer_to: str | None = attrs.field(
        default=None, converter=transfer_target_id)
    linked_case_id: str | None = None


GUARDS: tuple[Guard, ...] = (
    fields_guard("intake_complete", INTAKE, rule="intake (003 §4.1)",
                 explain="a consultation is opened with channel, customer_ref and question"),
    vocabulary_guard("channel", CONSULTATION_CHANNELS),
    vocabulary_guard("transfer_to", TRANSFER_TARGET),
)


def definition() -> ProcessDefinition:
    """The built-in ``consultation`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A customer's question on phone, online, email or SMS, answered around the clock; "
        "transferred to a service request or complaint when it is one."))
    b.labels = lab("Consultation", "諮詢", "咨询")
    b.add_guard(*GUARDS)
    b.add_state("received", lab("Received", "已接收", "已接收"), initial=True)
    b.add_state("answered", lab("Answered", "已答覆", "已答复"))
    b.add_state("closed", lab("Closed", "已關閉", "已关闭"), final=True)
    b.add_state("transferred", lab("Transferred", "已轉辦", "已转办"), final=True)
    b.add_transition("answer", "received", "answered", labels=lab("Answer", "答覆", "答复"),
                     required=("answer",), conditions=("intake_complete", "channel_known"))
    b.add_transition("close", "answered", "closed", labels=lab("Close", "關閉", "关闭"))
    b.add_transition("transfer", ("received", "answered"), "transferred",
                     labels=lab("Transfer", "轉辦", "转办"),
                     required=("transfer_to", "linked_case_id"),
                     conditions=("transfer_to_known",),
                     description="becomes a new service request or complaint, linked (003 §4.1)")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

clock = FrozenClock(pendulum.datetime(2026, 3, 7, 23, 30, tz="Asia/Shanghai"))  # Saturday night
engine = Engine(MemoryStore(), clock, builtin_registry())
agent = Actor("night.desk", "agent")
case = open_case(engine, "consultation", actor=agent, data={
    "channel": "SMS", "customer_ref": "C-3003", "question": "套餐如何變更?"})
case = engine.fire(case, "answer", actor=agent, data={"answer": "登錄網上營業廳辦理"})
case = engine.fire(case, "close", actor=agent)
print(case.state)   # closed
'''

INFO = ProcessInfo(
    "P3", NAME, definition, ConsultationData, INTAKE, INTAKE_VOCABULARIES,
    CLOCKS_DOC, "003 §4.1, 002 §2.3", EXAMPLE,
)
