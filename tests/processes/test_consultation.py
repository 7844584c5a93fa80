"""P3 consultation."""

from __future__ import annotations

import pytest

from servicewf import GuardFailed, TriggerNotAllowed
from servicewf.processes import transfer_consultation
from servicewf.processes.consultation import ConsultationData
from tests.processes.support import Harness

INTAKE = {"channel": "SMS", "customer_ref": "C-3", "question": "how to change plan?"}


def test_answer_and_close_at_night() -> None:
    h = Harness()
    h.clock.set(h.clock.now().add(days=5, hours=14))  # Saturday 23:00: 24×7 service
    case = h.run(h.open("consultation", **INTAKE), "answer", "close")
    assert h.trail(case) == [(None, None, "received"), ("answer", "received", "answered"),
                             ("close", "answered", "closed")]
    assert case.data_as(ConsultationData).channel == "sms"


def test_channel_limited_to_consultation_channels() -> None:
    h = Harness()
    with pytest.raises(GuardFailed) as err:
        h.open("consultation", **{**INTAKE, "channel": "letter"})
    assert (err.value.guard, err.value.rule) == ("channel_known", "vocabulary (003 §4.1)")


def test_transfer_opens_linked_complaint() -> None:
    h = Harness()
    case = h.open("consultation", **INTAKE)
    from servicewf import Actor

    moved, complaint = transfer_consultation(
        h.engine, case, "投訴", actor=Actor("a", "agent"),
        data={"channel": "phone", "customer_ref": "C-3", "content": "billed twice"})
    assert moved.state == "transferred" and complaint.process == "complaint"
    assert moved.data["linked_case_id"] == complaint.id
    assert complaint.data["linked_case_id"] == case.id
    with pytest.raises(TriggerNotAllowed):
        h.fire(moved, "answer")
    with pytest.raises(GuardFailed) as err:
        h.fire(h.open("consultation", **INTAKE), "transfer", transfer_to="nowhere")
    assert (err.value.guard, err.value.rule) == ("transfer_to_known", "vocabulary (003 §4.1)")
