"""Every benchmark runs in quick mode (``SERVICEWF_BENCH_QUICK=1``): it must not crash and must
print well-formed ``BENCH`` lines; a comparison that could not run says ``SKIP``, never
``PASS``. Quick mode's timings are not asserted (the machine is shared); ``.ci/run`` prints
them. The four take about 15-30 s in all; ``-m "not benchmark"`` leaves them out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py"))
RESULT = re.compile(r"BENCH [a-z0-9_]+ ratio=\d+(\.\d+)? target=\d+(\.\d+)?"
                    r"( [a-z_]+=[0-9.]+(/s)?)* (PASS|FAIL)")
SKIP = re.compile(r"BENCH [a-z0-9_]+ SKIP \S.*")

pytestmark = pytest.mark.benchmark


def run(script: str, *, prelude: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """``benchmarks/<script>`` in quick mode, with this checkout's ``src`` first on the path;
    ``prelude`` runs first in the same interpreter (e.g. to hide pandas)."""
    environ = dict(os.environ, SERVICEWF_BENCH_QUICK="1", **env)
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    path = str(ROOT / "benchmarks" / script)
    code = (f"{prelude}\nimport runpy, sys\nsys.argv = [{path!r}]\n"
            f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
            f"runpy.run_path({path!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=300, check=False)


def bench_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("BENCH ")]


def test_the_benchmarks_are_found() -> None:
    assert {"business_calendar.py", "engine.py", "sla.py", "storage.py"} <= set(BENCHMARKS)


@pytest.mark.parametrize("script", BENCHMARKS)
def test_quick_mode_runs_and_prints_bench_lines(script: str) -> None:
    done = run(script)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = bench_lines(done.stdout)
    assert [ln for ln in lines if RESULT.fullmatch(ln)], done.stdout
    malformed = [ln for ln in lines if not RESULT.fullmatch(ln) and not SKIP.fullmatch(ln)]
    assert not malformed, done.stdout


def test_calendar_without_pandas_is_a_skip_not_a_pass() -> None:
    done = run("business_calendar.py", prelude="import sys; sys.modules['pandas'] = None")
    assert "BENCH calendar_vs_pandas SKIP pandas is not installed" in done.stdout, done.stdout
    assert not [ln for ln in bench_lines(done.stdout)
                if ln.startswith("BENCH calendar_vs_pandas") and ln.endswith("PASS")]
    assert done.returncode != 0


def test_storage_fails_when_postgresql_is_required_but_down() -> None:
    done = run("storage.py", SERVICEWF_REQUIRE_PG="1",
               SERVICEWF_PG_DSN="postgresql://postgres@127.0.0.1:1/test")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BENCH pg_4proc SKIP" in done.stdout and "PASS" not in done.stdout
