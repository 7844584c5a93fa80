"""A small web CRM on servicewf: an agent's inbox with SLA countdowns, a case page with the
history and the triggers the agent may fire, refusals in Chinese and English; and a JSON API
(with the servicewf.json schemas in its OpenAPI document).

Built with FastAPI on servicewf.aio: every command is awaited on the asyncio SQL store
(PostgreSQL through psycopg's async mode, or SQLite through aiosqlite). Start it with
``python examples/web_crm/serve.py`` (see there).
"""

from __future__ import annotations

import contextlib
import html
import json
import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from messages import refusal_text

from servicewf import Actor, Case, CommandRefused, SystemClock, TriggerNotAllowed
from servicewf.aio import AsyncEngine, AsyncSQLStore
from servicewf.clock import Clock
from servicewf.json import schema_registry, to_dict
from servicewf.processes.notices import builtin_messages
from servicewf.processes.stack import Stack, builtin_stack

LANGS = ("zh", "en")
WORDS = {
    "inbox": {"zh": "待办案件", "en": "Inbox"},
    "case": {"zh": "案件", "en": "Case"},
    "process": {"zh": "流程", "en": "Process"},
    "state": {"zh": "状态", "en": "State"},
    "sla": {"zh": "时限", "en": "SLA"},
    "left": {"zh": "剩余", "en": "left"},
    "overdue": {"zh": "已超时", "en": "overdue"},
    "history": {"zh": "处理记录", "en": "History"},
    "triggers": {"zh": "可执行的操作", "en": "What you may do"},
    "fire": {"zh": "执行", "en": "Do it"},
    "data": {"zh": "数据（JSON）", "en": "Data (JSON)"},
    "comment": {"zh": "备注", "en": "Comment"},
    "not_now": {"zh": "暂不可执行", "en": "not now"},
    "acting": {"zh": "当前身份", "en": "Acting as"},
    "no_clock": {"zh": "无时限", "en": "no clock"},
    "customer": {"zh": "客户", "en": "Customer"},
    "about": {"zh": "内容", "en": "About"},
}


def word(key: str, lang: str) -> str:
    return WORDS[key][lang]


