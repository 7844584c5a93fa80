"""The simulated workload behind ``servicewf demo``.

Several hundred service requests and complaints arrive over a few weeks at a business centre in
Shanghai. Each case follows a story drawn from the guidelines with reproducible random branches
(missing information, revised plans, rework after a failed acceptance, a customer dissatisfied
and the complaint reopened, cancellations, invalid complaints) and with the mistakes people
make (starting before the customer agreed the plan, the wrong tier handling a complaint,
closing while the customer is dissatisfied) — which the engine refuses. The SLA clocks run on
the China office calendar; a sweep every simulated quarter hour records warnings and breaches
and escalates breached complaints. Beside the cases, a few recurring obligations run (weekly
contact of two VIP customers, twice-monthly contact of an ordinary one, the monthly complaint
report, the quarterly survey of a service line); the same sweeps remind them before they fall due
and record each period met or missed. Everything is written to the chosen store (by default a
fresh temporary SQLite file, removed after the run, so every run starts from nothing and two
runs with the same seed report the same numbers), and the run ends with a summary.

The simulation runs on a :class:`~servicewf.clock.FrozenClock` moved event by event, so a run
is reproducible from its seed.
"""

from __future__ import annotations

import heapq
import itertools
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf.case import Actor, Case
from servicewf.clock import FrozenClock
from servicewf.definition import ProcessDefinition
from servicewf.errors import (
    CommandRefused,
    DataMissing,
    DemoDatabaseInUse,
    GuardFailed,
    RoleNotPermitted,
    StaleVersion,
    TriggerNotAllowed,
)
from servicewf.explain import LANGUAGES, explain, language
from servicewf.processes.complaint import current_tier
from servicewf.storage.base import Store

if TYPE_CHECKING:
    from rich.console import Console

    from servicewf.processes.stack import Stack

__all__ = [
    "DemoDatabaseInUse",
    "DemoSummary",
    "ObligationRow",
    "open_store",
    "refusal_reason",
    "render_summary",
    "run_demo",
]

TZ = "Asia/Shanghai"
START = pendulum.datetime(2026, 9, 14, 8, 30, tz=TZ)  # a Monday, two weeks before National Day

Step = tuple[float, str, Actor, dict[str, Any]]
"""(hours to wait, trigger, actor, data)"""


@attrs.define
class DemoSummary:
    """What a demo run did, for people (``render_summary``) and tests."""

    db: str
    seed: int
    cases: int
    simulated_from: pendulum.DateTime
    simulated_to: pendulum.DateTime
    wall_seconds: float = 0.0
    accepted: int = 0
    events: int = 0
    states: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    transitions: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    refusals: Counter[tuple[str, str, str]] = attrs.field(factory=Counter)
    sla: Counter[tuple[str, str, str]] = attrs.field(factory=Counter)
    sweeps: int = 0
    sla_events: Counter[str] = attrs.field(factory=Counter)
    obligations: list[ObligationRow] = attrs.field(factory=list)
    obligation_events: Counter[str] = attrs.field(factory=Counter)
    """What the sweeps recorded on the obligations (``obligation_met``, ``..._missed``,
    ``..._due_soon``)."""
    reasons: Counter[tuple[str, str, str, str]] = attrs.field(factory=Counter)
    translations: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Each reason of ``reasons`` in every language of :data:`servicewf.explain.LANGUAGES`."""
    """The refusals in plain words: (process, trigger, why, rule) -> times."""
    fresh: bool = False
    """The run used a fresh temporary database (removed afterwards)."""
    days: int = 0


@attrs.frozen
class ObligationRow:
    """One recurring obligation at the end of a demo run."""

    subject: str
    kind: str
    cadence: str
    state: str
    met: int
    missed: int
    due_soon: int
    next_due: pendulum.DateTime | None


def open_store(db: str) -> Store:
    """The store for ``db``: ``"memory"``, a ``sqlite:///`` path, or a PostgreSQL URL."""
    if db == "memory":
        from servicewf.storage.memory import MemoryStore

        return MemoryStore()
    from servicewf.storage.sql import SQLStore

    return SQLStore(db)


