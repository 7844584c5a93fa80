"""The HTML report: self-contained, no script, charts with text alternatives beside their
tables, three languages; it renders in headless Chromium (mandatory in CI); the report
command writes it."""

from __future__ import annotations

import html.parser
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pendulum
import pytest

from servicewf.cli import main
from servicewf.demo import TZ, run_demo
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.reporting import from_store, render_html
from servicewf.storage.sql import SQLStore

REQUIRE_BROWSER = os.environ.get("SERVICEWF_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pendulum.DateTime]:
    path = tmp_path_factory.mktemp("html") / "demo.db"
    summary = run_demo(cases=120, seed=2026, days=10, db=f"sqlite:///{path}")
    return path, summary.simulated_to


@pytest.fixture(scope="module")
def pages(demo: tuple[Path, pendulum.DateTime]) -> dict[str, str]:
    path, end = demo
    registry = builtin_registry()
    store = SQLStore(f"sqlite:///{path}")
    try:
        report = from_store(store, sla=default_sla(registry=registry), registry=registry,
                            as_of=end, tz=TZ)
    finally:
        store.close()
    return {lang: render_html(report, lang=lang, registry=registry)
            for lang in ("en", "zh_hans", "zh_hant")}


class _Outline(html.parser.HTMLParser):
    """Tags, attributes and the text inside <title>/<desc> of each svg."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.stack.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1]:
            self.text[self.stack[-1]] = self.text.get(self.stack[-1], "") + data


def _outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("lang", ["en", "zh_hans", "zh_hant"])
def test_the_page_is_self_contained_and_accessible(pages: dict[str, str], lang: str) -> None:
    page = pages[lang]
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "fetches nothing"
    outline = _outline(page)
    tags = [t for t, _ in outline.tags]
    assert tags.count("svg") >= 8 and tags.count("table") >= 10
    for tag, attrs in outline.tags:
        if tag == "svg":
            assert attrs.get("role") == "img"
            title_id, desc_id = (attrs.get("aria-labelledby") or "").split()
            assert outline.text.get(title_id, "").strip() and outline.text.get(desc_id, "")
    # every chart sits beside its data table
    assert page.count('<div class="pair"><figure><svg') == page.count("</svg></figure><table")
    # colour is never the only cue: bars carry a pattern and their value as text
    assert "url(#p" in page and "%</text>" in page
    html_lang = {"en": "en", "zh_hans": "zh-Hans", "zh_hant": "zh-Hant"}[lang]
    assert f'<html lang="{html_lang}">' in page
    assert "@media print" in page  # printable: every period shown, filter hidden


def test_the_languages_differ_and_the_definitions_are_printed(pages: dict[str, str]) -> None:
    assert "SLA attainment" in pages["en"] and "達成率" in pages["zh_hant"]
    assert "达成率" in pages["zh_hans"]
    for lang, page in pages.items():
        assert page.count("(version 1)" if lang == "en" else "(版本 1)") >= 9


def test_the_period_filter_works_without_script(pages: dict[str, str]) -> None:
    page = pages["en"]
    radios = re.findall(r'<input class="pf" type="radio" name="pf" id="(pf\d+)"', page)
    assert radios[0] == "pf0" and len(radios) >= 3
    for rid in radios[1:]:
        n = rid.removeprefix("pf")
        assert f"#{rid}:checked~table tr.pr:not(.pr{n}){{display:none}}" in page
        assert f'class="pr pr{n}"' in page
        assert f'<label for="{rid}">' in page


def test_no_personal_data_reaches_the_report(demo: tuple[Path, pendulum.DateTime],
                                             pages: dict[str, str]) -> None:
    path, _ = demo
    store = SQLStore(f"sqlite:///{path}")
    try:
        personal = {str(e.event.data[k]) for e in store.read_log()
                    for k in ("customer_ref", "content", "description", "contact", "subject")
                    if k in e.event.data}
        actors = {e.event.actor_id for e in store.read_log() if "." in e.event.actor_id}
    finally:
        store.close()
    assert personal and actors  # customer references and texts, staff names
    for page in pages.values():
        leaked = [p for p in personal | actors if p in page]
        assert not leaked


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> str:
    found = _chromium()
    if found is None:
        if REQUIRE_BROWSER:
            pytest.fail("Chromium is required (CI or SERVICEWF_REQUIRE_BROWSER=1) but not "
                        "installed: apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return found


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("lang", ["en", "zh_hant"])
def test_chromium_renders_the_charts_and_tables(browser: str, pages: dict[str, str],
                                                tmp_path: Path, lang: str) -> None:
    from PIL import Image

    page = tmp_path / f"report-{lang}.html"
    page.write_text(pages[lang], encoding="utf-8")
    dom = _headless(browser, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == pages[lang].count("<svg")
    assert dom.stdout.count("<table") == pages[lang].count("<table")
    assert "<script" not in dom.stdout
    shot = tmp_path / f"report-{lang}.png"
    done = _headless(browser, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1280, 2400)
    pixels: Any = image.getdata()
    bar = sum(1 for p in pixels if abs(p[0] - 31) < 12 and abs(p[1] - 78) < 12
              and abs(p[2] - 121) < 12)  # the first series' colour (#1f4e79)
    ink = sum(1 for p in pixels if sum(p) < 200)
    assert bar > 2000, "the attainment bars were drawn"
    assert ink > 20000, "text and table borders were drawn"


def test_the_report_command(demo: tuple[Path, pendulum.DateTime], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = demo
    out_html, out_json = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", "--db", f"sqlite:///{path}", "--from", "2026-09-14", "--to",
                 "2026-09-20", "--lang", "zh_hans", "--html", str(out_html), "--json",
                 str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "各时钟 SLA 达成率" in out and f"wrote {out_html}" in out
    page = out_html.read_text(encoding="utf-8")
    assert "<script" not in page and "2026-09-14 00:00" in page and "2026-09-21 00:00" in page
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["from"].startswith("2026-09-13T16:00") and data["tz"] == "Asia/Shanghai"
    assert data["definitions"]["attainment"]["version"] == 1
    assert {r["by"] for r in data["kpis"]["attainment"]} == {"all", "level", "tier", "period"}
    assert data["kpis"]["cycles"], "--json carries the per-cycle rows"


@pytest.mark.parametrize(("argv", "says"), [
    (["--from", "14/09/2026"], "--from '14/09/2026': expected a date as YYYY-MM-DD"),
    (["--from", "2026-09-20", "--to", "2026-09-14"], "--from must be a day before --to"),
    (["--tz", "Mars/Olympus"], "unknown time zone"),
])
def test_the_report_command_refuses_bad_options_in_one_line(
        demo: tuple[Path, pendulum.DateTime], argv: list[str], says: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = demo
    assert main(["report", "--db", f"sqlite:///{path}", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_the_report_command_needs_a_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--db", "demo.db"]) == 2
    assert "use sqlite:///demo.db" in capsys.readouterr().err


def test_every_kpi_definition_has_its_page_word_for_word() -> None:
    from servicewf.reporting import DEFINITIONS

    docs = Path(__file__).resolve().parents[2] / "docs"
    index = (docs / "reporting.md").read_text(encoding="utf-8")
    pages = sorted(p.stem for p in (docs / "kpis").glob("*.md"))
    assert pages == sorted(DEFINITIONS)  # a page per KPI, and no page for a KPI that left
    for key, d in DEFINITIONS.items():
        assert f"(kpis/{key}.md)" in index
        page = " ".join((docs / "kpis" / f"{key}.md").read_text(encoding="utf-8").split())
        assert f"(`{key}`, version {d.version})" in page
        for lang in ("en", "zh_hans", "zh_hant"):
            assert d.title[lang] and d.title[lang] in page, (key, lang)
            assert " ".join(d.text[lang].split()) in page, (key, lang)
