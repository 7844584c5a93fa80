"""The registry, the labels, the documentation pages and the examples."""

from __future__ import annotations

import importlib.util
import io
import re
import runpy
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from servicewf import UnknownTrigger
from servicewf.processes import PROCESSES, builtin_definitions, builtin_registry, process_info

ROOT = Path(__file__).resolve().parents[2]


def test_registry_holds_every_catalogue_process() -> None:
    names = [d.name for d in builtin_definitions()]
    assert names == ["service_request", "complaint", "consultation", "service_problem",
                     "incident", "after_sales", "improvement_action", "survey_campaign",
                     "obligation", "contract", "contract_change", "customer_data_change",
                     "access_grant"]
    registry = builtin_registry()
    assert len(registry) == 13 and registry.get("complaint") is builtin_definitions()[1]
    with pytest.raises(LookupError):
        process_info("nope")


def test_every_state_and_transition_has_three_labels() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    for d in builtin_definitions():
        assert d.labels and d.labels.zh_hant and d.labels.zh_hans
        for item in (*d.states, *d.transitions):
            labels = item.labels
            assert labels is not None and labels.en, item
            assert han.search(labels.zh_hant) and han.search(labels.zh_hans), item
        for g in d.guards.values():
            assert g.explain and g.rule, g.name


def test_simplified_labels_use_no_traditional_only_characters() -> None:
    traditional_only = set("電話郵網應門媒體現機產務質態設價費誤統術題資員響應處結歸檔訪確認擬執驗"
                           "饋記錄滿關級發報復盤劃實識據轉辦簽蓋審請協議權銷檢絡頻連續")
    for d in builtin_definitions():
        for item in (*d.states, *d.transitions):
            assert item.labels is not None
            assert not set(item.labels.zh_hans) & traditional_only, item.labels


def test_gate_rules_cite_rule_and_seed() -> None:
    cited = {g.rule.split(" ")[0] for d in builtin_definitions() for g in d.guards.values()
             if g.rule and g.rule.startswith("C")}
    assert cited >= {f"C{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)}


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_generate",
                                                  ROOT / "docs/processes/generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pages_equal_generated_pages() -> None:
    pages = _generator().pages()
    assert set(pages) == {"index.md", *(f"{n}.md" for n in PROCESSES)}
    for filename, text in pages.items():
        committed = (ROOT / "docs/processes" / filename).read_text(encoding="utf-8")
        assert committed == text, f"{filename} is stale: run python docs/processes/generate.py"


def test_page_shows_diagram_tables_clocks_rules() -> None:
    page = _generator().pages()["complaint.md"]
    for needle in ("```mermaid", "| `feedback_given` | 已反饋 | 已反馈 | Feedback given |",
                   "緊急 2 / 一般 3 / 重要 5", "C11 (004 §6)", "```python"):
        assert needle in page


@pytest.mark.parametrize("name", list(PROCESSES))
def test_documented_examples_run(name: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        exec(PROCESSES[name].example, {})
    expected = re.findall(r"#\s*(.+)$", PROCESSES[name].example.splitlines()[-1])[0].strip()
    assert out.getvalue().strip() == expected


@pytest.mark.parametrize("script", ["service_request.py", "complaint.py", "after_sales.py"])
def test_example_scripts_run(script: str) -> None:
    out = io.StringIO()
    argv = sys.argv
    try:
        sys.argv = [script]
        with redirect_stdout(out):
            runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
    finally:
        sys.argv = argv
    text = out.getvalue()
    assert "refused" in text and text.strip().splitlines()[-1].startswith("final state:")


def test_unknown_trigger_names_the_known_ones() -> None:
    from tests.processes.support import Harness

    h = Harness()
    case = h.open("consultation", channel="phone", customer_ref="c", question="q")
    with pytest.raises(UnknownTrigger, match="answer"):
        h.fire(case, "explode")
