"""The cases admin: state, SLA status, history, and the triggers the user may fire.

Nothing is edited as a field: the form is read-only, adding and deleting are off, and a
save is refused. A change is a trigger fired through the engine (:func:`get_engine`) as
``Actor(username, role)``, the role from the ``ROLE`` setting, so the definition's roles,
guards and required data decide, exactly as for any other caller; the engine's event is the
case's audit. Every attempt from the admin, accepted or refused, is also written to Django's
admin log (``LogEntry``), naming the trigger and the outcome (never the data).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from servicewf.case import Actor, Case
from servicewf.contrib.django.conf import get_engine, get_stack, role_for
from servicewf.contrib.django.models import CaseRecord
from servicewf.errors import CommandRefused, ServicewfError

__all__ = ["CaseAdmin", "actor_for"]


def actor_for(request: HttpRequest) -> Actor | None:
    """The actor the request's user fires as (``None`` when the user has no role)."""
    role = role_for(request.user)
    return None if not role else Actor(str(request.user.get_username()), role)


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[CaseRecord]
else:  # ModelAdmin is generic only in the type stubs
    _ModelAdmin = admin.ModelAdmin


@admin.register(CaseRecord)
class CaseAdmin(_ModelAdmin):
    """Cases, read through the store and changed only through the engine."""

    list_display = ("id", "process", "state", "version", "sla_status")
    list_filter = ("process", "state")
    search_fields = ("id",)
    fields = ("id", "process", "definition_version", "state", "version", "sla_status",
              "case_data", "history")
    readonly_fields = fields
    change_form_template = "admin/servicewf/caserecord/change_form.html"

    # --- no raw edits -------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied("cases change only by firing a trigger")

    # --- what is shown ------------------------------------------------------------------------

    @staticmethod
    def _case(obj: CaseRecord) -> Case:
        return get_engine().get(obj.pk)

    @admin.display(description="SLA")
    def sla_status(self, obj: CaseRecord) -> str:
        stack = get_stack()
        sla = getattr(stack, "sla", None)
        if sla is None:
            return "—"
        engine = get_engine()
        try:
            views = sla.clocks(engine, self._case(obj), engine.clock.now())
        except ServicewfError:
            return "—"
        parts = []
        for view in views:
            if view.breached:
                parts.append(f"{view.name}: breached")
            elif view.remaining is not None:
                hours = view.remaining.total_seconds() / 3600
                parts.append(f"{view.name}: {hours:.1f} h left")
            else:
                parts.append(f"{view.name}: {view.status}")
        return "; ".join(parts) or "—"

    @admin.display(description="data")
    def case_data(self, obj: CaseRecord) -> str:
        from servicewf.json import to_dict

        return format_html("<pre>{}</pre>", json.dumps(to_dict(self._case(obj).data),
                                                       ensure_ascii=False, indent=1))

    @admin.display(description="history")
    def history(self, obj: CaseRecord) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            ((e.seq, e.at.isoformat(), e.kind.value, e.actor_id, e.role, e.trigger or "",
              f"{e.source or ''} → {e.dest}", e.comment or "")
             for e in get_engine().history(obj.pk)))
        return format_html(
            '<table class="servicewf-history"><thead><tr><th>#</th><th>at</th><th>kind</th>'
            "<th>actor</th><th>trigger</th><th>move</th><th>comment</th></tr></thead>"
            "<tbody>{}</tbody></table>", rows)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = dict(extra_context or {})
        context.update(show_save=False, show_save_and_continue=False,
                       show_save_and_add_another=False, show_delete=False)
        actor = actor_for(request)
        context["servicewf_actor"] = actor
        context["servicewf_can_fire"] = self.has_change_permission(request)
        if actor is not None:
            try:
                context["servicewf_triggers"] = get_engine().available(object_id, actor)
            except ServicewfError:
                context["servicewf_triggers"] = []
        context["servicewf_fire_url"] = reverse(
            f"{self.admin_site.name}:servicewf_caserecord_fire", args=[object_id])
        return super().change_view(request, object_id, form_url, context)

    # --- the one way to change a case ---------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        fire = path("<path:object_id>/fire/", self.admin_site.admin_view(self.fire_view),
                    name="servicewf_caserecord_fire")
        return [fire, *super().get_urls()]

    def fire_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Fire ``POST["trigger"]`` with ``POST["data"]`` (a JSON object) and
        ``POST["comment"]`` through the engine, as the user in their role."""
        if request.method != "POST":
            raise PermissionDenied("fire triggers with POST")
        if not self.has_change_permission(request):
            raise PermissionDenied("you may view cases, not fire their triggers")
        back = HttpResponseRedirect(reverse(
            f"{self.admin_site.name}:servicewf_caserecord_change", args=[object_id]))
        actor = actor_for(request)
        trigger = str(request.POST.get("trigger", ""))
        if actor is None:
            messages.error(request, "your account has no workflow role; ask an administrator "
                                    "to add you to the group of your role")
            self._audit(request, object_id, f"refused {trigger!r}: no workflow role")
            return back
        try:
            raw = str(request.POST.get("data") or "{}")
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            messages.error(request, "the data must be a JSON object, e.g. {\"reason\": \"...\"}")
            self._audit(request, object_id, f"refused {trigger!r}: data is not a JSON object")
            return back
        comment = str(request.POST.get("comment") or "") or None
        try:
            with transaction.atomic(using=get_engine_store_alias()):
                case = get_engine().fire(object_id, trigger, actor=actor, data=data,
                                         comment=comment)
                self._audit(request, object_id,
                            f"fired {trigger!r} as {actor.role}: now {case.state!r} "
                            f"(event {case.version})")
        except CommandRefused as refusal:
            messages.error(request, str(refusal))
            self._audit(request, object_id,
                        f"refused {trigger!r} as {actor.role}: {type(refusal).__name__}")
            return back
        messages.success(request, f"{trigger}: the case is now {case.state} "
                                  f"(event {case.version})")
        return back

    def _audit(self, request: HttpRequest, object_id: str, message: str) -> None:
        """Django's admin log of the attempt (what was fired and how it ended; no data)."""
        record = CaseRecord.objects.filter(pk=object_id).first() or CaseRecord(id=object_id)
        self.log_change(request, record, message)


def get_engine_store_alias() -> str:
    """The database alias of the engine's store (the admin's writes run in its atomic())."""
    store = get_engine().store
    return str(getattr(store, "using", "default"))
