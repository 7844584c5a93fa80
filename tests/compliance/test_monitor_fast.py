"""The incremental checker's fast paths against their reference: the trace's one-event append
against extend, the clock entries that moved with the earliest deadline kept against reading
every entry, the clock verdict against reading the entry field by field, the built-in
vocabularies' kept answers against asking the vocabulary, the handler tier against
max(key=tiers.index), and the monitor's one-event path (merged data tests, fields known
present) against the batch checker."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.compliance import (
    AllOf,
    ComplianceMonitor,
    Condition,
    DataRule,
    Environment,
    HandlerTier,
    Precedence,
    Verdict,
    incremental,
    rules,
)
from servicewf.compliance.monitor import _moved, _next_due
from servicewf.compliance.trace import Trace
from servicewf.events import Event, EventKind
from servicewf.processes.common import COMPLAINT_LEVEL, SATISFACTION
from servicewf.sla.state import BREACHED, CANCELLED, IDLE, MET, NO_GOAL, PAUSED, RUNNING, STOPPED
from servicewf.storage.base import WriteSet

T0 = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
FIELDS = ("x", "y", "z", "level", "tier")
VALUES = ("1", " ", "", "a", None, 0, [], ["v"], "一般", "urgent", "agent", "supervisor",
          "manager")


@st.composite
def histories(draw, max_size=10):
    n = draw(st.integers(1, max_size))
    events = []
    for i in range(1, n + 1):
        data = {f: draw(st.sampled_from(VALUES)) for f in FIELDS if draw(st.booleans())}
        act = draw(st.sampled_from(("a", "b", "c", "open")))
        kind = EventKind.OPENED if act == "open" and draw(st.booleans()) else \
            EventKind.TRANSITION
        role = draw(st.sampled_from(("agent", "supervisor", "manager")))
        events.append(Event("c", i, T0.add(minutes=i), kind, "u", role,
                            None if kind is EventKind.OPENED else act, "s0", "s1", data))
    return events


@settings(max_examples=200, deadline=None)
@given(events=histories(), indexed=st.lists(st.booleans(), min_size=2, max_size=2),
       reads=st.lists(st.sampled_from(("pos", "times", "fields", "none")), max_size=8))
@example(events=[Event("c", k, T0.add(minutes=k), EventKind.TRANSITION, "u", "agent", a, "s0",
                       "s1", {"x": str(k)}) for k, a in enumerate("abab", start=1)],
         indexed=[True, False], reads=["pos", "fields", "times", "none"])
def test_append_builds_the_indexes_extend_and_a_fresh_trace_build(events, indexed, reads):
    """Appended events are indexed (positions, instants, data fields) when next read, from
    wherever the index stood: read now and then between appends, the indexes equal those of
    a trace built on every event at once."""
    one = Trace("c", "p", events[:1], complete=False, as_of_us=None)
    many = Trace("c", "p", tuple(events[:1]), complete=False, as_of_us=None)
    for t in (one, many):
        if indexed[0]:  # the indexes built so far are kept up to date
            t.fields()
        if indexed[1]:
            t.time_us(0)

    def read(t, what):
        if what == "pos":
            t.positions(frozenset({"a"}))
        elif what == "times":
            t.time_us(len(t) - 1)
        elif what == "fields":
            t.value_at("x", len(t) - 1)

    for k, e in enumerate(events[1:]):
        assert one.append(e) == (e.trigger or ("open" if e.kind is EventKind.OPENED
                                                else e.kind.value))
        read(one, reads[k % len(reads)] if reads else "none")
    many.extend(events[1:])
    fresh = Trace("c", "p", events, complete=False, as_of_us=None)
    assert one.events == list(many.events) == events
    for t in (one, many):
        assert (t.acts, t.seqs, t.times(), t.fields()) == (
            fresh.acts, fresh.seqs, fresh.times(), fresh.fields())
        for a in ("a", "b", "c", "open"):
            assert t.positions(frozenset({a})) == fresh.positions(frozenset({a}))
            assert t.has(frozenset({a})) is fresh.has(frozenset({a}))
        assert t.positions(frozenset({"a", "b"})) == fresh.positions(frozenset({"a", "b"}))
        assert [t.time_us(i) for i in range(len(t))] == fresh.times()


# --- clock entries -------------------------------------------------------------------------

DEADLINES = st.one_of(st.none(), st.integers(0, 40), st.sampled_from([True, 7.0, "9"]))


@st.composite
def entry_lists(draw):
    """Entries at the last command and now: some kept (the very objects), some moved."""
    n = draw(st.integers(0, 5))
    old = [{"name": f"k{i}", "deadline": draw(DEADLINES)} for i in range(n)]
    new = []
    for e in old:
        if draw(st.booleans()):
            new.append(e)
        else:
            name = e["name"] if draw(st.integers(0, 9)) else "other"
            new.append({"name": name, "deadline": draw(DEADLINES)})
    before = draw(st.integers(0, 40))
    now = draw(st.integers(before, 45))
    return old, new, before, now


@settings(max_examples=500, deadline=None)
@given(case=entry_lists())
def test_moved_with_the_earliest_deadline_kept_equals_reading_every_entry(case):
    old, new, before, now = case
    due = _next_due(old, before)
    if due is not None and due < now:
        return  # a deadline passed: the monitor judges every clock again instead
    got = _moved(old, new, now, False, due)
    if any(a["name"] != b["name"] for a, b in zip(old, new, strict=True)):
        assert got is None  # the entries cannot be compared
        return
    moved = [(b["name"], b) for a, b in zip(old, new, strict=True) if a is not b]
    assert got == (moved, _next_due(new, now))
    # every entry judged again (the case completed or reopened)
    assert _moved(old, new, now, True, due) == ([(b["name"], b) for b in new],
                                               _next_due(new, now))


def _verdict_by_get(entry, end_us, complete):
    """The clock verdict as read field by field (before the fields were read in one call)."""
    violated = pending = False
    for cyc in entry.get("past") or ():
        outcome, breached = cyc[4], cyc[5]
        if outcome in (CANCELLED, NO_GOAL) and not breached:
            continue
        if breached or outcome in (BREACHED, TOO_EARLY):
            violated = True
    status = entry.get("status", IDLE)
    started, deadline = entry.get("started"), entry.get("deadline")
    breached, outcome = entry.get("breached", False), entry.get("outcome")
    if status in (RUNNING, PAUSED) and started is not None and deadline is not None:
        if breached or end_us > deadline:
            violated = True
        else:
            pending = True
    elif status == STOPPED and started is not None and (
            breached or outcome not in (None, CANCELLED, NO_GOAL)) and \
            not (outcome == MET and not breached):
        violated = True
    if violated:
        return Verdict.VIOLATED
    if pending:
        return Verdict.POSSIBLY_VIOLATED
    return Verdict.SATISFIED if complete else Verdict.POSSIBLY_SATISFIED


TOO_EARLY = incremental.TOO_EARLY
OUTCOMES = (None, MET, BREACHED, CANCELLED, NO_GOAL, TOO_EARLY)


@st.composite
def clock_entries(draw):
    full = {
        "past": draw(st.lists(st.tuples(st.just(1), st.just(0), st.just(1), st.just(2),
                                        st.sampled_from(OUTCOMES), st.booleans()),
                              max_size=2)),
        "status": draw(st.sampled_from((IDLE, RUNNING, PAUSED, STOPPED))),
        "started": draw(st.one_of(st.none(), st.integers(0, 10))),
        "deadline": draw(st.one_of(st.none(), st.integers(0, 20))),
        "breached": draw(st.booleans()),
        "outcome": draw(st.sampled_from(OUTCOMES)),
    }
    keep = draw(st.sets(st.sampled_from(sorted(full)))) if draw(st.booleans()) else set(full)
    return {k: v for k, v in full.items() if k in keep}


@settings(max_examples=500, deadline=None)
@given(entry=clock_entries(), end=st.integers(0, 25), complete=st.booleans())
def test_the_clock_verdict_read_in_one_call_equals_reading_field_by_field(entry, end,
                                                                         complete):
    assert incremental._clock_verdict(entry, end, complete) is _verdict_by_get(
        entry, end, complete)


# --- vocabularies and tiers ----------------------------------------------------------------

SPELLINGS = st.one_of(
    st.sampled_from(["一般", "重要", "緊急", "urgent", " General ", "critical", "滿意",
                     "不滿意", "dissatisfied", "Very satisfied", "3", "1", "5.0", "", " ",
                     "nope"]),
    st.text(max_size=6), st.integers(-1, 6), st.floats(allow_nan=False), st.none(),
    st.booleans())


@settings(max_examples=400, deadline=None)
@given(values=st.lists(SPELLINGS, max_size=8), small=st.booleans())
def test_kept_spellings_answer_as_the_vocabulary(values, small):
    saved = rules._MAX_WORDS
    rules._MAX_WORDS = 2 if small else saved  # full at once: emptied and filled again
    rules._LEVEL_WORDS.clear()
    rules._SATISFACTION_WORDS.clear()
    try:
        for v in values * 2:  # asked again: answered from what was kept
            assert rules._complaint_level(v) == COMPLAINT_LEVEL.normalise(v)
            assert rules._satisfaction(v) is (v is not None
                                              and SATISFACTION.normalise(v) is not None)
            assert rules._dissatisfied(v) is (SATISFACTION.normalise(v) == "dissatisfied")
            assert len(rules._LEVEL_WORDS) <= rules._MAX_WORDS
            assert len(rules._SATISFACTION_WORDS) <= rules._MAX_WORDS
    finally:
        rules._MAX_WORDS = saved


TIER = HandlerTier(id="t", activity=("b", "c"), tiers=("agent", "supervisor", "manager"),
                   level_tiers={"general": "agent", "urgent": "manager"},
                   normalise="complaint_level")


def _tier_by_max(rule, trace, i):
    """HandlerTier.tier_at as it was written: max(known, key=tiers.index)."""
    known = []
    level = trace.value_at(rule.level_field, i)
    if level is not None:
        if rule.normalise is not None:
            level = rules.NORMALISERS[rule.normalise](level)
        tier = rule.level_tiers.get(level) if isinstance(level, str) else None
        if tier is not None:
            known.append(tier)
    known += [t for t in trace.values_until(rule.tier_field, i - 1) if t in rule.tiers]
    return max(known, key=rule.tiers.index) if known else None


@settings(max_examples=300, deadline=None)
@given(events=histories(12))
def test_the_handler_tier_equals_the_highest_by_tiers_order(events):
    trace = Trace("c", "p", events, complete=False, as_of_us=None)
    for i in range(len(events)):
        got, expected = TIER.tier_at(trace, i), _tier_by_max(TIER, trace, i)
        assert got == expected and type(got) is type(expected)


# --- the monitor's one-event path ----------------------------------------------------------

# Several data rules on the same activities, sharing tests (merged once), with tests that
# cannot all pass (x present in the case data and absent from the event's), inside all-ofs
# with precedences, and a rule judged by itself (a check other than present/absent).
DATA_RULES = [
    DataRule(id="d1", activity=("a", "b"), require=("x", "y")),
    DataRule(id="d2", activity="b", require=("x",), check=(Condition("z", "absent",
                                                                     at="event"),)),
    DataRule(id="d3", activity=("b", "c"), check=(Condition("x", "absent", at="event"),
                                                  Condition("y", "absent"))),
    DataRule(id="d4", activity="c", require=("z",), at="event"),
    DataRule(id="d5", activity=("a", "c"), check=(Condition("x", "in", ["1", "a"]),)),
    AllOf(id="all", parts=(Precedence(id="all", source="a", target="c"),
                           DataRule(id="all", activity="c", require=("x",)),
                           DataRule(id="all", activity="a", check=(
                               Condition("z", "present", at="event"),)))),
    Precedence(id="p", source="c", target=("b", "c")),
    TIER,
]


class _Finals:
    def get(self, process, version=None):
        return SimpleNamespace(states=[SimpleNamespace(id="open", final=False),
                                       SimpleNamespace(id="done", final=True)])


# A command that violates a monotone rule and touches no other rule: its alert is raised.
_OPENING = Event("c", 1, T0.add(minutes=1), EventKind.OPENED, "u", "agent", None, "s0", "s1",
                 {"x": "1", "y": "1"})
_NO_Z = Event("c", 2, T0.add(minutes=2), EventKind.TRANSITION, "u", "agent", "a", "s0", "s1",
              {})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=histories(14), cuts=st.lists(st.booleans(), min_size=14, max_size=14),
       complete=st.lists(st.booleans(), min_size=14, max_size=14))
@example(events=[_OPENING, _NO_Z], cuts=[False] * 14, complete=[False] * 14)
# x and y found present at "a" (known), then x blanked by another "a" that requires it (and
# passes every other merged test): a field an event gives is looked at again.
@example(events=[_OPENING, _NO_Z,
                 Event("c", 3, T0.add(minutes=3), EventKind.TRANSITION, "u", "agent", "a", "s0",
                       "s1", {"x": " ", "z": "1"})], cuts=[False] * 14, complete=[False] * 14)
def test_the_monitor_one_event_at_a_time_equals_the_batch_checker(events, cuts, complete):
    env = Environment(registry=_Finals())
    alerts = []
    monitor = ComplianceMonitor(DATA_RULES, env=env, on_alert=alerts.append)
    before = {}
    done = 0
    for k in range(1, len(events) + 1):
        if k < len(events) and cuts[k]:
            continue  # two events in one write now and then (the general path)
        state = "done" if complete[k - 1] and k == len(events) else "open"
        write = WriteSet(Case("c", "p", 1, state, k, events[0].at, events[k - 1].at),
                         tuple(events[done:k]), done)
        alerts.clear()
        monitor(write)
        done = k
        fresh = Trace("c", "p", events[:k], complete=state == "done",
                      as_of_us=epoch_us(events[k - 1].at))
        expected = {r.id: r.evaluate(fresh, env) for r in DATA_RULES}
        assert monitor.verdicts("c") == expected
        turned = {i: o for i, o in expected.items()
                  if (i not in before or o.verdict is not before[i].verdict)
                  and o.verdict in (Verdict.POSSIBLY_VIOLATED, Verdict.VIOLATED)}
        assert {a.outcome.rule: a.outcome for a in alerts} == turned
        before = expected


class _Versioned:
    """A registry stand-in whose final state moved between two versions of the definition:
    ``done`` in version 1, ``closed`` in version 2."""

    def get(self, process, version=None):
        final = "done" if version == 1 else "closed"
        return SimpleNamespace(states=[SimpleNamespace(id=s, final=s == final)
                                       for s in ("open", "done", "closed")])


def test_a_case_moved_to_another_definition_version_is_complete_by_that_versions_finals():
    """The final states kept with a case's state are those of its definition version: a
    command after a migration reads the new version's (the state kept is folded onto)."""
    env = Environment(registry=_Versioned())
    rule = DataRule(id="d", activity="b", require=("x",))
    monitor = ComplianceMonitor([rule], env=env)
    events = [
        Event("c", i, T0.add(minutes=i), EventKind.TRANSITION, "u", "agent", "a", "s0", "s1",
              {}) for i in (1, 2, 3)]
    steps = [(1, "open"), (1, "closed"), (2, "closed")]  # version 2: closed is final
    for k, (version, state) in enumerate(steps, start=1):
        monitor(WriteSet(Case("c", "p", version, state, k, events[0].at, events[k - 1].at),
                         (events[k - 1],), k - 1))
        complete = (state == "done") if version == 1 else (state == "closed")
        fresh = Trace("c", "p", events[:k], complete=complete,
                      as_of_us=epoch_us(events[k - 1].at))
        assert monitor.verdicts("c") == {"d": rule.evaluate(fresh, env)}
    assert monitor.verdicts("c")["d"].verdict is Verdict.SATISFIED