# --- data the stories supply ----------------------------------------------------------------

PEOPLE = {
    "agent": ["li.na", "wang.fang", "zhang.wei", "chen.jing"],
    "supervisor": ["zhao.lei", "sun.li"],
    "manager": ["liu.yang"],
    "executive": ["gm.zhou"],
    "technician": ["ops.he", "ops.ma", "ops.xu"],
    "customer": ["customer"],
}
NEEDS = [
    ("meeting_room", "book the large meeting room for a board meeting"),
    ("printing", "print and bind 200 copies of the annual report"),
    ("repair", "air conditioning in office 1203 is not cooling"),
    ("cleaning", "deep cleaning before the client visit"),
    ("it_support", "projector in room B cannot find the laptop"),
    ("courier", "send contract originals to Beijing by express"),
]
COMPLAINTS = [
    ("設施", "空調壞了一整天,下午的客戶會議被迫取消"),
    ("服務態度", "front desk was rude to our visitors"),
    ("服務質量", "printing was late and pages were missing"),
    ("價格", "billed twice for the same meeting room booking"),
    ("流程", "nobody called back after three requests"),
]


class Filler:
    """Supplies plausible values for required fields a story leaves to it."""

    def __init__(self, rng: random.Random, now: Callable[[], pendulum.DateTime]) -> None:
        self.rng = rng
        self.now = now

    def value(self, field: str) -> Any:
        now = self.now().in_timezone(TZ)
        if field in ("channel", "contact_channel"):
            return self.rng.choice(["phone", "email", "walk-in", "online"])
        if field == "feedback_channel":
            return self.rng.choice(["phone", "email"])
        if field in ("due", "task_due", "expected_completion", "new_deadline", "eta"):
            return now.add(days=3).isoformat()
        if field.endswith("_at"):
            return now.isoformat()
        if field == "retain_until":
            return now.add(years=3, days=1).date().isoformat()
        if field in ("owner", "tracker", "first_receiver", "task_owner", "delivered_by"):
            return self.rng.choice(PEOPLE["agent"])
        return f"{field.replace('_', ' ')} (demo)"


# --- stories -----------------------------------------------------------------------------

def _person(rng: random.Random, role: str) -> Actor:
    return Actor(rng.choice(PEOPLE[role]), role)


TIER_HOLDER = Actor("<whoever holds the complaint's tier>", "<tier>")
"""A story's stand-in for the complaint's handler: the desk routes the step to someone in the
case's current tier when it runs, so an escalation by the sweep changes who does the work."""


def service_request_story(rng: random.Random) -> Iterator[Step]:
    """P1: receive → register → confirm → plan → execute → deliver → accept → follow up."""
    agent = _person(rng, "agent")
    tech = _person(rng, "technician")
    customer = Actor("customer", "customer")
    need = rng.choice(NEEDS)
    yield 0.1 + rng.random() * 0.5, "register", agent, {
        "request_type": need[0], "need": need[1], "contact": "138-0000-0000"}
    if rng.random() < 0.04:
        yield 0.2, "reject", agent, {"reason": "not a service we provide",
                                     "customer_notification": "phoned the customer"}
        return
    if rng.random() < 0.12:
        yield 0.2, "request_info", agent, {"missing": "floor plan"}
        yield rng.uniform(2, 20), "supply_info", agent, {"info": "floor plan received"}
    yield rng.uniform(0.2, 4), "confirm", agent, {
        "priority": rng.choice(["緊急", "重要", "普通", "普通"]), "owner": agent.id}
    yield rng.uniform(1, 8), "propose_plan", agent, {"plan_content": need[1]}
    if rng.random() < 0.06:  # a technician jumps the gun: refused (C3)
        yield 0.5, "start", tech, {}
    if rng.random() < 0.25:
        yield rng.uniform(4, 24), "revise_plan", agent, {"revision_reason": "customer's change"}
    if rng.random() < 0.05:
        yield rng.uniform(1, 24), "cancel", customer, {"reason": "customer withdrew"}
        return
    yield rng.uniform(1, 30), "agree_plan", customer, {
        "confirmed_by": "customer", "confirmation_medium": "email"}
    yield rng.uniform(1, 24), "start", tech, {}
    if rng.random() < 0.2:
        yield rng.uniform(1, 6), "wait_customer", tech, {"reason": "room occupied"}
        yield rng.uniform(2, 30), "resume", tech, {}
    yield rng.uniform(1, 40), "deliver", tech, {}
    while rng.random() < 0.15:
        yield rng.uniform(1, 12), "rework", agent, {"reason": "acceptance failed"}
        yield rng.uniform(2, 24), "deliver", tech, {}
    yield rng.uniform(0.5, 20), "accept", customer, {
        "signer": "customer", "satisfaction": rng.choice(["非常滿意", "滿意", "滿意", "一般"])}
    yield rng.uniform(2, 30), "follow_up", agent, {"follow_up_result": "no further needs"}
    yield rng.uniform(14 * 24, 28 * 24), "follow_up", agent, {"follow_up_result": "satisfied"}
    yield rng.uniform(1, 48), "archive", agent, {}


