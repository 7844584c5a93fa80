"""``servicewf export`` and ``servicewf report`` mask for the reader: personal data is masked
unless ``--as-role`` names a role that may see it, and such reads are audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from servicewf.cli import main
from servicewf.privacy import Privacy, Pseudonym
from servicewf.privacy.reader import SECRET_ENV
from servicewf.storage.sql import SQLStore

from .support import AGENT, DPO, SECRET, privacy_stack

PHONE_A, PHONE_B = "13812345678", "13998765432"
REF_A, REF_B = "CUST-A-4411", "CUST-B-9902"
FORMATS = ("xes", "csv", "ocel-json", "ocel-sqlite")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite database with two subjects' cases, one of them erased."""
    path = tmp_path / "cases.db"
    store = SQLStore.sqlite(path)
    try:
        stack, privacy, clock = privacy_stack(store)
        for ref, phone in ((REF_A, PHONE_A), (REF_B, PHONE_B)):
            c = privacy.open(stack.engine, "service_request", actor=AGENT, data={
                "channel": "phone", "customer_ref": ref, "description": f"call {phone}"})
            clock.advance(minutes=10)
            privacy.fire(stack.engine, c, "register", actor=AGENT, data={
                "request_type": "repair", "need": "door", "contact": phone})
        privacy.erase(stack.engine, REF_A, actor=DPO, reason="PIPL Art. 47 request")
    finally:
        store.close()
    return f"sqlite:///{path}"


def _read(path: Path) -> str:
    if path.name.endswith("sqlite"):
        return path.read_bytes().decode("utf-8", "replace")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_masks_personal_data_by_default(db, tmp_path, fmt, capsys, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    out = tmp_path / f"log.{fmt}"
    assert main(["export", "--db", db, "--format", fmt, "--out", str(out),
                 "--no-progress"]) == 0
    text = _read(out)
    for value in (PHONE_B, REF_B, "sealed:v1:"):
        assert value not in text, (fmt, value)
    assert "de-identified" in capsys.readouterr().out
    store = SQLStore(db)
    try:
        privacy = Privacy(store, _clock(), secret=SECRET)
        assert privacy.access_log.records() == []  # nothing unmasked was read
    finally:
        store.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_role_that_may_see_personal_data_gets_it_and_the_read_is_audited(
        db, tmp_path, fmt, capsys, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    out = tmp_path / f"log.{fmt}"
    assert main(["export", "--db", db, "--format", fmt, "--out", str(out), "--no-progress",
                 "--as-role", "account_manager", "--as-actor", "am-7",
                 "--purpose", "complaint review"]) == 0
    text = _read(out)
    assert PHONE_B in text and REF_B in text
    assert PHONE_A not in text and REF_A not in text  # erased stays erased
    assert "identified for role 'account_manager'" in capsys.readouterr().out
    store = SQLStore(db)
    try:
        records = Privacy(store, _clock(), secret=SECRET).access_log.records(actor_id="am-7")
    finally:
        store.close()
    assert records and {r.purpose for r in records} == {"complaint review"}
    assert {r.role for r in records} == {"account_manager"}
    assert all("contact" in r.fields or "customer_ref" in r.fields for r in records)


def test_finance_sees_pseudonyms_under_the_deployments_secret(db, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    out = tmp_path / "log.csv"
    assert main(["export", "--db", db, "--format", "csv", "--out", str(out), "--no-progress",
                 "--as-role", "finance"]) == 0
    # the same pseudonym the application's own masks give: rows link across outputs
    assert Pseudonym().apply(REF_B, secret=SECRET) in out.read_text(encoding="utf-8")


def test_a_short_secret_is_refused_in_one_line(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SECRET_ENV, "short")
    assert main(["export", "--db", db, "--format", "csv", "--out",
                 str(tmp_path / "x.csv"), "--no-progress"]) == 2
    assert SECRET_ENV in capsys.readouterr().err


def test_report_is_labelled_for_its_reader(db, tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    out = tmp_path / "kpi.json"
    html = tmp_path / "kpi.html"
    assert main(["report", "--db", db, "--to", "2026-03-31", "--tz", "Asia/Shanghai",
                 "--json", str(out), "--html", str(html)]) == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["masking"].startswith("de-identified") and body["cases"] == 2
    assert "de-identified" in html.read_text(encoding="utf-8")
    assert main(["report", "--db", db, "--to", "2026-03-31", "--tz", "Asia/Shanghai",
                 "--json", str(out), "--as-role", "dpo"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["masking"] == "identified"


@pytest.mark.parametrize("argv", [
    ["export", "--format", "csv", "--out", "{tmp}/x.csv", "--no-progress"],
    ["report", "--to", "2026-03-31", "--tz", "Asia/Shanghai"],
])
def test_a_fresh_process_reads_a_database_holding_erasure_events(db, tmp_path, argv):
    # Before: the commands never imported servicewf.privacy, so a database with
    # personal_data_erased events failed to load in a fresh process (unknown event kind).
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop(SECRET_ENV, None)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    done = subprocess.run([sys.executable, "-m", "servicewf", args[0], "--db", db, *args[1:]],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert PHONE_B not in done.stdout + done.stderr


def _clock():  # type: ignore[no-untyped-def]
    from servicewf import FrozenClock

    from .support import T0

    return FrozenClock(T0)


def test_a_secret_of_sixteen_bytes_is_enough(db, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "s" * 16)
    assert main(["export", "--db", db, "--format", "csv", "--out", str(tmp_path / "x.csv"),
                 "--no-progress"]) == 0


@pytest.mark.parametrize("login", ["wang", None])
def test_the_reader_is_the_login_name_unless_named(db, tmp_path, monkeypatch, login):
    import getpass

    def getuser() -> str:
        if login is None:
            raise KeyError("no passwd entry")  # a container without a login name
        return login

    monkeypatch.setattr(getpass, "getuser", getuser)
    assert main(["export", "--db", db, "--format", "csv", "--out", str(tmp_path / "x.csv"),
                 "--no-progress", "--as-role", "agent"]) == 0
    store = SQLStore(db)
    try:
        records = Privacy(store, _clock(), secret=SECRET).access_log.records()
    finally:
        store.close()
    assert records and {r.actor_id for r in records} == {login or "cli"}
    assert {r.purpose for r in records} == {"export"}