# --- the clock rules judged from per-position slots vs the general path --------------------

_EDITS = ("keep", "copy", "swap", "drop_clocks", "no_record", "later", "reopen")


def _edited(write, edit, record):
    """``write`` with its SLA record changed as other writers could leave it: every entry an
    equal copy (no longer the very objects kept), two entries in each other's place, no
    clocks at all; or the case as of a later instant (a deadline may pass), or in a state
    that is not final."""
    import attrs

    from servicewf._frozen import FrozenDict, FrozenList

    case = write.case
    raw = case.extensions.get("sla")
    if edit == "later":
        case = attrs.evolve(case, updated_at=case.updated_at.add(days=record))
    elif edit == "reopen":
        case = attrs.evolve(case, state="investigating")
    elif edit == "no_record":
        case = attrs.evolve(case, extensions={})
    elif raw is not None and edit != "keep":
        entries = list(raw.get("clocks") or ())
        if edit == "copy":
            entries = [FrozenDict(dict(e)) for e in entries]
        elif edit == "swap" and len(entries) > 1:
            entries[0], entries[1] = entries[1], entries[0]
        elif edit == "drop_clocks":
            entries = []
        new = FrozenDict({**raw, "clocks": FrozenList(entries)})
        case = attrs.evolve(case, extensions={**case.extensions, "sla": new})
    return WriteSet(case, write.events, write.expected_version)


