"""Rule templates against an oracle written from the LTLf definitions (by brute force over the
positions, independently of the checker), the four verdicts on open cases, and the rules that
read data, roles, time and retention."""

from __future__ import annotations

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf.compliance import (
    Absence,
    AlternatePrecedence,
    AlternateResponse,
    ChainPrecedence,
    ChainResponse,
    ChainSuccession,
    Coexistence,
    Condition,
    DataRule,
    Duration,
    Existence,
    HandlerTier,
    History,
    Init,
    NotCoexistence,
    NotSuccession,
    Precedence,
    RespondedExistence,
    Response,
    Retention,
    RoleRule,
    Succession,
    Verdict,
    Window,
    Within,
    check,
)
from servicewf.errors import InvalidRule
from servicewf.events import Event, EventKind

T0 = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")  # a Monday


def ev(i, act, *, at=None, role="agent", **data):
    return Event("c", i, (at or T0.add(minutes=i)), EventKind.TRANSITION, "u", role, act,
                 None, act, data)


def trace(acts):
    return [ev(i, a) for i, a in enumerate(acts, 1)]


# --- the oracle: each template's violation, straight from its formula -----------------------


def oracle(template, acts, a, b, complete=True):
    """(violated, activations) by brute force; open cases: pending counts as not violated."""
    n = len(acts)
    A = [i for i in range(n) if acts[i] == a]
    B = [i for i in range(n) if acts[i] == b]
    if template == "response":
        bad = [i for i in A if not any(j > i for j in B)]
        return bool(bad) and complete, len(A)
    if template == "precedence":
        return any(not any(i < j for i in A) for j in B), len(B)
    if template == "succession":
        r, ra = oracle("response", acts, a, b, complete)
        p, pa = oracle("precedence", acts, a, b, complete)
        return r or p, ra + pa
    if template == "chain_response":
        bad = [i for i in A if i + 1 < n and acts[i + 1] != b] + \
              [i for i in A if i + 1 == n and complete]
        return bool(bad), len(A)
    if template == "chain_precedence":
        return any(j == 0 or acts[j - 1] != a for j in B), len(B)
    if template == "chain_succession":
        r, ra = oracle("chain_response", acts, a, b, complete)
        p, pa = oracle("chain_precedence", acts, a, b, complete)
        return r or p, ra + pa
    if template == "responded_existence":
        return bool(A) and not B and complete, len(A)
    if template == "coexistence":
        return (bool(A) != bool(B)) and complete, len(A) + len(B)
    if template == "not_coexistence":
        return bool(A) and bool(B), len(A) + len(B)
    if template == "not_succession":
        return any(j > i for i in A for j in B), len(A)
    if template == "alternate_response":
        bad = []
        for k, i in enumerate(A):
            nxt = A[k + 1] if k + 1 < len(A) else n
            if not any(i < j < nxt for j in B) and (nxt < n or complete):
                bad.append(i)
        return bool(bad), len(A)
    if template == "alternate_precedence":
        bad = []
        for k, j in enumerate(B):
            prev = B[k - 1] if k else -1
            if not any(prev < i < j for i in A):
                bad.append(j)
        return bool(bad), len(B)
    raise AssertionError(template)


BINARY = {"response": Response, "precedence": Precedence, "succession": Succession,
          "chain_response": ChainResponse, "chain_precedence": ChainPrecedence,
          "chain_succession": ChainSuccession, "responded_existence": RespondedExistence,
          "coexistence": Coexistence, "not_coexistence": NotCoexistence,
          "not_succession": NotSuccession, "alternate_response": AlternateResponse,
          "alternate_precedence": AlternatePrecedence}