def countdown(seconds: float, lang: str) -> str:
    """``2h 05m left`` / ``overdue 1h 10m`` (and the Chinese forms)."""
    late = seconds < 0
    minutes = int(abs(seconds) // 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m"
    if lang == "zh":
        return f"{word('overdue', lang)} {text}" if late else f"{word('left', lang)} {text}"
    return f"{word('overdue', lang)} {text}" if late else f"{text} {word('left', lang)}"


class CRM:
    """The app's servicewf parts: the asyncio store, the built-in stack as planner."""

    def __init__(self, store: AsyncSQLStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.stack: Stack = builtin_stack(store.sync_store, clock,
                                          messages=builtin_messages())
        self.engine = AsyncEngine(store, clock, engine=self.stack.engine)

    def clocks(self, case: Case) -> list[Any]:
        return list(self.stack.sla.clocks(self.stack.engine, case, self.clock.now()))

    def soonest(self, case: Case) -> float | None:
        """Seconds to the nearest running deadline (negative: overdue), None without one."""
        running = [v.remaining.total_seconds() for v in self.clocks(case)
                   if v.remaining is not None and v.status in ("running", "paused")]
        return min(running) if running else None

    def is_open(self, case: Case) -> bool:
        definition = self.stack.registry.get(case.process, case.definition_version)
        return not definition.is_final(case.state)

    def labels(self, case: Case, lang: str) -> tuple[str, str]:
        definition = self.stack.registry.get(case.process, case.definition_version)
        key = "zh_hans" if lang == "zh" else "en"
        return definition.name, definition.state(case.state).label(key)


def _actor(request: Request) -> Actor:
    who = request.query_params.get("as", "wang:agent")
    name, _, role = who.partition(":")
    return Actor(name or "wang", role or "agent")


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "zh")
    return lang if lang in LANGS else "zh"


def _page(title: str, body: str, lang: str) -> str:
    other = "en" if lang == "zh" else "zh"
    return f"""<!doctype html><html lang="{'zh-Hans' if lang == 'zh' else 'en'}"><head>
<meta charset="utf-8"><title>{html.escape(title)}</title><style>
body{{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4em;
text-align:left}}th{{background:#f4f6f8}}.late{{color:#b00020;font-weight:bold}}
.ok{{color:#1b5e20}}.refusal{{background:#fdecea;border:1px solid #b00020;padding:.8em}}
.muted{{color:#888}}textarea{{width:30em}}</style></head><body>
<p><a href="/?lang={lang}">{word('inbox', lang)}</a> ·
<a href="?lang={other}">{'English' if lang == 'zh' else '中文'}</a></p>
<h1>{html.escape(title)}</h1>{body}</body></html>"""


def create_app(db: str, *, clock: Clock | None = None, seed: int = 0,
               schema: str | None = None, prefix: str = "") -> FastAPI:
    """The app on the database ``db`` (``postgresql://...`` or ``sqlite:///...``), with
    ``seed`` demo cases opened at start when the database has none."""
    the_clock = clock or SystemClock()
    state: dict[str, CRM] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await AsyncSQLStore.open(db, schema=schema, prefix=prefix)
        crm = state["crm"] = CRM(store, the_clock)
        if seed and await store.count() == 0:
            await open_demo_cases(crm, seed)
        yield
        await crm.engine.drain()
        await store.close()

    app = FastAPI(title="servicewf web CRM", lifespan=lifespan)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(title=app.title, version="1", routes=app.routes)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema_registry()["schemas"])
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # --- pages ------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def inbox(request: Request) -> str:
        crm, lang = state["crm"], _lang(request)
        cases = [c for c in await crm.store.find() if crm.is_open(c)]
        rows = []
        for case, left in sorted(((c, crm.soonest(c)) for c in cases),
                                 key=lambda pair: (pair[1] is None, pair[1] or 0.0)):
            name, label = crm.labels(case, lang)
            sla = (f'<span class="muted">{word("no_clock", lang)}</span>' if left is None else
                   f'<span class="{"late" if left < 0 else "ok"}">{countdown(left, lang)}</span>')
            about = str(case.data.get("content") or case.data.get("description") or "")
            rows.append(f'<tr><td><a href="/cases/{quote(case.id)}?lang={lang}">'
                        f"{html.escape(case.id)}</a></td>"
                        f"<td>{html.escape(str(case.data.get('customer_ref', '')))}</td>"
                        f"<td>{html.escape(about)}</td><td>{html.escape(name)}</td>"
                        f"<td>{html.escape(label)}</td><td>{sla}</td></tr>")
        body = (f"<table><thead><tr><th>{word('case', lang)}</th><th>{word('customer', lang)}"
                f"</th><th>{word('about', lang)}</th><th>{word('process', lang)}"
                f"</th><th>{word('state', lang)}</th><th>{word('sla', lang)}</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")
        return _page(f"{word('inbox', lang)} ({len(rows)})", body, lang)

    async def case_page(request: Request, case_id: str, refusal: str = "") -> str:
        crm, lang, actor = state["crm"], _lang(request), _actor(request)
        case = await crm.engine.get(case_id)
        history = await crm.engine.history(case_id)
        options = await crm.engine.available(case, actor)
        name, label = crm.labels(case, lang)
        events = "".join(
            f"<tr><td>{e.seq}</td><td>{e.at.in_timezone('Asia/Shanghai'):%Y-%m-%d %H:%M}</td>"
            f"<td>{html.escape(e.kind.value)}</td><td>{html.escape(e.trigger or '')}</td>"
            f"<td>{html.escape(e.actor_id)} ({html.escape(e.role)})</td>"
            f"<td>{html.escape(e.dest)}</td></tr>" for e in history)
        clocks = "".join(
            f"<li>{html.escape(v.name)}: "
            + (countdown(v.remaining.total_seconds(), lang) if v.remaining is not None
               else html.escape(v.status)) + "</li>" for v in crm.clocks(case))
        forms = []
        for option in options:
            if option.allowed:
                template = json.dumps({f: "" for f in option.requires}, ensure_ascii=False)
                forms.append(
                    f'<form method="post" action="/cases/{quote(case.id)}/fire?lang={lang}'
                    f'&as={quote(actor.id)}:{quote(actor.role)}"><input type="hidden" '
                    f'name="trigger" value="{html.escape(option.trigger)}"><b>'
                    f"{html.escape(option.trigger)}</b> → {html.escape(option.dest or '')} "
                    f'<br>{word("data", lang)} <textarea name="data" rows="1">'
                    f"{html.escape(template)}</textarea> {word('comment', lang)} "
                    f'<input name="comment"> <button>{word("fire", lang)}</button></form>')
            elif not isinstance(option.refusal, TriggerNotAllowed):  # not from this state
                reason = refusal_text(option.refusal, lang) if option.refusal else ""
                forms.append(f'<p class="muted">{html.escape(option.trigger)}: '
                             f"{word('not_now', lang)} — {html.escape(reason)}</p>")
        warning = f'<p class="refusal">{refusal}</p>' if refusal else ""
        body = (f"{warning}<p>{word('process', lang)}: {html.escape(name)} · "
                f"{word('state', lang)}: <b>{html.escape(label)}</b> · v{case.version}</p>"
                f"<ul>{clocks}</ul><p>{word('acting', lang)}: {html.escape(str(actor))}</p>"
                f"<h2>{word('triggers', lang)}</h2>{''.join(forms)}"
                f"<h2>{word('history', lang)}</h2><table><tbody>{events}</tbody></table>")
        return _page(f"{word('case', lang)} {case.id}", body, lang)

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    async def show_case(request: Request, case_id: str) -> str:
        return await case_page(request, case_id)

    @app.post("/cases/{case_id}/fire")
    async def fire_form(request: Request, case_id: str) -> Response:
        crm, lang, actor = state["crm"], _lang(request), _actor(request)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        try:
            data = json.loads(form.get("data") or "{}")
            await crm.engine.fire(case_id, form.get("trigger", ""), actor=actor,
                                  data={k: v for k, v in data.items() if v != ""},
                                  comment=form.get("comment") or None)
        except CommandRefused as refusal:
            message = (f"{html.escape(refusal_text(refusal, lang))}<br><small>"
                       f"{html.escape(str(refusal))}</small>")
            return HTMLResponse(await case_page(request, case_id, message), status_code=409)
        except (ValueError, AttributeError):
            return HTMLResponse(await case_page(request, case_id, "JSON?"), status_code=400)
        return RedirectResponse(f"/cases/{quote(case_id)}?{request.url.query}", status_code=303)

    # --- JSON API -----------------------------------------------------------------------------

    def refused(refusal: CommandRefused) -> JSONResponse:
        body = to_dict(refusal)
        body["messages"] = {lang: refusal_text(refusal, lang) for lang in LANGS}
        return JSONResponse(body, status_code=409)

    @app.get("/api/cases")
    async def api_cases() -> list[dict[str, Any]]:
        crm = state["crm"]
        return [to_dict(c) for c in await crm.store.find() if crm.is_open(c)]

    @app.get("/api/cases/{case_id}")
    async def api_case(request: Request, case_id: str) -> dict[str, Any]:
        crm = state["crm"]
        case = await crm.engine.get(case_id)
        return {"case": to_dict(case), "history": to_dict(await crm.engine.history(case_id)),
                "options": to_dict(await crm.engine.available(case, _actor(request))),
                "clocks": to_dict(crm.clocks(case))}

    @app.post("/api/cases")
    async def api_open(request: Request) -> Response:
        body = await request.json()
        try:
            case = await state["crm"].engine.open(body["process"], actor=_actor(request),
                                                  data=body.get("data") or {})
        except CommandRefused as refusal:
            return refused(refusal)
        return JSONResponse(to_dict(case), status_code=201)

    @app.post("/api/cases/{case_id}/fire")
    async def api_fire(request: Request, case_id: str) -> Response:
        body = await request.json()
        try:
            case = await state["crm"].engine.fire(case_id, body["trigger"],
                                                  actor=_actor(request), data=body.get("data"),
                                                  comment=body.get("comment"))
        except CommandRefused as refusal:
            return refused(refusal)
        return JSONResponse(to_dict(case))

    return app


NEEDS = ["宽带报修：家中网络时断时续", "更换收货地址", "申请开具发票", "咨询套餐变更"]
COMPLAINTS = ["快递延误三天，无人联系", "维修后问题复发", "账单多扣费用"]


async def open_demo_cases(crm: CRM, count: int) -> None:
    """``count`` cases of the built-in processes, a few moved on, for the demo inbox."""
    rng = random.Random(7)
    desk = Actor("crm-intake", "agent")
    for i in range(count):
        ref = f"C-{1000 + i}"
        if i % 3 == 0:
            await crm.engine.open("complaint", actor=desk, case_id=f"CP-{1000 + i}", data={
                "channel": "phone", "customer_ref": ref, "content": rng.choice(COMPLAINTS)})
        else:
            await crm.engine.open("service_request", actor=desk, case_id=f"SR-{1000 + i}",
                                  data={"channel": "online", "customer_ref": ref,
                                        "description": rng.choice(NEEDS)})
