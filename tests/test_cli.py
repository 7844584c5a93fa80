"""The command line and the demo workload."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from servicewf.cli import main
from servicewf.demo import run_demo


def test_demo_is_reproducible_and_consistent(tmp_path):
    a = run_demo(cases=60, seed=7, db="memory", days=5)
    b = run_demo(cases=60, seed=7, db=f"sqlite:///{tmp_path / 'demo.db'}", days=5)
    assert a.states == b.states and a.refusals == b.refusals and a.sla == b.sla
    assert sum(a.states.values()) == 60
    assert a.obligations == b.obligations and a.obligation_events == b.obligation_events
    # every accepted command is one audit event, and so is everything a sweep recorded
    assert a.events == a.accepted + sum(a.sla_events[k] for k in ("warnings", "breaches",
                                                                   "escalations")) \
        + sum(a.obligation_events.values())
    assert a.refusals, "the stories include mistakes the engine must refuse"
    assert any("C11" in why or "C9" in why or "TriggerNotAllowed" in why
               for _, _, why in a.refusals)


def test_demo_obligations_are_swept():
    s = run_demo(cases=40, seed=3, db="memory", days=20)
    assert [(row.kind, row.cadence) for row in s.obligations] == [
        ("complaint_report", "monthly"), ("customer_contact", "weekly"),
        ("customer_contact", "weekly"), ("customer_contact", "twice_monthly"),
        ("survey", "quarterly")]
    # the summary rows add up to what the sweeps recorded
    assert sum(row.met for row in s.obligations) == s.obligation_events["obligation_met"]
    assert sum(row.missed for row in s.obligations) == s.obligation_events["obligation_missed"]
    assert sum(row.due_soon for row in s.obligations) == \
        s.obligation_events["obligation_due_soon"]
    # 25 simulated days from Monday 14 September: three VIP weeks have ended for each VIP
    vips = [row for row in s.obligations if row.cadence == "weekly"]
    assert all(row.met + row.missed == 3 for row in vips)
    assert all(row.next_due is not None and row.state == "active" for row in s.obligations)
    # the account manager's mistyped contact date is refused (the completion rule)
    assert any(p == "obligation" and "P8 completion" in why for p, _, why in s.refusals)


def test_demo_and_diagram_commands(capsys):
    assert main(["demo", "--cases", "25", "--days", "3", "--db", "memory"]) == 0
    out = capsys.readouterr().out
    assert "Cases per state" in out and "Refused commands and why" in out
    assert "Recurring obligations at the end of the run" in out and "contact: C-1001" in out
    assert main(["diagram", "complaint", "--lang", "zh_hant"]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2")
    assert main(["diagram", "nope"]) == 2
    assert "not registered" in capsys.readouterr().err
    assert main(["processes"]) == 0


def test_demo_rejects_bad_sizes():
    with pytest.raises(ValueError):
        run_demo(cases=0, db="memory")


def test_worker_stops_cleanly_on_sigterm(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    run_demo(cases=20, seed=1, db=db, days=2)  # leaves due timers behind
    proc = subprocess.Popen(
        [sys.executable, "-m", "servicewf.cli", "worker", "--db", db, "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(3)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert main(["worker", "--db", db, "--once"]) == 0


def test_demo_routes_complaints_to_the_escalated_tier() -> None:
    # Slow complaints breach and the sweep escalates them; the desk must then hand the work
    # to the new tier instead of letting the old handler be refused (C9) and the case stall.
    s = run_demo(cases=300, seed=2026, db="memory", days=20)
    assert s.sla_events["escalations"] > 0
    refused_work = {k: n for k, n in s.refusals.items()
                    if k[0] == "complaint" and k[1] == "resolve"}
    assert not refused_work
    stuck = {k: n for k, n in s.states.items() if k == ("complaint", "investigating")}
    assert sum(stuck.values()) <= 2  # only those still being worked on when the run ends