@pytest.mark.parametrize("template", sorted(BINARY))
@settings(max_examples=60, deadline=None)
@given(acts=st.lists(st.sampled_from("abc"), max_size=10), complete=st.booleans())
def test_binary_templates_match_their_formula(template, acts, complete):
    rule = BINARY[template](id="r", source="a", target="b")
    report = check([History("c", None, trace(acts), complete)], [rule])
    if not acts:
        assert report.cases == 0
        return
    (o,) = report.outcomes
    violated, activations = oracle(template, acts, "a", "b", complete)
    assert (o.verdict is Verdict.VIOLATED) == violated, (acts, o)
    assert len(o.activations) == activations
    assert len(o.fulfilments) + len(o.violations) + len(o.pending) == len(o.activations)
    if not complete and not violated:
        assert o.verdict in (Verdict.POSSIBLY_SATISFIED, Verdict.POSSIBLY_VIOLATED,
                             Verdict.SATISFIED)
    # the batch (vectorised) path gives the same counts on a log of copies
    many = check([History(f"c{k}", None, [e.__class__(**{**_fields(e), "case_id": f"c{k}"})
                                          for e in trace(acts)], complete)
                  for k in range(64)], [rule])
    s = many.rule("r")
    assert (s.activations, s.fulfilments, s.violations, s.pending) == (
        64 * len(o.activations), 64 * len(o.fulfilments), 64 * len(o.violations),
        64 * len(o.pending))
    assert dict(s.verdicts)[o.verdict.value] == 64


def _fields(e):
    return {f: getattr(e, f) for f in ("case_id", "seq", "at", "kind", "actor_id", "role",
                                       "trigger", "source", "dest", "data", "comment")}


@settings(max_examples=80, deadline=None)
@given(acts=st.lists(st.sampled_from("abc"), min_size=1, max_size=8), k=st.integers(0, 3),
       complete=st.booleans())
def test_unary_templates_match_their_formula(acts, k, complete):
    h = [History("c", None, trace(acts), complete)]
    count = acts.count("a")
    rules = [Existence(id="e", activity="a", at_least=k),
             Existence(id="x", activity="a", at_least=1, at_most=max(k, 1)),
             Absence(id="n", activity="a", at_most=k), Init(id="i", activity="a")]
    for report in (check(h, rules), check(h * 64, rules)):
        v = report.violated_rules("c")
        assert ("e" in v) == (count < k and complete)
        assert ("x" in v) == (count > max(k, 1) or (count == 0 and complete))
        assert ("n" in v) == (count > k)
        assert ("i" in v) == (acts[0] != "a")


def test_four_verdicts_on_an_open_case():
    open_case = History("c", None, trace(["a", "x"]), complete=False)
    report = check([open_case], [
        Response(id="pending", source="a", target="b"),
        Precedence(id="ok_so_far", source="a", target="x"),
        Existence(id="done", activity="a"),
        Absence(id="broken", activity="x"),
    ])
    verdicts = {o.rule: o.verdict for o in report.outcomes}
    assert verdicts == {"pending": Verdict.POSSIBLY_VIOLATED,
                        "ok_so_far": Verdict.POSSIBLY_SATISFIED,
                        "done": Verdict.SATISFIED, "broken": Verdict.VIOLATED}
    pending = report.outcome("pending", "c")
    assert pending.pending == (1,) and "not followed by b" in pending.reason
    closed = check([History("c", None, trace(["a", "x"]), complete=True)],
                   [Response(id="pending", source="a", target="b")])
    assert closed.outcomes[0].verdict is Verdict.VIOLATED
    assert closed.outcomes[0].violations == (1,)


def test_data_role_and_tier_rules_name_the_events():
    events = [ev(1, "open"), ev(2, "classify", level="重要"),
              ev(3, "investigate", role="agent"), ev(4, "escalate", tier="manager"),
              ev(5, "resolve", role="manager", result=""), ev(6, "close", role="customer",
                                                                satisfaction="不滿意")]
    rules = [
        DataRule(id="D", activity="resolve", require=("result",)),
        DataRule(id="S", activity="close", check=(Condition("satisfaction", "is_not",
                                                            "dissatisfied"),)),
        RoleRule(id="R", activity="close", roles=("agent", "supervisor")),
        HandlerTier(id="T", activity=("investigate", "resolve"),
                    tiers=("agent", "supervisor", "manager"),
                    level_tiers={"general": "agent", "important": "supervisor"},
                    normalise="complaint_level"),
    ]
    report = check([events], rules)
    got = {o.rule: (o.verdict, o.violations, o.fulfilments) for o in report.outcomes}
    assert got == {"D": (Verdict.VIOLATED, (5,), ()), "S": (Verdict.VIOLATED, (6,), ()),
                   "R": (Verdict.VIOLATED, (6,), ()),
                   "T": (Verdict.VIOLATED, (3,), (5,))}
    assert report.outcome("T", "c").reason.endswith("the case's tier is supervisor")