def complaint_story(rng: random.Random) -> Iterator[Step]:
    """P2: the five-step method with validity screening, supervisor confirmation, the
    handler tier by level, the feedback loop until the customer is satisfied."""
    agent = _person(rng, "agent")
    supervisor = _person(rng, "supervisor")
    level = rng.choice(["一般", "一般", "重要", "緊急"])
    handler_role = {"一般": "agent", "重要": "supervisor", "緊急": "manager"}[level]
    handler = TIER_HOLDER  # routed at run time: the sweep may escalate the complaint
    kind = rng.choice(COMPLAINTS)
    slow = rng.random() < 0.2  # some complaints sit in a queue: their clocks breach
    yield rng.uniform(0.1, 3), "record", agent, {"tracker": agent.id, "first_receiver": agent.id}
    if rng.random() < 0.07:
        yield 0.5, "reject_invalid", agent, {
            "explanation": "concerns a neighbouring building's landlord",
            "redirect": "property management hotline"}
        return
    yield rng.uniform(0.2, 4), "classify", agent, {
        "complaint_type": kind[0], "level": level, "scope": rng.choice(["內部", "外部"])}
    if rng.random() < 0.05:  # responding before the supervisor confirmed: refused (C6)
        yield 0.2, "acknowledge", agent, {"measures": "we will call back"}
    yield rng.uniform(0.5, 6), "confirm_classification", supervisor, {"supervisor": supervisor.id}
    yield rng.uniform(0.2, 5), "acknowledge", agent, {"measures": "engineer assigned"}
    if rng.random() < 0.08 and handler_role != "agent":  # the wrong tier picks it up (C9)
        yield 0.3, "investigate", agent, {"handler": agent.id}
    yield rng.uniform(0.2, 30 if slow else 6), "investigate", handler, {}
    rounds = 0
    while True:
        rounds += 1
        yield rng.uniform(2, 60 if slow else 20), "resolve", handler, {
            "remedy": rng.choice(["維修更換", "道歉賠償", "流程改進"]),
            "result": "remedied"}
        yield rng.uniform(0.5, 8), "give_feedback", agent, {
            "feedback": "what we did and what happens next", "feedback_channel": "phone"}
        dissatisfied = rounds < 3 and rng.random() < 0.2
        satisfaction = "不滿意" if dissatisfied else rng.choice(["滿意", "非常滿意", "一般"])
        yield rng.uniform(1, 24), "record_satisfaction", agent, {"satisfaction": satisfaction}
        if not dissatisfied:
            break
        if rng.random() < 0.5:  # closing anyway: refused (C11)
            yield 0.2, "close", agent, {"satisfaction": satisfaction}
        yield 0.5, "reopen", agent, {"reason": "customer not satisfied"}
    yield rng.uniform(0.5, 12), "close", agent, {"satisfaction": "滿意"}
    yield rng.uniform(24, 25 * 24), "follow_up", agent, {"follow_up_result": "no recurrence"}
    yield rng.uniform(1, 48), "archive", agent, {}


