"""The KPIs of servicewf.reporting computed by hand with pandas, from the stored events.

Written apart from the package: it shares no code with ``servicewf.reporting`` or the SLA
fold. The clock rules of the demo's policies (service request default preset, complaint
business-centre preset) are written out below from ``processes.md`` and the presets' seed
sections; deadlines are worked out here (clock hours, the promised due time, working days
by level on the office calendar, each moved by the time the clock was paused), and a breach
is a stop after the deadline or a ``clock_breached`` event of that cycle. Only the business
calendar's arithmetic (``working_us``, ``add_working_days``, ``add_us``) is borrowed: it is
tested on its own against pandas' business hours.

Used by the tests (equal values on the demo's data) and by ``benchmarks/reporting.py`` (the
hand-written peer).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pendulum

from servicewf.calendar import BusinessCalendar

MIN = 60_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR

# (start, stop, cancel, reopen): each (states entered, triggers); pause states; target
CLOCKS: dict[str, dict[str, dict[str, Any]]] = {
    "service_request": {
        "first_response": dict(start=({"received"}, set()),
                               stop=({"confirmed"}, {"request_info"}),
                               cancel=({"cancelled", "rejected"}, set()),
                               pause={"waiting_customer"}, target=("hours", 30 * MIN)),
        "confirmation": dict(start=({"received"}, set()), stop=({"confirmed"}, set()),
                             cancel=({"cancelled", "rejected"}, set()),
                             pause={"waiting_customer"}, target=("hours", DAY)),
        "resolution": dict(start=({"confirmed"}, set()), stop=({"delivered"}, set()),
                           cancel=({"cancelled", "rejected"}, set()),
                           pause={"waiting_customer"}, target=("due", "due")),
        "feedback_processing": dict(start=({"delivered"}, set()),
                                    stop=({"accepted"}, {"rework"}),
                                    cancel=({"cancelled", "rejected"}, set()),
                                    target=("hours", DAY)),
        "post_service_contact": dict(start=({"delivered"}, set()), stop=(set(), {"follow_up"}),
                                     cancel=({"cancelled", "rejected"}, set()),
                                     target=("hours", DAY)),
        "second_follow_up": dict(start=({"delivered"}, set()), stop=(set(), {"follow_up"}),
                                 cancel=({"cancelled", "rejected"}, set()),
                                 earliest=15 * DAY, target=("hours", 30 * DAY)),
    },
    "complaint": {
        "record": dict(start=({"received"}, set()), stop=({"recorded"}, set()),
                       cancel=({"invalid"}, set()), target=("hours", DAY)),
        "acknowledge": dict(start=({"received"}, set()), stop=({"acknowledged"}, set()),
                            cancel=({"invalid"}, set()), target=("hours", DAY)),
        "resolve": dict(start=({"received"}, set()), stop=({"resolved"}, set()),
                        cancel=({"invalid"}, set()), reopen=(set(), {"reopen"}),
                        target=("working_days", "level",
                                {"緊急": 2, "一般": 3, "重要": 5})),
        "follow_up": dict(start=({"closed"}, set()), stop=(set(), {"follow_up"}),
                          target=("hours", 30 * DAY)),
    },
}
LEVEL = {"service_request": ("priority", {"緊急": "urgent", "重要": "important",
                                          "普通": "normal"}),
         "complaint": ("level", {"一般": "general", "重要": "important", "緊急": "urgent"})}
LADDER = {"service_request": ["agent", "supervisor", "manager"],
          "complaint": ["agent", "supervisor", "manager", "executive"]}
FIRST_TIER = {"complaint": {"一般": "agent", "重要": "supervisor", "緊急": "manager"}}
RESOLVED = {"service_request": {"delivered"}, "complaint": {"resolved"}}
FINAL = {"service_request": {"archived", "cancelled", "rejected"},
         "complaint": {"invalid", "archived"}}
REOPEN = {"service_request": {"rework"}, "complaint": {"reopen"}}
WAITING = {"service_request": {"request_info", "wait_customer"}, "complaint": set()}
ASKED = {"service_request": {"delivered"}, "complaint": {"feedback_given"}}
RESPONSE = {"service_request": "first_response", "complaint": "acknowledge"}
RESOLUTION = {"service_request": "resolution", "complaint": "resolve"}
TOP2 = {"非常滿意", "滿意", "非常满意", "满意", "very satisfied", "satisfied",
        "very_satisfied"}


# --- loading ------------------------------------------------------------------------------


def frame_from_sqlite(path: str) -> pd.DataFrame:
    """Every stored event of a SQLite database, with its case's process, straight from the
    tables."""
    with sqlite3.connect(path) as conn:
        df = pd.read_sql_query(
            "select e.case_id, e.seq, e.at, e.kind, e.\"trigger\", e.source, e.dest, e.data, "
            "c.process from events e join cases c on c.id = e.case_id", conn)
    df["data"] = df["data"].map(json.loads)
    return df


def frame_from_events(events: Iterable[Any], index: Mapping[str, Any]) -> pd.DataFrame:
    """The same frame from ``Event`` values and a case id → process (or (process, version))
    mapping."""
    rows = []
    for e in events:
        entry = index.get(e.case_id)
        if entry is None:
            continue
        process = entry if isinstance(entry, str) else entry[0]
        at = e.at
        rows.append((e.case_id, e.seq, int(at.timestamp()) * 1_000_000 + at.microsecond,
                     e.kind.value, e.trigger, e.source, e.dest, dict(e.data), process))
    return pd.DataFrame(rows, columns=["case_id", "seq", "at", "kind", "trigger", "source",
                                       "dest", "data", "process"])


def _pair_in(frame: pd.DataFrame, column: str, table: Mapping[str, set[str]]) -> pd.Series:
    """Rows whose (process, column) value is one of ``table[process]``."""
    keys = {(p, v) for p, values in table.items() for v in values}
    return pd.Series([(p, v) in keys for p, v in zip(frame["process"], frame[column],
                                                        strict=True)],
                     index=frame.index, dtype=bool)


def _us(value: Any) -> int:
    t = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return int(t.timestamp()) * 1_000_000 + t.microsecond


# --- clocks -----------------------------------------------------------------------------------


def _clock_cycles(case_id: str, process: str, rows: list[tuple[Any, ...]],
                  breaches: set[tuple[str, str, int]], calendar: BusinessCalendar,
                  as_of: int) -> list[dict[str, Any]]:
    """Every cycle of every clock of one case, by hand."""
    out = []
    for name, rule in CLOCKS[process].items():
        cycles: list[dict[str, Any]] = []
        cur: dict[str, Any] | None = None
        pause_since: int | None = None
        data: dict[str, Any] = {}
        for at, kind, trigger, source, dest, ev_data in rows:
            if kind not in ("opened", "transition"):
                continue
            data.update(ev_data)
            moved = source != dest
            entering = dest if moved else None

            def hit(cond: tuple[set[str], set[str]] | None, entering: str | None = entering,
                    trigger: str | None = trigger) -> bool:
                return cond is not None and (entering in cond[0] or trigger in cond[1])

            if cur is not None and cur["status"] == "running":
                if hit(rule["stop"]) and not (
                        "earliest" in rule and at < cur["start"] + rule["earliest"]):
                    if pause_since is not None:
                        cur["pauses"].append((pause_since, at))
                        pause_since = None
                    cur.update(status="stopped", stop=at, data=dict(data))
                    if hit(rule["start"]):
                        cur = {"start": at, "status": "running", "pauses": [], "reopens": 0}
                        cycles.append(cur)
                    continue
                if hit(rule.get("cancel")):
                    cur.update(status="cancelled", stop=at, data=dict(data))
                    continue
                paused = dest in rule.get("pause", ())
                if paused and pause_since is None:
                    pause_since = at
                elif not paused and pause_since is not None:
                    cur["pauses"].append((pause_since, at))
                    pause_since = None
                continue
            if cur is not None and cur["status"] == "stopped" and hit(rule.get("reopen")):
                cur["pauses"].append((cur["stop"], at))
                cur.update(status="running", stop=None, reopens=cur["reopens"] + 1)
                continue
            if hit(rule["start"]):
                cur = {"start": at, "status": "running", "pauses": [], "reopens": 0}
                cycles.append(cur)
                if dest in rule.get("pause", ()):
                    pause_since = at
        for number, c in enumerate(cycles, start=1):
            spans = list(c["pauses"])
            if c is cur and pause_since is not None and c["status"] == "running":
                spans.append((pause_since, None))
            target = rule["target"]
            d = c.get("data", data)
            closed = [(a, z) for a, z in spans if z is not None]
            if target[0] == "hours":
                deadline = c["start"] + target[1] + sum(z - a for a, z in closed)
            elif target[0] == "due":
                due = d.get(target[1])
                deadline = None if due is None else _us(due) + sum(z - a for a, z in closed)
            else:
                days = target[2].get(d.get(target[1]))
                if days is None:
                    deadline = None
                else:
                    deadline = _us(calendar.add_working_days(
                        pendulum.from_timestamp(c["start"] / 1e6), days))
                    worked = sum(calendar.working_us(a, z) for a, z in closed)
                    if worked:
                        deadline = calendar.add_us(deadline, worked)
            breached = (case_id, name, number) in breaches
            status = c["status"]
            if status == "running":
                outcome = "open"
                overdue = breached or (deadline is not None and deadline < as_of
                                       and not any(z is None for _, z in spans))
            elif status == "cancelled":
                outcome, overdue = "cancelled", False
            else:
                overdue = False
                if breached or (deadline is not None and c["stop"] > deadline):
                    outcome = "breached"
                elif deadline is None:
                    outcome = "no_goal"
                else:
                    outcome = "met"
            row = dict(case_id=case_id, process=process, clock=name, cycle=number,
                       start=c["start"], stop=c.get("stop") if status != "running" else None,
                       outcome=outcome, overdue=overdue, reopens=c["reopens"])
            if status != "running":
                z = c["stop"]
                row["calendar"] = z - c["start"]
                paused_cal = sum(b - a for a, b in closed)
                paused_bus = sum(calendar.working_us(a, b) for a, b in closed)
                row["business"] = calendar.working_us(c["start"], z) - paused_bus
                row["paused_calendar"] = paused_cal
            out.append(row)
    return out


def _tier(process: str, rows: list[tuple[Any, ...]]) -> str:
    tier = None
    data: dict[str, Any] = {}
    for _at, kind, trigger, _source, _dest, ev_data in rows:
        if kind in ("opened", "transition"):
            data.update(ev_data)
        if kind == "transition" and trigger == "escalate":
            if ev_data.get("tier") is not None:
                tier = str(ev_data["tier"])
            else:
                current = tier or _first_tier(process, data)
                ladder = LADDER[process]
                i = ladder.index(current) if current in ladder else -1
                tier = ladder[i + 1] if i + 1 < len(ladder) else current
        elif kind == "escalated" and ev_data.get("tier") is not None:
            tier = str(ev_data["tier"])
    return tier or _first_tier(process, data)


def _first_tier(process: str, data: Mapping[str, Any]) -> str:
    found = FIRST_TIER.get(process, {}).get(data.get("level"))
    return found or LADDER[process][0]


# --- the KPIs ---------------------------------------------------------------------------------


def kpis(df: pd.DataFrame, *, calendar: BusinessCalendar, as_of: int, lo: int | None,
         hi: int, tz: str) -> dict[str, pd.DataFrame]:
    """Every KPI as a DataFrame (rates as floats), from the events frame ``df``."""
    df = df[df["at"] <= as_of].sort_values(["case_id", "seq"])
    tickets = df[df["process"].isin(CLOCKS)]
    breaches = {(c, d["clock"], int(d["cycle"])) for c, d in
                tickets.loc[tickets["kind"] == "clock_breached", ["case_id", "data"]]
                .itertuples(index=False)}

    # per case: rows, level, tier, clock cycles
    cycles: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for (case_id, process), g in tickets.groupby(["case_id", "process"], sort=False):
        rows = list(g[["at", "kind", "trigger", "source", "dest", "data"]]
                    .itertuples(index=False, name=None))
        field, names = LEVEL[process]
        values = [d[field] for d in g["data"] if field in d]
        level = names.get(values[-1], str(values[-1])) if values else ""
        tier = _tier(process, rows)
        for c in _clock_cycles(str(case_id), str(process), rows, breaches, calendar, as_of):
            c.update(level=level, tier=tier)
            cycles.append(c)
        cases.append(dict(case_id=case_id, process=process))
    cyc = pd.DataFrame(cycles)
    out: dict[str, pd.DataFrame] = {}

    # attainment
    done = cyc[cyc["stop"].notna() & (cyc["stop"] < hi)
               & ((cyc["stop"] >= lo) if lo is not None else True)].copy()
    openc = cyc[cyc["outcome"] == "open"].copy()
    local = pd.to_datetime(done["stop"], unit="us", utc=True).dt.tz_convert(tz)
    day = local.dt.normalize()
    done["period"] = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    frames = []
    for by, col in (("all", None), ("level", "level"), ("tier", "tier"), ("period", "period")):
        d = done.assign(key="" if col is None else done[col])
        counts = pd.crosstab([d["process"], d["clock"], d["key"]], d["outcome"])
        if by != "period":
            o = openc.assign(key="" if col is None else openc[col])
            extra = o.groupby(["process", "clock", "key"]).agg(
                open=("outcome", "size"), open_overdue=("overdue", "sum"))
            counts = counts.join(extra, how="outer")
        counts = counts.fillna(0).astype(int).reset_index()
        counts["by"] = by
        frames.append(counts)
    att = pd.concat(frames, ignore_index=True).fillna(0)
    for column in ("met", "breached", "too_early", "cancelled", "no_goal", "open",
                   "open_overdue"):
        if column not in att:
            att[column] = 0
        att[column] = att[column].astype(int)
    judged = att["met"] + att["breached"] + att["too_early"]
    att["attainment"] = (att["met"] / judged).where(judged > 0)
    out["attainment"] = att

    # durations
    timed = done[done["outcome"] != "cancelled"]
    dur = timed.groupby(["process", "clock"]).agg(
        cycles=("calendar", "size"), reopened=("reopens", lambda s: int((s > 0).sum())),
        paused=("paused_calendar", lambda s: int((s > 0).sum())),
        calendar_median=("calendar", lambda s: (s / 1e6).median()),
        calendar_p90=("calendar", lambda s: (s / 1e6).quantile(0.9)),
        business_median=("business", lambda s: (s / 1e6).median()),
        business_p90=("business", lambda s: (s / 1e6).quantile(0.9))).reset_index()
    out["durations"] = dur

    # within deadline: each ticket's last resolution cycle completed in the period
    res = done[_pair_in(done, "clock", {p: {c} for p, c in RESOLUTION.items()})]
    last = res.sort_values("cycle").groupby(["case_id", "process", "clock"]).tail(1)
    last = last[last["outcome"].isin(["met", "breached", "too_early"])]
    wd = last.groupby(["process", "clock"]).agg(
        closed=("outcome", "size"), within=("outcome", lambda s: int((s == "met").sum())))
    wd["rate"] = wd["within"] / wd["closed"]
    out["within_deadline"] = wd.reset_index()

    # per-case KPIs
    moves = tickets[tickets["kind"].isin(["opened", "transition"])]
    first_resolved = (moves[_pair_in(moves, "dest", RESOLVED)]
                      .groupby("case_id")["at"].min())
    reopened = moves[_pair_in(moves, "trigger", REOPEN) & ~_pair_in(moves, "dest", RESOLVED)
                     & ~_pair_in(moves, "dest", FINAL)]
    waited = set(moves.loc[_pair_in(moves, "trigger", WAITING), "case_id"])
    esc = tickets[(tickets["kind"] == "escalated")
                  | ((tickets["kind"] == "transition") & (tickets["trigger"] == "escalate"))]
    hand = tickets[(tickets["kind"] == "transition") & (tickets["trigger"] == "hand_over")]
    base = pd.DataFrame(cases).drop_duplicates("case_id").set_index("case_id")
    base["first_resolved"] = first_resolved
    base["reopened"] = base.index.isin(set(reopened["case_id"]))
    base["fcr"] = ~(base["reopened"] | base.index.isin(waited)
                    | base.index.isin(set(esc["case_id"])) | base.index.isin(set(hand["case_id"])))

    def period(s: pd.Series) -> pd.Series:
        return (s < hi) & ((s >= lo) if lo is not None else True)

    resolved = base[base["first_resolved"].notna() & period(base["first_resolved"])]
    ro = resolved.groupby("process").agg(resolved=("reopened", "size"),
                                         reopened=("reopened", "sum"),
                                         first_contact=("fcr", "sum"))
    ro["reopen_rate"] = ro["reopened"] / ro["resolved"]
    ro["fcr"] = ro["first_contact"] / ro["resolved"]
    out["reopen"] = ro.reset_index()

    esc_p = esc[period(esc["at"])]
    hand_p = hand[period(hand["at"])]
    er = pd.DataFrame({"escalations": esc_p.groupby("process").size(),
                       "handovers": hand_p.groupby("process").size(),
                       "escalated_cases": esc_p.groupby("process")["case_id"].nunique()},
                      index=sorted(base["process"].unique())).fillna(0).astype(int)
    er["tier_hops"] = er["escalations"] + er["handovers"]
    # ping-pong: a case whose tier sequence (escalated events' from/tier, escalate
    # transitions naming a tier) returns to a tier it had left
    pong: dict[str, int] = {}
    for (_case, process), g in tickets.groupby(["case_id", "process"], sort=False):
        seq: list[str] = []
        for kind, trigger, data in g[["kind", "trigger", "data"]].itertuples(index=False,
                                                                             name=None):
            if kind == "escalated":
                if not seq and data.get("from") is not None:
                    seq.append(str(data["from"]))
                if data.get("tier") is not None:
                    seq.append(str(data["tier"]))
            elif kind == "transition" and trigger == "escalate" and data.get("tier"):
                seq.append(str(data["tier"]))
        runs = [t for i, t in enumerate(seq) if i == 0 or seq[i - 1] != t]
        pong[process] = pong.get(process, 0) + (len(runs) != len(set(runs)))
    er["ping_pong_cases"] = pd.Series(pong).reindex(er.index).fillna(0).astype(int)
    out["escalations"] = er.rename_axis("process").reset_index()

    rated = moves[moves["data"].map(lambda d: d.get("satisfaction") is not None)]
    last_rating = rated.groupby("case_id").tail(1).set_index("case_id")
    asked = moves[_pair_in(moves, "dest", ASKED)].groupby("case_id")["at"].min()
    base["asked"] = asked
    base["rated_at"] = last_rating["at"]
    base["top2"] = last_rating["data"].map(
        lambda d: str(d["satisfaction"]).strip().lower() in TOP2
        or (isinstance(d["satisfaction"], (int, float)) and d["satisfaction"] >= 3.5))
    asked_p = base[base["asked"].notna() & period(base["asked"])]
    rated_p = base[base["rated_at"].notna() & period(base["rated_at"])]
    cs = pd.DataFrame({"asked": asked_p.groupby("process").size(),
                       "answered": asked_p[asked_p["rated_at"].notna()].groupby("process")
                       .size(),
                       "ratings": rated_p.groupby("process").size(),
                       "satisfied": rated_p[rated_p["top2"] == True].groupby("process")  # noqa: E712
                       .size()},
                      index=sorted(base["process"].unique())).fillna(0).astype(int)
    cs["csat"] = (cs["satisfied"] / cs["ratings"]).where(cs["ratings"] > 0)
    cs["response_rate"] = (cs["answered"] / cs["asked"]).where(cs["asked"] > 0)
    out["csat"] = cs.rename_axis("process").reset_index()

    opened = moves[moves["kind"] == "opened"].set_index("case_id")["at"]
    invalid = set(moves.loc[(moves["process"] == "complaint") & (moves["dest"] == "invalid"),
                            "case_id"])
    comp = base[base["process"] == "complaint"].copy()
    comp["opened"] = opened
    comp = comp[period(comp["opened"])]
    handled = comp["first_resolved"].notna() | comp.index.isin(invalid)
    out["handling"] = pd.DataFrame([{"process": "complaint", "received": len(comp),
                                     "handled": int(handled.sum())}]) if len(comp) else \
        pd.DataFrame(columns=["process", "received", "handled"])

    # obligations
    obl = df[df["process"] == "obligation"]
    kinds = obl[obl["kind"] == "opened"].set_index("case_id")["data"].map(
        lambda d: (str(d.get("kind", "")), str(d.get("cadence", ""))))
    due = obl[(obl["kind"] == "obligation_due") & period(obl["at"])].copy()
    due["status"] = due["data"].map(lambda d: d.get("status"))
    due = due[due["status"].isin(["met", "missed"])]
    due["kc"] = due["case_id"].map(kinds)
    ob = due.groupby(["kc", "status"]).size().unstack(fill_value=0)
    rows = [{"kind": k, "cadence": c, "met": int(r.get("met", 0)),
             "missed": int(r.get("missed", 0))} for (k, c), r in ob.iterrows()]
    out["obligations"] = pd.DataFrame(rows, columns=["kind", "cadence", "met", "missed"])

    # backlog: open intervals per case
    out["backlog"] = _backlog(moves, opened, first_resolved, lo, hi, tz)
    out["cycles"] = cyc
    return out


def _backlog(moves: pd.DataFrame, opened: pd.Series, first_resolved: pd.Series,
             lo: int | None, hi: int, tz: str) -> pd.DataFrame:
    spans = []
    for (case_id, process), g in moves.groupby(["case_id", "process"], sort=False):
        a: int | None = None
        for at, kind, trigger, dest in g[["at", "kind", "trigger", "dest"]].itertuples(
                index=False, name=None):
            done = dest in RESOLVED[process] or dest in FINAL[process]
            if kind == "opened":
                a = at
            elif done and a is not None:
                spans.append((process, case_id, a, at))
                a = None
            elif not done and a is None and trigger in REOPEN[process]:
                a = at
        if a is not None:
            spans.append((process, case_id, a, None))
    sp = pd.DataFrame(spans, columns=["process", "case_id", "a", "z"])
    first = int(opened.min()) if lo is None else lo
    start = pd.Timestamp(first, unit="us", tz="UTC").tz_convert(tz).normalize()
    end = pd.Timestamp(hi, unit="us", tz="UTC")
    samples = []
    day = start
    while True:
        close = day + pd.DateOffset(days=1)
        samples.append((day.strftime("%Y-%m-%d"),
                        min(int(close.tz_convert("UTC").value // 1000), hi),
                        int(day.tz_convert("UTC").value // 1000)))
        if close >= end:
            break
        day = close
    rows = []
    proc_of = moves.drop_duplicates("case_id").set_index("case_id")["process"]
    fr = first_resolved
    for process in sorted(sp["process"].unique()):
        s = sp[sp["process"] == process]
        o = opened[proc_of.reindex(opened.index) == process]
        r = fr[proc_of.reindex(fr.index) == process]
        previous = None
        for key, at, day_start in samples:
            live = s[(s["a"] <= at) & (s["z"].isna() | (s["z"] > at))]
            ages = (at - o.reindex(live["case_id"]).to_numpy()) / 1e6
            low = day_start if previous is None else previous
            ages_s = pd.Series(ages, dtype=float)
            rows.append({"process": process, "day": key, "open": len(live),
                         "age_median": ages_s.median() if len(live) else None,
                         "age_p90": ages_s.quantile(0.9) if len(live) else None,
                         "age_max": ages_s.max() if len(live) else None,
                         "created": int(((o >= low) & (o < at)).sum()),
                         "resolved": int(((r >= low) & (r < at)).sum())})
            previous = at
    return pd.DataFrame(rows)
