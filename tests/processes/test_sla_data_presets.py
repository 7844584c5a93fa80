"""The complaint presets and a ServiceNow-style incident policy written entirely as plain
data (``servicewf/processes/sla_policies/*.json``, issue #15): equal to the Python presets and
behaving the same on the built-in processes."""

from __future__ import annotations

import json
from importlib.resources import files

import attrs
import jsonschema
import pendulum
import pytest

from servicewf import Engine, MemoryStore
from servicewf.calendar import china_office
from servicewf.errors import InvalidPolicy
from servicewf.processes import builtin_registry
from servicewf.processes.presets import DATA_PRESETS, PRESETS, load_preset
from servicewf.sla import POLICY_SCHEMA, SLA
from tests.processes.support import Harness

CALS = {"office": china_office()}
START = pendulum.datetime(2026, 3, 10, 2, 0, tz="Asia/Shanghai")  # a Tuesday, 02:00


@pytest.mark.parametrize("name", DATA_PRESETS)
def test_the_shipped_json_is_the_python_preset(name: str) -> None:
    text = files("servicewf.processes").joinpath("sla_policies", f"{name}.json").read_text(
        encoding="utf-8")
    jsonschema.validate(json.loads(text), POLICY_SCHEMA)
    assert load_preset(name) == PRESETS[name]()


def test_an_unknown_data_preset_is_refused() -> None:
    with pytest.raises(InvalidPolicy, match="no plain-data preset"):
        load_preset("complaint.bank")


def _harness(policies: list) -> Harness:  # type: ignore[type-arg]
    h = Harness(START)
    h.sla = SLA(policies, CALS)
    h.sla.validate(builtin_registry())
    h.engine = Engine(MemoryStore(), h.clock, builtin_registry(), processors=[h.sla])
    return h


def _complaint_walk(h: Harness, level: str) -> list:  # type: ignore[type-arg]
    case = h.open("complaint", channel="網上", customer_ref="C-1", content="late refund")
    steps = ["record", ("classify", "agent", {"level": level}),
             ("confirm_classification", "supervisor"), "acknowledge", "investigate",
             "resolve", "give_feedback"]
    handler = {"緊急": "manager", "重要": "supervisor"}.get(level, "agent")
    out = []
    for step in steps:
        h.clock.advance(hours=7)
        if step == "investigate" or step == "resolve":
            case = h.fire(case, step, handler)
        else:
            case = h.run(case, step)
        out.append(h.sla.states(case))
    return out


@pytest.mark.parametrize("name", ["complaint.business_centre", "complaint.telecom"])
@pytest.mark.parametrize("level", ["一般", "重要", "緊急"])
def test_complaint_presets_behave_the_same_as_data(name: str, level: str) -> None:
    as_code = _complaint_walk(_harness([PRESETS[name]()]), level)
    as_data = _complaint_walk(_harness([load_preset(name)]), level)
    assert as_code == as_data
    resolve = as_data[-1]["resolve"]
    assert resolve.status == "stopped" and resolve.outcome in ("met", "breached")


def _incident(h: Harness, level: str, recover_after_hours: float) -> object:
    case = h.open("incident", description="core switch down")
    case = h.fire(case, "classify", category="信息安全", level=level)
    h.clock.advance(minutes=30)
    case = h.fire(case, "respond")
    h.clock.set(START.add(minutes=round(recover_after_hours * 60)))
    case = h.fire(case, "recover")
    return h.sla.states(case)


@pytest.mark.parametrize(("level", "hours", "outcome"), [
    ("重大", 7.5, "met"), ("重大", 8.5, "breached"), ("major", 8.5, "breached"),
    ("較大", 23, "met"), ("較大", 25, "breached"), ("一般", 119, "met"), ("一般", 121, "breached"),
])
def test_servicenow_incident_resolution_by_priority(level: str, hours: float,
                                                    outcome: str) -> None:
    as_data = _incident(_harness([load_preset("incident.servicenow")]), level, hours)
    as_code = _incident(_harness([PRESETS["incident.servicenow"]()]), level, hours)
    assert as_data == as_code
    resolution = as_data["resolution"]  # type: ignore[index]
    assert resolution.outcome == outcome
    assert as_data["response"].outcome == "met"  # type: ignore[index]
    assert as_data["time_to_close"].status == "running"  # type: ignore[index]
    assert as_data["time_to_close"].deadline is None  # type: ignore[index]


def test_the_servicenow_policy_runs_beside_the_default_incident_clocks() -> None:
    """Several policies on one process: the default preset's clocks and the ServiceNow-style
    ones side by side (their shared ``response`` clock name is refused: name them apart)."""
    servicenow = load_preset("incident.servicenow")
    with pytest.raises(InvalidPolicy, match="response"):
        SLA([PRESETS["incident.default"](), servicenow], CALS)
    renamed = attrs.evolve(servicenow, clocks=[c for c in servicenow.clocks
                                               if c.name != "response"])
    h = _harness([PRESETS["incident.default"](), renamed])
    states = _incident(h, "重大", 9)
    assert states.names() == (  # type: ignore[attr-defined]
        "response", "progress_update", "resolution", "time_to_close")
    assert states["resolution"].outcome == "breached"  # type: ignore[index]
