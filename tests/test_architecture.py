"""The direction of imports documented in docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "servicewf"

CORE = ["errors", "clock", "_frozen", "plain", "case", "events", "context", "definition", "hooks",
        "storage.base",
        "storage.memory", "storage", "engine"]
OUTER = ["storage.sql", "storage.schema", "storage._codec", "cli", "demo", "worker", "processes",
         "sla", "calendar"]

# module prefix -> prefixes it must never import
FORBIDDEN = {
    **{m: OUTER for m in CORE},
    "diagrams": ["engine", *OUTER],
    "calendar": ["engine", "sla", "processes", "storage", "cli", "demo", "worker", "definition"],
    "sla": ["processes", "storage.sql", "cli", "demo", "worker"],
    "processes": ["storage.sql", "cli", "demo", "worker"],
    "storage.sql": ["engine", "sla", "processes", "cli", "demo", "worker"],
}


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def imports_of(path: pathlib.Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("servicewf"):
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


SOURCES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path):
    name = module_name(path)
    bad = sorted(i for i in imports_of(path) for f in rules_for(name)
                 if matches(i, f) and not matches(name, f))
    assert bad == [], f"{name} must not import {bad} (see docs/architecture.md)"


def test_the_rules_catch_a_violation(tmp_path):
    assert rules_for("engine") and "cli" in rules_for("engine")
    assert matches("storage.sql", "storage.sql") and not matches("storage", "storage.sql")