def test_within_counts_business_time_and_pauses():
    # received Friday 17:00 Shanghai; 3 business hours on the office calendar end Monday 11:00
    fri = pendulum.datetime(2026, 3, 6, 17, tz="Asia/Shanghai")
    rule = Within(id="W", start="open", stop="answer",
                  limit=Duration(3, "business_hours"), calendar="office",
                  pause="wait", resume="resume")
    mon = pendulum.datetime(2026, 3, 9, 0, tz="Asia/Shanghai")
    in_time = [ev(1, "open", at=fri), ev(2, "answer", at=mon.add(hours=10, minutes=59))]
    late = [ev(1, "open", at=fri), ev(2, "answer", at=mon.add(hours=11, minutes=1))]
    # paused Friday 17:30 to Monday 10:00: 1.5 business hours, so due Monday 13:30
    paused = [ev(1, "open", at=fri), ev(2, "wait", at=fri.add(minutes=30)),
              ev(3, "resume", at=mon.add(hours=10)),
              ev(4, "answer", at=mon.add(hours=13, minutes=29))]
    verdicts = [check([h], [rule]).outcomes[0].verdict for h in (in_time, late, paused)]
    assert verdicts == [Verdict.SATISFIED, Verdict.VIOLATED, Verdict.SATISFIED]
    running = [ev(1, "open", at=fri)]
    before = check([History("c", None, running, False)], [rule],
                   as_of=mon.add(hours=10, minutes=59))
    after = check([History("c", None, running, False)], [rule],
                  as_of=mon.add(hours=11, minutes=1))
    assert before.outcomes[0].verdict is Verdict.POSSIBLY_VIOLATED
    assert after.outcomes[0].verdict is Verdict.VIOLATED


def test_window_and_retention():
    rule = Window(id="F", start="deliver", stop="follow_up", earliest=15, latest=30,
                  calendar="office")
    early = [ev(1, "deliver", at=T0), ev(2, "follow_up", at=T0.add(days=10))]
    inside = [ev(1, "deliver", at=T0), ev(2, "follow_up", at=T0.add(days=20))]
    assert check([early], [rule]).outcomes[0].verdict is Verdict.VIOLATED
    assert check([inside], [rule]).outcomes[0].verdict is Verdict.SATISFIED
    keep = Retention(id="R1", activity="archive", years=3, required=True)
    short = [ev(1, "archive", at=T0, retain_until="2028-03-01")]
    long = [ev(1, "archive", at=T0, retain_until="2029-03-02")]
    purged = [ev(1, "archive", at=T0, retain_until="2031-01-01"),
              ev(2, "purge", at=T0.add(years=1))]
    assert [check([h], [keep]).outcomes[0].verdict for h in (short, long, purged)] == [
        Verdict.VIOLATED, Verdict.SATISFIED, Verdict.VIOLATED]


def test_bad_rules_are_refused():
    with pytest.raises(InvalidRule):
        Response(id="", source="a", target="b")
    with pytest.raises(InvalidRule):
        Condition("f", "resembles")
    with pytest.raises(InvalidRule):
        Duration(2, "fortnights")
    with pytest.raises(InvalidRule):
        Existence(id="e", activity="a", at_least=2, at_most=1)
    with pytest.raises(InvalidRule, match="two rules have the id"):
        check([trace(["a"])], [Init(id="x", activity="a"), Init(id="x", activity="b")])


@pytest.mark.parametrize(("value", "given"), [
    (None, False), ("", False), ("  ", False), ([], False), ({}, False), ((), False),
    ("x", True), ([0], True), ({"k": 1}, True), (0, True), (0.0, True), (False, True),
])
def test_a_required_field_counts_as_given_unless_empty(value, given):
    rule = DataRule(id="D", activity="close", require=("f",), at="event")
    report = check([[ev(1, "close", f=value)]], [rule])
    assert (report.outcomes[0].verdict is Verdict.SATISFIED) == given


