"""The cases admin: read-only fields, triggers through the engine with the user's role, every
attempt in Django's admin log, permissions kept; and ``manage.py servicewf_worker``."""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

import pytest

from servicewf import Actor

from .django_env import CLOCK, django_setup

_n = itertools.count()


@pytest.fixture
def site() -> Any:
    django_setup()
    from django.contrib.auth.models import Group, Permission, User
    from django.test import Client

    from servicewf.contrib.django import get_engine

    n = next(_n)
    agent_group, _ = Group.objects.get_or_create(name="agent")
    boss_group, _ = Group.objects.get_or_create(name="supervisor")
    perms = Permission.objects.filter(content_type__app_label="servicewf")
    view_only = Permission.objects.filter(codename="view_caserecord")

    def user(name: str, groups: list[Any], permissions: Any) -> Client:
        u = User.objects.create_user(f"{name}{n}", password="x", is_staff=True)
        u.groups.set(groups)
        u.user_permissions.set(permissions)
        client = Client()
        client.force_login(u)
        return client

    engine = get_engine()
    case = engine.open("ticket", actor=Actor("crm", "agent"), case_id=f"adm-{n}")
    return {
        "engine": engine, "case": case,
        "agent": user("alice", [agent_group], perms),
        "boss": user("bob", [boss_group], perms),
        "viewer": user("vera", [agent_group], view_only),
        "roleless": user("rolf", [], perms),
    }


def change_url(case_id: str) -> str:
    return f"/admin/servicewf/caserecord/{case_id}/change/"


def fire_url(case_id: str) -> str:
    return f"/admin/servicewf/caserecord/{case_id}/fire/"


def log_messages(case_id: str) -> list[str]:
    from django.contrib.admin.models import LogEntry

    return [e.change_message for e in LogEntry.objects.filter(object_id=case_id)
            .order_by("action_time", "id")]


def test_the_change_page_shows_state_history_and_the_users_triggers(site):
    page = site["agent"].get(change_url(site["case"].id))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acting as alice" in html and "(agent)" in html
    assert 'value="register"' in html  # allowed for an agent in 'received'
    assert 'value="finish"' not in html  # not allowed here: listed without a button
    assert "servicewf-history" in html and "opened" in html
    assert 'name="_save"' not in html  # no save button: nothing is edited as a field
    listing = site["agent"].get("/admin/servicewf/caserecord/")
    assert site["case"].id in listing.content.decode()


def test_firing_goes_through_the_engine_with_the_users_role_and_is_logged(site):
    cid = site["case"].id
    answer = site["agent"].post(fire_url(cid), {"trigger": "register",
                                                "data": '{"request_type": "repair"}',
                                                "comment": "from the admin"})
    assert answer.status_code == 302
    engine = site["engine"]
    case = engine.get(cid)
    assert (case.state, case.version, case.data["request_type"]) == ("registered", 2, "repair")
    last = engine.history(cid)[-1]
    assert (last.actor_id, last.role, last.trigger, last.comment) == (
        f"alice{cid.split('-')[1]}", "agent", "register", "from the admin")
    assert log_messages(cid) == ["fired 'register' as agent: now 'registered' (event 2)"]


def test_a_refusal_is_shown_logged_and_changes_nothing(site):
    cid = site["case"].id
    engine = site["engine"]
    agent = Actor("crm", "agent")
    engine.fire(cid, "register", actor=agent, data={"request_type": "x"})
    engine.fire(cid, "plan", actor=agent, data={"plan": "p", "approved": True})
    engine.fire(cid, "start", actor=agent)
    answer = site["agent"].post(fire_url(cid), {"trigger": "finish", "data": "{}"},
                                follow=True)
    html = answer.content.decode()
    assert "may not fire" in html and "supervisor" in html  # the engine's own refusal
    assert engine.get(cid).state == "in_progress"
    assert log_messages(cid) == ["refused 'finish' as agent: RoleNotPermitted"]
    # The supervisor may.
    site["boss"].post(fire_url(cid), {"trigger": "finish", "data": "{}"})
    assert engine.get(cid).state == "done"


def test_required_data_and_bad_json_are_refused(site):
    cid = site["case"].id
    page = site["agent"].post(fire_url(cid), {"trigger": "register", "data": "{}"},
                              follow=True)
    assert "request_type" in page.content.decode()
    page = site["agent"].post(fire_url(cid), {"trigger": "register", "data": "[1]"},
                              follow=True)
    assert "JSON object" in page.content.decode()
    assert site["engine"].get(cid).version == 1
    assert log_messages(cid) == ["refused 'register' as agent: DataMissing",
                                 "refused 'register': data is not a JSON object"]


def test_permissions_are_kept(site):
    cid = site["case"].id
    assert site["viewer"].post(fire_url(cid), {"trigger": "register", "data": "{}"}
                               ).status_code == 403
    assert site["viewer"].get(change_url(cid)).status_code == 200
    assert site["agent"].get(fire_url(cid)).status_code == 403  # GET never fires
    assert site["agent"].get("/admin/servicewf/caserecord/add/").status_code == 403
    assert site["agent"].post(f"/admin/servicewf/caserecord/{cid}/delete/",
                              {"post": "yes"}).status_code == 403
    # A raw save of the change form changes nothing.
    site["agent"].post(change_url(cid), {"state": "done", "version": 9})
    assert site["engine"].get(cid).version == 1
    # Without a role, nothing fires.
    page = site["roleless"].post(fire_url(cid), {"trigger": "register",
                                                 "data": '{"request_type": "x"}'}, follow=True)
    assert "no workflow role" in page.content.decode()
    assert site["engine"].get(cid).version == 1
    assert log_messages(cid)[-1] == "refused 'register': no workflow role"


def test_the_model_refuses_raw_saves_and_deletes(site):
    from servicewf.contrib.django.models import CaseRecord

    record = CaseRecord.objects.get(pk=site["case"].id)
    with pytest.raises(TypeError, match="engine"):
        record.save()
    with pytest.raises(TypeError, match="audit"):
        record.delete()


def test_the_sla_column_reads_the_clocks(site):
    engine = site["engine"]
    case = engine.open("complaint", actor=Actor("crm", "agent"), case_id=f"sla-{next(_n)}",
                       data={"channel": "phone", "customer_ref": "C-1", "content": "late"})
    listing = site["agent"].get("/admin/servicewf/caserecord/?process=complaint")
    html = listing.content.decode()
    assert case.id in html
    assert re.search(r"h left|breached", html)


def test_the_worker_command_sweeps_once(site):
    from django.core.management import call_command

    out = io.StringIO()
    CLOCK.advance(days=40)
    call_command("servicewf_worker", "--once", stdout=out)
    assert "1 sweep(s)" in out.getvalue()