def _intake(process: str, rng: random.Random) -> dict[str, Any]:
    ref = f"C-{rng.randint(1000, 9999)}"
    channel = rng.choice(["phone", "email", "walk-in", "online", "app"])
    if process == "complaint":
        return {"channel": channel, "customer_ref": ref, "content": rng.choice(COMPLAINTS)[1]}
    return {"channel": channel, "customer_ref": ref, "description": rng.choice(NEEDS)[1]}


def contact_story(rng: random.Random, every: tuple[float, float], *,
                  slip: bool = False) -> Iterator[Step]:
    """P8 customer contact: the account manager calls every ``every`` days (a range), so a
    busy one sometimes lets a period pass; with ``slip`` one call is first logged with a
    date in the future (refused) and then corrected."""
    manager = _person(rng, "agent")
    calls = 0
    while True:
        calls += 1
        data: dict[str, Any] = {"ref": f"call note {calls}"}
        if slip and calls == 2:
            yield rng.uniform(*every) * 24, "fulfil", manager, {
                **data, "fulfilled_at": "+1d"}  # a typo: tomorrow (refused)
            yield 0.2, "fulfil", manager, data
        else:
            yield rng.uniform(*every) * 24, "fulfil", manager, data


def report_story(rng: random.Random, first: tuple[float, float], every: float,
                 ref: str) -> Iterator[Step]:
    """P8 reports and surveys: the first one after ``first`` days (a range), then every
    ``every`` days, give or take two."""
    owner = _person(rng, "supervisor")
    yield rng.uniform(*first) * 24, "fulfil", owner, {"ref": f"{ref} 1"}
    n = 1
    while True:
        n += 1
        yield rng.uniform(every - 2, every + 2) * 24, "fulfil", owner, {"ref": f"{ref} {n}"}


def _obligations() -> list[tuple[dict[str, Any], Callable[[random.Random], Iterator[Step]]]]:
    """The recurring obligations of the demo: their intake and their stories."""
    from servicewf.processes.obligation import (
        complaint_report_obligation,
        contact_obligation,
        survey_obligation,
    )

    today = START.date()
    return [
        (contact_obligation("C-1001 VIP", "VIP", start=today, tz=TZ),
         lambda r: contact_story(r, (4.5, 7.5))),
        (contact_obligation("C-1002 VIP", "VIP", start=today, tz=TZ),
         lambda r: contact_story(r, (5.0, 12.0), slip=True)),
        (contact_obligation("C-2001", "ordinary", start=pendulum.date(2026, 9, 1), tz=TZ),
         lambda r: contact_story(r, (5.0, 14.0))),
        (complaint_report_obligation(start=pendulum.date(2026, 9, 1), tz=TZ,
                                     subject="business centre"),
         lambda r: report_story(r, (8.0, 16.0), 30.0, "complaint report")),
        (survey_obligation("meeting rooms", "high", start=pendulum.date(2026, 7, 1), tz=TZ),
         lambda r: report_story(r, (10.0, 22.0), 91.0, "survey campaign")),
    ]


STORIES: Mapping[str, Callable[[random.Random], Iterator[Step]]] = {
    "service_request": service_request_story,
    "complaint": complaint_story,
}


# --- the run -----------------------------------------------------------------------------

def _arrivals(rng: random.Random, n: int, days: int) -> list[pendulum.DateTime]:
    """Arrival instants: mostly office hours on weekdays, some evenings and weekends."""
    out = []
    for _ in range(n):
        day = START.add(days=rng.randrange(days))
        if day.day_of_week in (pendulum.SATURDAY, pendulum.SUNDAY) and rng.random() < 0.7:
            day = day.add(days=2)
        hour = rng.uniform(9, 18) if rng.random() < 0.85 else rng.uniform(18, 23)
        out.append(day.start_of("day").add(seconds=int(hour * 3600)))
    return sorted(out)


