"""``servicewf validate`` checks SLA policy files too (issue #15, #18): every problem at once,
with its path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicewf.cli import main
from servicewf.processes.presets import PRESETS
from servicewf.sla import policy_to_dict


def test_a_valid_policy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(policy_to_dict(PRESETS["incident.servicenow"]()),
                               ensure_ascii=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert ("valid SLA policy 'incident.servicenow' for process 'incident' (3 clocks)"
            in capsys.readouterr().out)
    assert main(["validate", str(path), "--kind", "policy"]) == 0


def test_an_invalid_policy_file_lists_every_problem(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = policy_to_dict(PRESETS["complaint.telecom"]())
    data["clocks"][0]["early"] = "sometimes"
    data["clocks"][1]["warn"] = {"fraction": "half"}
    data["bogus"] = 1
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "invalid SLA policy 'complaint.telecom', 3 problems" in out
    assert "clocks/0/early" in out and "clocks/1/warn" in out and "'bogus'" in out
