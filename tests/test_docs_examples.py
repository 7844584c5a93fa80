"""Every ```python block of the documentation runs.

The blocks of README.md and of every page under docs/ (the generated process pages included)
are executed, page by page: the blocks of one page run in order in one shared namespace, so a
page may build an example up step by step; every page starts from a fresh namespace, in a
fresh temporary working directory (a block that opens ``cases.db`` writes it there).

A block that cannot run here (it needs a PostgreSQL server, say) is fenced ```python-norun
instead; it is skipped, but only if it is listed in :data:`NORUN` below, so every skip is a
decision recorded in this file. Keep the list short: prefer a block that runs.

The pages show refusals as ``try: ... except SomeRefusal as refused: ...``. Such a block would
pass silently if the refusal never came, so every ``try`` without an ``else`` gets one that
fails: a documented refusal must happen.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import traceback
from pathlib import Path

import pytest

from servicewf.storage.base import Store

ROOT = Path(__file__).resolve().parents[1]

NORUN: dict[str, tuple[str, ...]] = {
    # page -> the first line (without its comment) of each ```python-norun block on it
    "docs/storage.md": (
        'store = SQLStore("postgresql://app@db:5432/crm")',  # needs a PostgreSQL server
    ),
    # Django is configured once per process (the tests' configuration); the same code runs
    # in tests/frameworks/test_django_store.py.
    "docs/django.md": ("from django.db import transaction",),
}
"""The blocks the test skips on purpose, by page and first line."""

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


def pages() -> list[Path]:
    """README.md and every Markdown page of the documentation, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(text: str) -> list[tuple[str, int, str]]:
    """Every fenced block of ``text``: (info string, line number of its first line, code).

    An unclosed fence is an error (Markdown would swallow the rest of the page into it)."""
    found: list[tuple[str, int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        body: list[str] = []
        start = i + 2
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (closing and closing["fence"][0] == fence[0]
                    and len(closing["fence"]) >= len(fence) and not closing["info"].strip()):
                break
            body.append(lines[i])
            i += 1
        else:
            raise AssertionError(f"the fence opened on line {start - 1} is never closed")
        found.append((info, start, "\n".join(body) + "\n"))
        i += 1
    return found


def _first_line(code: str) -> str:
    """How :data:`NORUN` names a block: its first line, without a trailing comment."""
    first = code.splitlines()[0] if code.strip() else ""
    return first.split("  #")[0].strip()


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _language(info: str) -> str:
    return info.split()[0].lower() if info else ""


PAGES_WITH_PYTHON = [p for p in pages()
                     if any(_language(i).startswith("python") for i, _, _ in
                            blocks(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=_name)
def test_python_blocks_of_the_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = _name(page)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    skipped: list[str] = []
    try:
        for info, line, code in blocks(page.read_text(encoding="utf-8")):
            language = _language(info)
            if language == "python-norun":
                skipped.append(_first_line(code))
            elif language == "python":
                _run(code, namespace, f"{name}:{line}")
    finally:
        _close_stores(namespace)
    assert tuple(skipped) == NORUN.get(name, ()), (
        f"{name}: the python-norun blocks {skipped} differ from the list in NORUN; make the "
        "block runnable, or record the skip there")


class _RefusalExpected(ast.NodeTransformer):
    """Give every ``try``/``except`` without an ``else`` one that fails: the refusal the
    page shows must happen."""

    def visit_Try(self, node: ast.Try) -> ast.Try:
        self.generic_visit(node)
        if node.handlers and not node.orelse and not node.finalbody:
            caught = ", ".join(ast.unparse(h.type) if h.type else "an exception"
                               for h in node.handlers)
            fail = ast.parse(f"raise AssertionError({f'expected {caught}, none was raised'!r})")
            node.orelse = [ast.copy_location(fail.body[0], node.body[-1])]
            ast.fix_missing_locations(node)
        return node


def _run(code: str, namespace: dict[str, object], where: str) -> None:
    """Execute one block in the page's namespace; a failure names the page and line."""
    try:
        tree = _RefusalExpected().visit(ast.parse(code, where))
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(tree, where, "exec"), namespace)
    except Exception as exc:  # report the page and line, and the traceback into the block
        detail = "".join(traceback.format_exception(exc, chain=False)[-6:])
        pytest.fail(f"{where}: the python block starting on this line raised:\n{detail}",
                    pytrace=False)


def _close_stores(namespace: dict[str, object]) -> None:
    """Close the stores a page opened (SQLite files in the temporary directory)."""
    for value in namespace.values():
        if isinstance(value, Store):
            value.close()


def test_every_norun_skip_is_on_its_page() -> None:
    by_name = {_name(p): p for p in pages()}
    for name, firsts in NORUN.items():
        assert name in by_name, f"NORUN names {name}, which is not a documentation page"
        found = tuple(_first_line(code) for info, _, code in
                      blocks(by_name[name].read_text(encoding="utf-8"))
                      if _language(info) == "python-norun")
        assert found == firsts, f"{name}: NORUN lists {firsts}, the page has {found}"


def test_the_block_finder_sees_every_fence() -> None:
    text = "a\n```python\nx = 1\n```\n\n````sh\n```\nnot a fence\n````\n~~~python-norun\ny\n~~~\n"
    assert blocks(text) == [("python", 3, "x = 1\n"), ("sh", 7, "```\nnot a fence\n"),
                            ("python-norun", 11, "y\n")]
    with pytest.raises(AssertionError, match="never closed"):
        blocks("```python\nx = 1\n")


def test_a_documented_refusal_must_happen() -> None:
    namespace: dict[str, object] = {}
    with pytest.raises(pytest.fail.Exception, match="expected ValueError, none was raised"):
        _run("try:\n    int('1')\nexcept ValueError:\n    pass\n", namespace, "page.md:1")
    _run("try:\n    int('x')\nexcept ValueError:\n    caught = True\n", namespace, "page.md:1")
    assert namespace["caught"] is True


def test_the_documentation_has_python_blocks() -> None:
    names = {_name(p) for p in PAGES_WITH_PYTHON}
    assert {"README.md", "docs/engine.md", "docs/storage.md", "docs/definitions.md",
            "docs/processes/complaint.md"} <= names
