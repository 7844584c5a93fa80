"""tools/mutate.py on a tiny synthetic package: a weak test lets mutants survive, a strong
one kills them all, equivalents are not run, and the working tree is never touched."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "mutate.py"

MODULE = "def is_adult(age):\n    return age >= 18\n"
WEAK = "from tinypkg.ages import is_adult\n\n\ndef test_adult():\n    assert is_adult(40)\n"
STRONG = ("from tinypkg.ages import is_adult\n\n\ndef test_boundary():\n"
          "    assert is_adult(18) is True\n    assert is_adult(17) is False\n")


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_tool"] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


def project(tmp_path: Path, test: str) -> Path:
    (tmp_path / "src" / "tinypkg").mkdir(parents=True)
    (tmp_path / "src" / "tinypkg" / "__init__.py").write_text("")
    (tmp_path / "src" / "tinypkg" / "ages.py").write_text(MODULE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ages.py").write_text(test)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def mutate(where: Path, *extra: str) -> dict:
    out = where / "report.json"
    done = subprocess.run(
        [sys.executable, str(TOOL), "src/tinypkg/ages.py", "--tests", "tests/test_ages.py",
         "--json", str(out), "--equivalents", str(where / "equivalents.txt"), *extra],
        cwd=where, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (where / "src" / "tinypkg" / "ages.py").read_text() == MODULE  # untouched
    assert "MUTATION tinypkg.ages " in done.stdout
    return json.loads(out.read_text())


def by_op(report: dict) -> dict[str, str]:
    return {m["op"]: m["status"] for m in report["mutants"]}


def test_a_weak_test_lets_mutants_survive(tmp_path: Path) -> None:
    where = project(tmp_path, WEAK)
    (where / "equivalents.txt").write_text(
        "# comment\ntinypkg.ages:2:const_dec  pretend 17 and 18 cannot be told apart\n")
    report = mutate(where)
    assert by_op(report) == {"compare": "survived", "const_inc": "survived",
                             "const_dec": "equivalent", "return_none": "killed"}
    assert report["scored"] == 3 and report["score"] == 1 / 3
    survivor = next(m for m in report["mutants"] if m["op"] == "compare")
    assert survivor["line"] == 2
    assert survivor["diff"] == "-    return age >= 18\n+    return age > 18"


def test_a_strong_test_kills_every_mutant(tmp_path: Path) -> None:
    report = mutate(project(tmp_path, STRONG), "--sample", "3", "--seed", "5")
    assert len(report["mutants"]) == 3 and report["total_mutants"] == 4
    assert set(by_op(report).values()) == {"killed"}
    assert report["score"] == 1.0
    assert all(m["killed_by"].startswith("FAILED") for m in report["mutants"])


def test_every_operator_makes_a_module_that_compiles() -> None:
    tool = load_tool()
    source = (
        "def f(xs, y):\n"
        "    if xs and y is None:\n"
        "        raise ValueError(1.5)\n"
        "    while y < 3 or y in xs:\n"
        "        print(y)\n"
        "        y = y + 1 if True else 0\n"
        "    return y\n"
        "if __name__ == '__main__':\n"
        "    f([], 0)  # pragma: no mutate\n"
        "def g(a: int = 2) -> 'list[int]':\n"
        "    return None\n"
    )
    mutants = tool.find_mutants(source)
    ops = {m.op for m in mutants}
    assert ops == {"compare", "negate_cond", "bool_op", "delete_call", "delete_raise",
                   "const_inc", "const_dec", "bool_const", "return_none"}
    # The __main__ guard, the pragma line and the annotations are left alone; g's default is not.
    assert {(m.line, m.op) for m in mutants if m.line >= 8} == {(10, "const_inc"),
                                                                (10, "const_dec")}
    original = ast.unparse(ast.parse(source))
    for m in mutants:
        mutated = tool.apply(source, m)
        compile(mutated, "<mutant>", "exec")
        assert mutated != original, m
        assert tool.diff(original, mutated).startswith("-"), m
