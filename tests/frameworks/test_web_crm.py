"""The web CRM example (examples/web_crm), end to end: the server started as documented,
exercised over HTTP, and a headless-Chromium screenshot of the inbox."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from servicewf.json import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "examples" / "web_crm" / "serve.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql",
                                                     marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example started as its docs say, on a fresh database (one per module)."""
    tmp_path = tmp_path_factory.mktemp("web_crm")
    port = _free_port()
    if request.param == "sqlite":
        db = ["--db", f"sqlite:///{tmp_path / 'crm.db'}"]
    else:
        dsn, schema = request.getfixturevalue("pg_schema")
        db = ["--db", dsn, "--schema", schema]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, str(SERVE), *db, "--port", str(port),
                             "--seed", "9"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/api/cases", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the server did not start: "
                                     + (tmp_path / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_the_crm_end_to_end(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        inbox = http.get("/", params={"lang": "en"})
        assert inbox.status_code == 200 and "Inbox (9)" in inbox.text
        assert "CP-1000" in inbox.text and "SR-1001" in inbox.text and " left" in inbox.text
        assert "待办案件" in http.get("/").text  # Chinese by default

        cases = http.get("/api/cases").json()
        assert len(cases) == 9
        for case in cases:
            jsonschema.validate(case, SCHEMAS["Case"])

        opened = http.post("/api/cases", json={"process": "complaint", "data": {
            "channel": "email", "customer_ref": "C-77", "content": "发票金额不对"}})
        assert opened.status_code == 201 and opened.json()["state"] == "received"

        page = http.get("/cases/CP-1000", params={"lang": "zh"})
        assert page.status_code == 200 and "处理记录" in page.text and "wang (agent)" in page.text
        detail = http.get("/api/cases/CP-1000").json()
        record = next(o for o in detail["options"] if o["trigger"] == "record")
        assert record["allowed"] and record["requires"]
        assert [e["kind"] for e in detail["history"]] == ["opened"]
        assert {c["name"] for c in detail["clocks"]} >= {"record"}

        # A refusal, in Chinese and English, on the page and in the API; nothing changes.
        refused = http.post("/cases/CP-1000/fire", params={"lang": "zh"},
                            data={"trigger": "record", "data": "{}"})
        assert refused.status_code == 409 and "缺少必填信息" in refused.text
        refused = http.post("/cases/CP-1000/fire", params={"lang": "en"},
                            data={"trigger": "record", "data": "{}"})
        assert "Required information is missing" in refused.text
        api_refusal = http.post("/api/cases/CP-1000/fire", json={"trigger": "record"})
        assert api_refusal.status_code == 409
        body = api_refusal.json()
        jsonschema.validate(body, SCHEMAS["Refusal"])
        assert body["error"] == "DataMissing" and set(body["missing"]) == set(record["requires"])
        assert "缺少必填信息" in body["messages"]["zh"]
        assert http.get("/api/cases/CP-1000").json()["case"]["version"] == 1

        # The agent fires it from the case page with the data it needs.
        data = {field: "王" for field in record["requires"]}
        import json

        done = http.post("/cases/CP-1000/fire", params={"lang": "zh"},
                         data={"trigger": "record", "data": json.dumps(data),
                               "comment": "电话登记"})
        assert done.status_code == 303
        after = http.get("/api/cases/CP-1000").json()
        assert after["case"]["version"] == 2 and after["case"]["state"] == record["dest"]
        assert after["history"][-1]["comment"] == "电话登记"
        assert after["history"][-1]["actor_id"] == "wang"

        schemas = http.get("/openapi.json").json()["components"]["schemas"]
        assert {"Case", "Event", "Refusal", "TriggerOption", "ClockView"} <= set(schemas)


def test_a_screenshot_of_the_inbox(server: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("SERVICEWF_REQUIRE_BROWSER") == "1":
            pytest.fail("SERVICEWF_REQUIRE_BROWSER=1 but Debian's chromium is not installed")
        pytest.skip("no chromium (apt-get install chromium)")
    shot = tmp_path / "inbox.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1100,700",
                    f"{server}/?lang=zh"], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    keep = os.environ.get("SERVICEWF_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "web_crm_inbox.png")
