"""The direction of imports documented in docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "servicewf"

CORE = ["errors", "clock", "_gc", "_trusted", "_frozen", "plain", "case", "events", "context",
        "definition", "hooks", "storage.base", "storage.memory", "storage", "engine", "json"]
OUTER = ["storage.sql", "storage.schema", "storage._codec", "cli", "demo", "worker", "processes",
         "sla", "calendar", "outbox", "explain", "interop", "reporting", "compliance", "testing",
         "scheduler", "metrics", "privacy", "aio", "contrib", "queues"]

# module prefix -> prefixes it must never import
FORBIDDEN = {
    **{m: OUTER for m in CORE},
    "diagrams": ["engine", *OUTER],
    "explain": ["engine", *OUTER],
    "calendar": ["engine", "sla", "processes", "storage", "cli", "demo", "worker", "definition",
                 "scheduler", "queues"],
    "sla": ["processes", "storage.sql", "cli", "demo", "worker", "outbox", "reporting",
            "compliance", "testing", "queues"],
    "processes": ["storage.sql", "cli", "demo", "worker", "outbox", "reporting", "compliance",
                  "testing", "queues"],
    "storage.sql": ["engine", "sla", "processes", "cli", "demo", "worker", "outbox", "queues"],
    # The dispatcher delivers what stores hold: it needs neither the engine nor a backend.
    "outbox": ["engine", "sla", "processes", "storage.sql", "cli", "demo", "worker",
               "scheduler", "queues"],
    # History import/export sits above the engine and the stores' interface; only its own
    # cli module is imported by the CLI. Its writers know privacy's masking hook by its
    # shape (export.DataMask): privacy's cryptography is an optional extra.
    "interop": ["cli", "demo", "worker", "outbox", "processes", "privacy"],
    # Its sub-commands reuse the CLI's checks and may run the built-in processes.
    "interop.cli": ["demo", "worker", "outbox"],
    # Reports read what any store holds: never the worker or the outbox; only its command
    # module (reporting.cli) picks a backend and reaches the CLI's shared checks.
    # Likewise the masking hook (kpi.ReportMask): only the command imports privacy, lazily.
    "reporting": ["worker", "outbox", "storage.sql", "demo", "cli", "privacy"],
    "reporting.cli": ["worker", "outbox", "demo"],
    # Compliance reads histories from any store; only its command (compliance.cli) opens a
    # database and reuses the CLI's checks. Nothing below it imports it.
    "compliance": ["storage.sql", "cli", "demo", "worker", "outbox", "testing"],
    "compliance.cli": ["demo", "worker", "outbox", "testing"],
    # The scheduler knows no subsystem: the SLA, obligations, compliance alerts and the
    # outbox relay plug into it (they import it, never the reverse). It may use the outbox
    # (DispatchPass adapts a Dispatcher), never a backend.
    "scheduler": ["sla", "processes", "storage.sql", "cli", "demo", "worker", "metrics"],
    # Metrics read a store and a scheduler's reports; the worker wires them.
    "metrics": ["engine", "sla", "processes", "storage.sql", "cli", "demo", "worker"],
    # Data protection sits above the engine and beside the built-in processes.
    "privacy": ["sla", "processes", "outbox", "cli", "demo", "worker"],
    # asyncio sits on the engine and the SQL store; framework integrations sit on top.
    "aio": ["cli", "demo", "worker", "contrib"],
    "cli": ["contrib"],
    "worker": ["contrib"],
    "demo": ["contrib"],
    # Work queues sit above the engine, the SLA and the processes; only their command-line
    # module reaches the CLI's shared checks.
    "queues": ["cli", "demo", "worker", "outbox"],
    "queues.cli": ["demo", "worker", "outbox"],
}


def module_name(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def imports_of(path: pathlib.Path, root: pathlib.Path = ROOT) -> set[str]:
    """The servicewf modules ``path`` imports (relative imports resolved), without the
    ``servicewf.`` prefix."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            if node.module:
                found.add(".".join([*base, node.module]))
            else:  # from . import x: each name may be a module
                found.update(".".join([*base, a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "servicewf" or node.module.startswith("servicewf.")):
            found.add(node.module.removeprefix("servicewf").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("servicewf."):
                    found.add(alias.name.removeprefix("servicewf."))
    return found


def matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def rules_for(name: str) -> list[str]:
    best = max((p for p in FORBIDDEN if matches(name, p)), key=len, default=None)
    return FORBIDDEN[best] if best else []


def violations(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """The imports of ``path`` (a module under ``root``) that the rules forbid."""
    name = module_name(path, root)
    return sorted({i for i in imports_of(path, root) for f in rules_for(name)
                   if matches(i, f) and not matches(name, f)})


SOURCES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path):
    bad = violations(path)
    assert bad == [], f"{module_name(path)} must not import {bad} (see docs/architecture.md)"


def test_the_rules_catch_a_violation(tmp_path):
    assert rules_for("engine") and "cli" in rules_for("engine")
    assert matches("storage.sql", "storage.sql") and not matches("storage", "storage.sql")


def _module(root: pathlib.Path, rel: str, text: str) -> pathlib.Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_synthetic_module_that_breaks_the_rules_is_reported(tmp_path):
    root = tmp_path / "servicewf"
    engine = _module(root, "engine.py", (
        "import servicewf.sla.fold\n"
        "from servicewf.cli import main\n"
        "from servicewf.errors import ServicewfError\n"  # allowed: core imports core
        "def f():\n    from servicewf.processes import complaint\n"))  # nested too
    assert violations(engine, root) == ["cli", "processes", "sla.fold"]
    # Relative imports are resolved: calendar must not reach the engine or the SLA.
    core = _module(root, "calendar/core.py",
                   "from ..engine import Engine\nfrom . import presets\nfrom ..sla import x\n")
    assert violations(core, root) == ["engine", "sla"]
    init = _module(root, "calendar/__init__.py", "from .core import BusinessCalendar\n"
                   "from ..definition import State\n")
    assert violations(init, root) == ["definition"]
    # A module that keeps to the rules is not reported (the check is not "always red").
    fine = _module(root, "sla/fine.py", "from servicewf.calendar import X\n"
                   "from servicewf.engine import Engine\nfrom .fold import y\n")
    assert violations(fine, root) == []
    # The real package would fail the parametrized test with such a file in it.
    assert "cli" in rules_for("engine") and "engine" in rules_for("calendar.core")