class _Draws:
    """Stands for ``st.data()`` in an example: hands out the given values in order."""

    def __init__(self, *values):
        self.values = list(values)

    def draw(self, strategy):
        return self.values.pop(0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@example(data=None)
# Twenty hours, then twenty more, before the second and third commands, nothing edited: a
# clock kept unchanged holds the earliest deadline ahead while another entry moves; the
# command after it passes must see it (the slots path keeps that deadline, not only the
# moved entries').
@example(data=_Draws(0, "keep", 1, 1200, "keep", 1, 1200, "keep", 1,
                     *[0, "keep", 1] * 7, 1))
# Clocks dropped from two records in a row, four days passing before the second: equal
# (empty) clock lists, the clock rules without an entry still folded.
@example(data=_Draws(*[0, "keep", 1] * 3, 0, "drop_clocks", 1, 5760, "drop_clocks", 1,
                     *[0, "keep", 1] * 5, 1))
def test_clock_rules_judged_from_slots_equal_the_general_path(data):
    """The one-event path judges the clock rules from per-position slots (entries kept by
    identity skipped, a completing or reopening case judging every entry, a moved entry's
    deadline only bringing the earliest one forward); a monitor whose slots are never kept
    (every command through _clocks and _moved) sees the same writes: after every write both
    hold the same verdicts and raised the same alerts, and their outcomes equal."""
    import attrs

    from servicewf.compliance import builtin_environment

    edits = []

    def before(clock, case):
        minutes = data.draw(st.sampled_from([0, 5, 60 * 20, 60 * 24 * 4])) if data else 0
        clock.advance(minutes=minutes)
        edits.append((data.draw(st.sampled_from(_EDITS)), data.draw(st.integers(1, 3)))
                     if data else ("keep", 1))

    engine, case, writes = _complaint_writes(_COMPLAINT_PATH, before)
    env = builtin_environment()
    if data is not None and data.draw(st.integers(0, 4)) == 0:
        # Clock entries with no SLA to bind them: the clock rules fold the history.
        env = attrs.evolve(env, sla=None)
    writes = [writes[0], *(_edited(w, *e) for w, e in zip(writes[1:], edits, strict=False))]
    fast = _slots_equal_general(writes, attrs.evolve(env, registry=engine.registry),
                                engine.store)
    assert fast._cases[case.id].slots is not None or \
        edits[-1][0] in ("drop_clocks", "no_record") or env.sla is None


def test_commands_exactly_on_deadlines_judged_as_on_the_general_path():
    """Each command of a complaint lands exactly on the earliest deadline of its running
    clocks (at that instant a clock is still pending, late only after it): the slots path
    gives the verdicts and alerts of a monitor on the general path at every write."""
    import attrs

    from servicewf.clock import epoch_us, from_epoch_us
    from servicewf.compliance import builtin_environment

    on_deadline = []

    def before(clock, case):
        now = epoch_us(clock.now())
        ahead = [d for e in case.extensions["sla"]["clocks"]
                 if type(d := e.get("deadline")) is int and d > now]
        if ahead:
            clock.set(from_epoch_us(min(ahead)))
            on_deadline.append(min(ahead))

    engine, _, writes = _complaint_writes(_COMPLAINT_PATH[:8], before)
    assert len(on_deadline) >= 2  # the schedule under test happened
    _slots_equal_general(writes, attrs.evolve(builtin_environment(), registry=engine.registry),
                         engine.store)


_COMPLAINT_PATH = ("record", "classify", "confirm_classification", "acknowledge",
                   "investigate", "resolve", "give_feedback", "close", "follow_up", "archive")


def _complaint_writes(path, before):
    """A complaint of the built-in stack fired along ``path`` (``before(clock, case)`` moves
    the clock before each command): the engine, the case, and every write committed."""
    import pendulum

    from servicewf import Actor, FrozenClock, MemoryStore
    from servicewf.processes.stack import builtin_stack
    from servicewf.testing import open_case, sample_data

    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))
    engine = builtin_stack(MemoryStore(), clock).engine
    writes = []
    engine.hooks.after_commit()(writes.append)
    definition = engine.registry.get("complaint")
    case = open_case(engine, "complaint")
    who = {"confirm_classification": Actor("zhao", "supervisor")}
    for trigger in path:
        before(clock, case)
        case = engine.fire(case, trigger, actor=who.get(trigger, Actor("wang", "agent")),
                           data=sample_data(definition, trigger, clock.now()))
    return engine, case, writes


def _slots_equal_general(writes, env, store):
    """Feed ``writes`` to a monitor and to one whose slots are never kept (the general clock
    path); after every write both hold the same verdicts and raised the same alerts. Returns
    the first."""
    from servicewf.compliance import builtin_catalogue
    from servicewf.compliance import monitor as monitor_module

    fast_alerts, slow_alerts = [], []
    fast = ComplianceMonitor(builtin_catalogue(), env=env, on_alert=fast_alerts.append,
                             store=store)
    slow = ComplianceMonitor(builtin_catalogue(), env=env, on_alert=slow_alerts.append,
                             store=store)
    original = monitor_module._Plan.slots
    for write in writes:
        fast(write)
        monitor_module._Plan.slots = lambda *a: None  # type: ignore[method-assign]
        try:
            slow(write)
        finally:
            monitor_module._Plan.slots = original  # type: ignore[method-assign]
        cid = write.case.id
        assert fast._cases[cid].verdicts == slow._cases[cid].verdicts
        assert fast_alerts == slow_alerts
        assert fast.verdicts(cid) == slow.verdicts(cid)
    return fast