def run_demo(
    *, cases: int = 600, seed: int = 2026, db: str | None = None,
    days: int = 20, sweep_minutes: int = 15,
    progress: Callable[[float], None] | None = None,
) -> DemoSummary:
    """Run the simulation and return its summary (nothing is printed here).

    ``db`` names the store (``"memory"``, ``sqlite:///path`` or a PostgreSQL URL); ``None``
    is a fresh temporary SQLite file, removed after the run. A named database that already
    holds cases is refused (:class:`DemoDatabaseInUse`): the summary counts what the store
    holds, so an earlier run's cases would change the numbers. ``progress`` is called now and
    then with the fraction of the simulated period done (0 to 1).
    """
    if cases < 1 or days < 1:
        raise ValueError("cases and days must be at least 1")
    if db is not None:
        return _run(cases=cases, seed=seed, db=db, days=days, sweep_minutes=sweep_minutes,
                    progress=progress, fresh=False)
    folder = tempfile.mkdtemp(prefix="servicewf-demo-")
    try:
        return _run(cases=cases, seed=seed, db=f"sqlite:///{folder}/demo.db", days=days,
                    sweep_minutes=sweep_minutes, progress=progress, fresh=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(
    *, cases: int, seed: int, db: str, days: int, sweep_minutes: int,
    progress: Callable[[float], None] | None, fresh: bool,
) -> DemoSummary:
    from servicewf.processes.stack import builtin_stack

    rng = random.Random(seed)
    clock = FrozenClock(START)
    store = open_store(db)
    try:
        return _simulate(store, clock, rng, cases=cases, seed=seed, db=db, days=days,
                         sweep_minutes=sweep_minutes, progress=progress, fresh=fresh,
                         stack=builtin_stack(store, clock, owner="demo"))
    finally:
        store.close()


def _simulate(
    store: Store, clock: FrozenClock, rng: random.Random, *, cases: int, seed: int, db: str,
    days: int, sweep_minutes: int, progress: Callable[[float], None] | None, fresh: bool,
    stack: Stack,
) -> DemoSummary:
    held = sum(store.count(process=p) for p in (*STORIES, "obligation"))
    if held:
        raise DemoDatabaseInUse(
            f"{db} already holds {held} cases from an earlier run; its numbers would mix "
            "with this run's: remove it, name a new database, or leave out --db for a fresh "
            "temporary one")
    engine, sla, sweeper = stack.engine, stack.sla, stack.sweeper
    registry, obligations = stack.registry, stack.obligations
    filler = Filler(rng, clock.now)
    summary = DemoSummary(db=db, seed=seed, cases=cases, simulated_from=START,
                          simulated_to=START, fresh=fresh, days=days)
    # (when, tie-breaker, case id or "open:<process>", the story, its pending step)
    agenda: list[tuple[pendulum.DateTime, int, str, Iterator[Step], Step | None]] = []
    counter = itertools.count()
    live: dict[str, Case] = {}
    wall = time.perf_counter()

    for at in _arrivals(rng, cases, days):
        process = "complaint" if rng.random() < 0.35 else "service_request"
        heapq.heappush(agenda, (at, next(counter), f"open:{process}",
                                STORIES[process](random.Random(rng.random())), None))
    # The obligations draw from their own generator, so the cases' stories stay the same.
    obligation_rng = random.Random(f"{seed}:obligations")
    obligation_intake: dict[str, dict[str, Any]] = {}
    for i, (intake, make_story) in enumerate(_obligations()):
        obligation_intake[f"open:obligation:{i}"] = intake
        heapq.heappush(agenda, (START, next(counter), f"open:obligation:{i}",
                                make_story(random.Random(obligation_rng.random())), None))
    next_sweep = START.add(minutes=sweep_minutes)

    # The run stops a few days after the last arrival, with work still in flight, as a real
    # desk would be on any given day.
    cutoff = START.add(days=days + 5)
    span = (cutoff - START).total_seconds()
    while agenda and agenda[0][0] <= cutoff:
        at, _, key, story, step = heapq.heappop(agenda)
        while next_sweep <= at:
            clock.set(next_sweep)
            _count(summary, sweeper.run(clock.now()))
            summary.sweeps += 1
            next_sweep = next_sweep.add(minutes=sweep_minutes)
            if progress is not None and summary.sweeps % 16 == 0:
                progress(min(1.0, (next_sweep - START).total_seconds() / span))
        clock.set(at)
        if key in obligation_intake:
            opener = _person(obligation_rng, "supervisor")
            case = engine.open("obligation", actor=opener, data=obligation_intake[key])
            live[case.id] = case
            summary.accepted += 1
            key = case.id
        elif key.startswith("open:"):
            process = key.removeprefix("open:")
            opener = _person(rng, "agent")
            case = engine.open(process, actor=opener, data=_intake(process, rng))
            live[case.id] = case
            summary.accepted += 1
            key = case.id
        else:
            assert step is not None
            case = live[key]
            _, trigger, actor, data = step
            definition = registry.get(case.process, case.definition_version)
            options = definition.compiled.options(trigger, case.state)
            needed = options[0].required if options else ()
            supplied = {**{f: filler.value(f) for f in needed if f not in data}, **data}
            if supplied.get("fulfilled_at") == "+1d":
                supplied["fulfilled_at"] = clock.now().add(days=1).isoformat()
            if actor is TIER_HOLDER:
                actor = _person(rng, current_tier(engine.get(case.id)) or "agent")
                if trigger == "investigate":
                    supplied["handler"] = actor.id
            try:
                try:
                    # The case this loop last saw is usually the stored one, which the engine
                    # recognises without reading it; a sweep may have moved it on since.
                    case = engine.fire(case, trigger, actor=actor, data=supplied)
                except StaleVersion:
                    case = engine.fire(engine.get(case.id), trigger, actor=actor, data=supplied)
                live[key] = case
                summary.accepted += 1
                summary.transitions[(case.process, trigger)] += 1
            except CommandRefused as refusal:
                rule = getattr(refusal, "rule", None) or ""
                summary.refusals[(case.process, trigger, f"{type(refusal).__name__} {rule}")] += 1
                definition = engine.registry.get(case.process, case.definition_version)
                why, cited = refusal_reason(refusal, definition)
                summary.reasons[(case.process, trigger, why, cited)] += 1
                if why not in summary.translations:
                    summary.translations[why] = tuple(
                        refusal_reason(refusal, definition, lang)[0] for lang in LANGUAGES)
        try:
            nxt = next(story)
        except StopIteration:
            continue
        heapq.heappush(agenda, (clock.now().add(seconds=int(nxt[0] * 3600)), next(counter), key,
                                story, nxt))

    clock.set(cutoff)
    _count(summary, sweeper.run(clock.now()))
    summary.simulated_to = clock.now()
    for process in STORIES:
        for case in store.find(process=process):
            summary.states[(process, case.state)] += 1
            summary.events += case.version
            for view in sla.clocks(engine, case, clock.now()):
                summary.sla[(process, view.name, _clock_label(view))] += 1
    for case in store.find(process="obligation"):
        summary.events += case.version
        status = obligations.status(case, clock.now())
        state = obligations.state(case)
        summary.obligations.append(ObligationRow(
            status.subject, status.kind, status.cadence.value, case.state, status.met_count,
            status.missed_count, state.reminder_count, status.next_due))
    summary.obligations.sort(key=lambda row: (row.kind, row.subject))
    summary.wall_seconds = time.perf_counter() - wall
    if progress is not None:
        progress(1.0)
    return summary


def refusal_reason(refusal: CommandRefused, definition: ProcessDefinition | None = None,
                   lang: str = "en") -> tuple[str, str]:
    """A refusal in plain words (:func:`servicewf.explain.explain`, without the case id) and
    the rule it enforces: ``(why, rule)``; a refusal by the process graph, its data or its
    roles cites "the process definition", any other cites nothing (``""``)."""
    why = explain(refusal, definition=definition, lang=lang, cite_rule=False)
    if isinstance(refusal, GuardFailed):
        return why, refusal.rule or ""
    if isinstance(refusal, (TriggerNotAllowed, DataMissing, RoleNotPermitted)):
        return why, "the process definition"
    return why, ""


def _count(summary: DemoSummary, report: Any) -> None:
    summary.sla_events["warnings"] += report.warnings
    summary.sla_events["breaches"] += report.breaches
    summary.sla_events["escalations"] += report.escalations
    summary.obligation_events.update(report.counts)


def _clock_label(view: Any) -> str:
    if view.breached:
        return "breached" + (" (still running)" if view.status == "running" else "")
    if view.status in ("stopped", "met"):
        return "met" if view.outcome in (None, "met") else str(view.outcome)
    return str(view.status)


CLOCK_NOTES: Mapping[tuple[str, str], tuple[str, str]] = {
    ("service_request", "first_response"): (
        "30 min office hours",
        "the simulated desk registers a request 6–36 min after it arrives and confirms it "
        "0.2–4 h later"),
    ("service_request", "confirmation"): (
        "24 h office hours", "a request waiting for missing information (2–20 h) is "
        "confirmed late"),
    ("service_request", "resolution"): (
        "due time set at confirmation (3 days)",
        "the plan, its revisions, the customer's agreement (1–30 h) and the work (1–40 h, "
        "rework in 15%) often take longer than promised"),
    ("service_request", "feedback_processing"): (
        "24 h office hours", "customers accept 0.5–20 h after delivery"),
    ("service_request", "post_service_contact"): (
        "24 h office hours",
        "the desk calls back only after the customer accepted (0.5–20 h after delivery), "
        "then 2–30 h later"),
    ("service_request", "second_follow_up"): (
        "day 15–30 after delivery", "the second call comes 14–28 days after the first"),
    ("complaint", "record"): ("24 h office hours", "recorded 0.1–3 h after receipt"),
    ("complaint", "acknowledge"): ("24 h office hours", "acknowledged within hours"),
    ("complaint", "resolve"): (
        "2/3/5 working days by level",
        "one complaint in five waits in a queue (investigation up to 30 h, each resolution "
        "round up to 60 h)"),
    ("complaint", "follow_up"): (
        "30 days after closing", "the desk follows up 1–25 days after closing"),
}
"""Per SLA clock of the demo: its target in words and how the simulated desk behaves (the
cause of its breaches, if any)."""

def _attainment(summary: DemoSummary) -> list[tuple[str, str, int, int, int]]:
    """(process, clock, met, breached, open) per clock; idle and cancelled clocks are left
    out (they never ran to a deadline)."""
    rows: dict[tuple[str, str], list[int]] = {}
    for (process, name, status), n in summary.sla.items():
        row = rows.setdefault((process, name), [0, 0, 0])
        if status == "met":
            row[0] += n
        elif status.startswith("breached"):
            row[1] += n
        elif status in ("running", "paused"):
            row[2] += n
    return [(p, c, *r) for (p, c), r in sorted(rows.items()) if any(r)]  # type: ignore[misc]


def render_summary(summary: DemoSummary, *, console: Console | None = None,
                   lang: str = "en") -> None:
    """Print ``summary``: first what a person wants to read (SLA attainment with the causes
    of breaches, refusals in plain words with their rule), then the details as tables.
    ``lang`` (``"en"``, ``"zh_hant"`` or ``"zh"``, ``"zh_hans"``) is the language of the
    refusals in plain words."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.rule("[bold]servicewf demo[/bold]")
    store = ("a fresh temporary SQLite database (removed after the run; name one with --db "
             "to keep it)" if summary.fresh else summary.db)
    console.print(
        f"{summary.cases} cases over {summary.days} days from "
        f"{summary.simulated_from.format('YYYY-MM-DD HH:mm')} to "
        f"{summary.simulated_to.in_timezone(TZ).format('YYYY-MM-DD HH:mm')} ({TZ}), "
        f"seed {summary.seed}\nstore: {store}\n"
        f"{summary.accepted} commands accepted, {sum(summary.refusals.values())} refused, "
        f"{summary.events} audit events, {summary.sweeps} SLA sweeps, "
        f"{summary.wall_seconds:.1f} s wall time"
    )
    attained = Table(title="SLA attainment per clock")
    for column in ("process", "clock", "target", "met", "breached", "open"):
        attained.add_column(column, justify="right" if column in ("met", "breached", "open")
                            else "left")
    causes: list[str] = []
    for process, name, met, breached, still_open in _attainment(summary):
        target, cause = CLOCK_NOTES.get((process, name), ("see the SLA policy", ""))
        attained.add_row(process, name, target, str(met), str(breached), str(still_open))
        if breached:
            causes.append(f"  {process} {name} ({target}): {breached} breached; "
                          f"{cause or 'the simulated desk is slower than the target'}")
    console.print(attained)
    if causes:
        console.print("Why clocks breach:", highlight=False)
        for line in causes:
            console.print(line, highlight=False, markup=False)
    console.print()
    lang = language(lang)
    console.print({"en": "Refused commands, in plain words:",
                   "zh_hant": "被拒絕的操作（原因）:",
                   "zh_hans": "被拒绝的操作（原因）:"}[lang], highlight=False)
    rule_word = {"en": "rule", "zh_hant": "規則", "zh_hans": "规则"}[lang]
    for (process, trigger, reason, rule), n in summary.reasons.most_common():
        if lang != "en":
            reason = summary.translations.get(reason, (reason,) * 3)[LANGUAGES.index(lang)]
            if rule == "the process definition":
                rule = "流程定義" if lang == "zh_hant" else "流程定义"
        console.print(f"  {n:>3} × {process} {trigger}: {reason}" + (f" [{rule_word}: {rule}]"
                      if rule else ""), highlight=False, markup=False)
    if not summary.reasons:
        console.print("  none", highlight=False)
    console.print()
    console.rule("details")
    states = Table(title="Cases per state")
    states.add_column("process")
    states.add_column("state")
    states.add_column("cases", justify="right")
    for (process, state), n in sorted(summary.states.items()):
        states.add_row(process, state, str(n))
    console.print(states)
    refused = Table(title="Refused commands and why (by class)")
    for column in ("process", "trigger", "refusal [rule]", "times"):
        refused.add_column(column, justify="right" if column == "times" else "left")
    for (process, trigger, why), n in summary.refusals.most_common():
        refused.add_row(process, trigger, why, str(n))
    console.print(refused)
    clocks = Table(title="SLA clocks at the end of the run")
    for column in ("process", "clock", "status", "clocks"):
        clocks.add_column(column, justify="right" if column == "clocks" else "left")
    for (process, name, status), n in sorted(summary.sla.items()):
        clocks.add_row(process, name, status, str(n))
    console.print(clocks)
    console.print(
        "SLA sweep events: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary.sla_events.items()))
    )
    duties = Table(title="Recurring obligations at the end of the run")
    duties.add_column("obligation", overflow="fold")
    duties.add_column("cadence", overflow="fold")
    for column in ("met", "missed", "due soon"):
        duties.add_column(column, justify="right", no_wrap=True)
    duties.add_column("next due", no_wrap=True)
    for row in summary.obligations:
        due = row.next_due.in_timezone(TZ).format("YYYY-MM-DD") if row.next_due else row.state
        duties.add_row(f"{row.kind.replace('customer_', '').replace('_', ' ')}: {row.subject}",
                       row.cadence.replace("_", " "), str(row.met), str(row.missed),
                       str(row.due_soon), due)
    console.print(duties)
    console.print(
        "Obligation sweep events: "
        + (", ".join(f"{k.removeprefix('obligation_')} {v}"
                     for k, v in sorted(summary.obligation_events.items())) or "none")
    )
    transitions = Table(title="Transitions fired")
    for column in ("process", "trigger", "times"):
        transitions.add_column(column, justify="right" if column == "times" else "left")
    for (process, trigger), n in sorted(summary.transitions.items()):
        transitions.add_row(process, trigger, str(n))
    console.print(transitions)