def test_within_deadlines_are_exact_to_the_microsecond():
    start = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
    for unit, span in (("minutes", pendulum.duration(minutes=90)),
                       ("hours", pendulum.duration(hours=90)),
                       ("days", pendulum.duration(days=90))):
        rule = Within(id="W", start="open", stop="answer", limit=Duration(90, unit))
        on_time = [ev(1, "open", at=start), ev(2, "answer", at=start + span)]
        late = [ev(1, "open", at=start),
                ev(2, "answer", at=start + span + pendulum.duration(microseconds=1))]
        assert check([on_time], [rule]).outcomes[0].verdict is Verdict.SATISFIED, unit
        assert check([late], [rule]).outcomes[0].verdict is Verdict.VIOLATED, unit
    office = Within(id="B", start="open", stop="answer",
                    limit=Duration(2, "working_days"), calendar="office")
    fri = pendulum.datetime(2026, 3, 6, 10, tz="Asia/Shanghai")
    tue_close = pendulum.datetime(2026, 3, 10, 18, tz="Asia/Shanghai")
    assert check([[ev(1, "open", at=fri), ev(2, "answer", at=tue_close)]],
                 [office]).outcomes[0].verdict is Verdict.SATISFIED
    assert check([[ev(1, "open", at=fri),
                   ev(2, "answer", at=tue_close.add(microseconds=1))]],
                 [office]).outcomes[0].verdict is Verdict.VIOLATED


def test_reasons_name_what_is_wrong():
    rule = DataRule(id="D", activity="close",
                    check=(Condition("owner", "absent", at="event"),))
    report = check([[ev(1, "close", owner="li")]], [rule])
    assert report.outcomes[0].reason == "close at #1: not owner absent"
    quiet = check([[ev(1, "open")]], [rule])
    assert quiet.outcomes[0].reason == "not activated"
    ok = check([[ev(1, "close")]], [rule])
    assert ok.outcomes[0].reason == "1 activations, all fulfilled"
    with pytest.raises(InvalidRule, match="names a field"):
        Condition("")


@pytest.mark.parametrize("rule", [
    Response(id="r", source=("a", "b"), target="b"),
    Precedence(id="r", source="b", target=("a", "b")),
    ChainResponse(id="r", source=("a", "b"), target="b"),
    AlternateResponse(id="r", source=("a", "b"), target="b"),
])
@pytest.mark.parametrize("acts", [["b"], ["a", "b"], ["b", "b"], ["a", "b", "a"]])
def test_overlapping_activity_sets_give_the_same_counts_on_both_paths(rule, acts):
    one = check([trace(acts)], [rule])
    many = check([History(f"c{k}", None, [e.__class__(**{**_fields(e), "case_id": f"c{k}"})
                                          for e in trace(acts)]) for k in range(64)], [rule])
    o, s = one.outcomes[0], many.rule("r")
    assert (s.activations, s.fulfilments, s.violations, s.pending) == (
        64 * len(o.activations), 64 * len(o.fulfilments), 64 * len(o.violations),
        64 * len(o.pending))


def test_the_vectorised_path_takes_the_declare_templates():
    from servicewf.compliance import _fast

    assert _fast.available()
    assert all(_fast.supports(r) for r in (
        Existence(id="e", activity="a"), Absence(id="n", activity="a"),
        Init(id="i", activity="a"), Response(id="r", source="a", target="b"),
        Succession(id="s", source="a", target="b")))
    assert not _fast.supports(Succession(id="s", source="a", target=("a", "b")))
    assert not _fast.supports(Response(id="r", source="a", target="b",
                                       when=(Condition("f"),)))
    assert not _fast.supports(DataRule(id="d", activity="a", require="f"))
    big = check([History(f"c{k}", None, trace(["a", "b"])) for k in range(64)],
                [Response(id="r", source="a", target="b")])
    assert big._outcomes is None  # counted in arrays; outcomes built when read
    assert len(big.outcomes) == 64 and big.outcomes[5].case_id == "c5"


def test_not_coexistence_of_an_activity_with_itself_is_judged_not_crashed():
    """A and B overlapping (the same activity): one occurrence is no pair (this raised an
    IndexError), a second one is."""
    rule = NotCoexistence(id="r", source="a", target="a")
    one = check([History("c", None, trace(["a"]), True)], [rule]).outcome("r", "c")
    assert one is not None and one.verdict is Verdict.SATISFIED
    two = check([History("c", None, trace(["a", "b", "a"]), True)], [rule]).outcome("r", "c")
    assert two is not None and two.violations == (3,)
