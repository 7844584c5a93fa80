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
    assert a.states == b.states and a.refusals == b.refusals and a.kpis == b.kpis
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


# --- first contact: fresh runs, the summary, the command line's errors ----------------------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from servicewf.processes import builtin_registry  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(*args: str, pre: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m servicewf ARGS`` in a subprocess (``pre``: Python run first)."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = f"{pre}\nimport runpy, sys\nsys.argv = ['servicewf', *{list(args)!r}]\n" \
           "runpy.run_module('servicewf', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_demo_starts_fresh_each_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    a = run_demo(cases=15, seed=5, days=2)
    b = run_demo(cases=15, seed=5, days=2)
    assert a.fresh and b.fresh
    assert (a.states, a.refusals, a.kpis, a.events) == (b.states, b.refusals, b.kpis, b.events)
    assert sum(a.states.values()) == 15
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working folder
    outputs = []
    for _ in range(2):
        assert main(["demo", "--cases", "15", "--days", "2", "--seed", "5"]) == 0
        out = capsys.readouterr().out
        assert "fresh temporary SQLite database" in out
        outputs.append(re.sub(r"[\d.]+ s wall\s+time", "", out))
    assert outputs[0] == outputs[1]


def test_demo_refuses_a_named_database_that_holds_cases(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'kept.db'}"
    assert main(["demo", "--cases", "5", "--days", "1", "--db", db, "--no-progress"]) == 0
    assert f"store: {db}" in capsys.readouterr().out.replace("\n", "")
    assert main(["demo", "--cases", "5", "--days", "1", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds" in err and "earlier run" in err


def test_demo_summary_leads_with_attainment_and_plain_refusals(capsys):
    s = run_demo(cases=120, seed=2026, db="memory", days=20)
    closes = [(why, rule) for (p, t, why, rule) in s.reasons if (p, t) == ("complaint", "close")]
    assert closes and all("dissatisfied" in why and rule == "C11 (004 §6)"
                          for why, rule in closes)
    assert not any("case '" in why for (_, _, why, _) in s.reasons)  # no case ids
    from servicewf.demo import render_summary

    render_summary(s)
    out = capsys.readouterr().out
    head = out[: out.index("Cases per state")]
    assert "SLA attainment per clock" in head and "breached" in head
    assert "Why clocks breach:" in head and "30 min office hours" in head
    assert "Refused commands, in plain words:" in head and "[rule: C11 (004 §6)]" in head
    assert "GuardFailed" not in head
    render_summary(s, lang="zh")
    assert "客戶記錄為不滿意" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "says"), [
    (["demo", "--cases", "0"], "--cases must be at least 1"),
    (["demo", "--days", "-1"], "--days must be at least 1"),
    (["demo", "--db", "servicewf-demo.db"], "use sqlite:///servicewf-demo.db"),
    (["worker", "--db", "servicewf-demo.db"], "use sqlite:///servicewf-demo.db"),
    (["worker", "--db", "memory"], "name a database"),
    (["worker", "--db", "mysql://x/y"], "unsupported database"),
    (["validate", "missing.json"], "missing.json: no such file"),
    (["diagram", "missing.json"], "missing.json: no such file"),
    (["validate", "bad.json"], "bad.json: malformed JSON"),
    (["validate", "list.json"], "expected a JSON object"),
    (["validate", "odd.json"], "say it with --kind"),
])
def test_bad_invocations_are_one_line(argv, says, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text('{"name": ', encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "odd.json").write_text('{"colour": "red"}', encoding="utf-8")
    (tmp_path / "policy.json").write_text('{"clocks": []}', encoding="utf-8")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("servicewf: ") and captured.err.count("\n") == 1
    assert says in captured.err and "Traceback" not in captured.err


def test_postgresql_without_its_driver_is_one_line():
    done = _run("demo", "--db", "postgresql://app@127.0.0.1:1/none",
                pre="import sys; sys.modules['psycopg'] = None")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "install servicewf[postgres]" in done.stderr


def test_version_and_python_dash_m():
    from servicewf import __version__

    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"servicewf {__version__}"
    done = _run("diagram", "service_request", "--format", "dot")
    assert done.returncode == 0 and done.stdout.startswith("digraph")
    done = _run()
    assert done.returncode == 2 and "required: COMMAND" in done.stderr


def test_help_shows_every_default(capsys):
    for command, default in (("demo", "(default: 600)"), ("worker", "(default: 5.0)"),
                             ("validate", "(default: auto)"), ("diagram", "(default: mermaid)")):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert default in " ".join(capsys.readouterr().out.split())


def test_validate_definitions_and_calendars(tmp_path, capsys):
    from servicewf.calendar import china_office

    good = builtin_registry().get("complaint").to_dict()
    (tmp_path / "def.json").write_text(json.dumps(good), encoding="utf-8")
    assert main(["validate", str(tmp_path / "def.json")]) == 0
    assert "valid process definition 'complaint' v1" in capsys.readouterr().out
    bad = json.loads(json.dumps(good))
    bad["states"][0]["id"] = 5
    bad["version"] = "x"
    del bad["transitions"][1]["dest"]
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    assert main(["validate", str(tmp_path / "bad.json")]) == 1
    out = capsys.readouterr().out
    assert "invalid process definition 'complaint', 3 problems" in out
    assert "states/0/id" in out and "version" in out and "'dest' is a required" in out
    (tmp_path / "cal.json").write_text(json.dumps(china_office().to_dict()), encoding="utf-8")
    assert main(["validate", str(tmp_path / "cal.json"), "--kind", "calendar"]) == 0
    assert "valid business calendar (Asia/Shanghai)" in capsys.readouterr().out
    (tmp_path / "badcal.json").write_text(json.dumps(
        {"timezone": "Asia/Shanghai", "weekly": {"mon": [["25:00", "18:00"]], "xyz": []},
         "bogus": 1}), encoding="utf-8")
    assert main(["validate", str(tmp_path / "badcal.json")]) == 1
    out = capsys.readouterr().out
    assert "3 problems" in out and "'bogus'" in out and "'xyz'" in out and "25:00" in out
    # a well-shaped calendar with a semantic problem (an empty interval)
    (tmp_path / "cal2.json").write_text(json.dumps(
        {"timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "09:00"]]}}),
        encoding="utf-8")
    assert main(["validate", str(tmp_path / "cal2.json")]) == 1
    assert "1 problem:" in capsys.readouterr().out
    # a definition file draws like a built-in process
    assert main(["diagram", str(tmp_path / "def.json")]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2")
