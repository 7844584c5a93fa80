"""The KPIs that apply to an imported BPIC 2013 incident history, computed by hand with pandas
from the stored events.

Written apart from ``servicewf.reporting`` and the SLA fold, from the written rules of the
BPIC process (``servicewf.interop.bpic2013``'s docstrings, restated here as plain sets):

- the ``resolution`` clock starts when the incident opens, stops on entering Resolved,
  Closed or In Call, is cancelled on entering Cancelled or Unmatched, does not count in the
  Wait sub-statuses, runs again when work resumes (the ``accepted_in_progress`` trigger)
  after a stop (the stopped time counts as paused), and its goal is 120 hours of elapsed
  time, moved by the time it was paused; there is no business calendar (24×7), so business
  time is elapsed time less the pauses;
- a ticket is resolved when it first enters Resolved, Closed or In Call; it is reopened when
  work resumes while it stood resolved or ended; waiting on the user or customer makes it
  no first contact resolution; its level is its latest ``impact``;
- the backlog counts the incidents open (opened, not resolved nor ended, or reopened) at
  the end of each day.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pandas as pd

PROCESS = "bpic2013_incident"
HOUR = 3_600_000_000
TARGET = 120 * HOUR
STOP = {"completed_resolved", "completed_closed", "completed_in_call"}
CANCEL = {"completed_cancelled", "unmatched_unmatched"}
PAUSE = {"accepted_wait", "accepted_wait_user", "accepted_wait_customer",
         "accepted_wait_implementation", "accepted_wait_vendor"}
ENDED = STOP | CANCEL  # with the definition's final states (Closed, In Call, Cancelled...)
RESUME = "accepted_in_progress"
WAITING = {"accepted_wait_user", "accepted_wait_customer"}
TIER = "agent"


def frame_from_sqlite(path: str) -> pd.DataFrame:
    """The stored events of the BPIC cases of a SQLite database, straight from the tables."""
    with sqlite3.connect(path) as conn:
        df = pd.read_sql_query(
            "select e.case_id, e.seq, e.at, e.kind, e.\"trigger\", e.source, e.dest, e.data "
            "from events e join cases c on c.id = e.case_id where c.process = ?", conn,
            params=(PROCESS,))
    df["data"] = df["data"].map(json.loads)
    return df


def _cycle(case_id: str, moves: list[tuple[int, str, Any, Any, str]],
           as_of: int) -> dict[str, Any] | None:
    """The resolution clock of one incident (it has one cycle: nothing starts it again)."""
    start = stop = None
    status = None
    pauses: list[tuple[int, int]] = []
    since: int | None = None
    reopens = 0
    for at, _kind, trigger, source, dest in moves:
        entering = dest if source != dest else None
        if status is None:
            if entering == "new":
                start, status = at, "running"
            continue
        if status == "running":
            if entering in STOP:
                if since is not None:
                    pauses.append((since, at))
                    since = None
                status, stop = "stopped", at
            elif entering in CANCEL:
                if since is not None:
                    pauses.append((since, at))
                    since = None
                status, stop = "cancelled", at
            elif dest in PAUSE and since is None:
                since = at
            elif dest not in PAUSE and since is not None:
                pauses.append((since, at))
                since = None
        elif status == "stopped" and trigger == RESUME:
            assert stop is not None
            pauses.append((stop, at))
            status, stop, reopens = "running", None, reopens + 1
    if start is None:
        return None
    held = sum(z - a for a, z in pauses)
    deadline = start + TARGET + held
    row: dict[str, Any] = dict(case_id=case_id, cycle=1, start=start, stop=stop,
                               reopens=reopens, deadline=deadline)
    if status == "running":
        row.update(outcome="open", overdue=since is None and deadline < as_of)
    elif status == "cancelled":
        row.update(outcome="cancelled", overdue=False)
    else:
        assert stop is not None
        row.update(outcome="breached" if stop > deadline else "met", overdue=False,
                   calendar=stop - start, business=stop - start - held,
                   paused_calendar=held)
    return row


def kpis(df: pd.DataFrame, *, as_of: int, lo: int | None, hi: int,
         tz: str) -> dict[str, pd.DataFrame]:
    """The KPIs of the BPIC incidents as DataFrames, from the events frame ``df``."""
    df = df[df["at"] <= as_of].sort_values(["case_id", "seq"])
    moves = df[df["kind"].isin(["opened", "transition"])]

    def period(s: pd.Series) -> pd.Series:
        return (s < hi) & ((s >= lo) if lo is not None else True)

    cycles, cases, spans = [], [], []
    for case_id, g in moves.groupby("case_id", sort=False):
        rows = list(g[["at", "kind", "trigger", "source", "dest"]]
                    .itertuples(index=False, name=None))
        impacts = [d["impact"] for d in g["data"] if "impact" in d]
        level = str(impacts[-1]) if impacts else ""
        c = _cycle(str(case_id), rows, as_of)
        if c is not None:
            c["level"] = level
            cycles.append(c)
        first_resolved = None
        reopened = waited = False
        open_since: int | None = None
        for at, kind, trigger, _source, dest in rows:
            if kind == "opened":
                open_since = at
            elif dest in ENDED:
                if first_resolved is None and dest in STOP:
                    first_resolved = at
                if open_since is not None:
                    spans.append((case_id, open_since, at))
                    open_since = None
            elif trigger == RESUME and open_since is None:
                reopened = True
                open_since = at
            if trigger in WAITING:
                waited = True
        if open_since is not None:
            spans.append((case_id, open_since, None))
        cases.append(dict(case_id=case_id, opened=rows[0][0], first_resolved=first_resolved,
                          reopened=reopened, fcr=not (reopened or waited)))
    cyc = pd.DataFrame(cycles)
    base = pd.DataFrame(cases).set_index("case_id")
    out: dict[str, pd.DataFrame] = {}

    # attainment: completed cycles by the stop's period, open ones as of as_of
    done = cyc[cyc["stop"].notna()].copy()
    done = done[period(done["stop"])]
    openc = cyc[cyc["outcome"] == "open"]
    local = pd.to_datetime(done["stop"], unit="us", utc=True).dt.tz_convert(tz).dt.normalize()
    done["period"] = (local - pd.to_timedelta(local.dt.day_of_week, unit="D")) \
        .dt.strftime("%Y-%m-%d")
    # No escalation happens in the log: every incident stays at the first tier of a policy's
    # default ladder.
    done["tier"] = TIER
    openc = openc.assign(tier=TIER)
    rows = []
    for by, col in (("all", None), ("level", "level"), ("tier", "tier"),
                    ("period", "period")):
        if col is None:
            groups = [("", done, openc)]
        else:
            keys = set(done[col]) | (set(openc[col]) if by != "period" else set())
            groups = [(k, done[done[col] == k],
                       openc[openc[col] == k] if by != "period" else openc.iloc[0:0])
                      for k in sorted(keys)]
        for key, d, o in groups:
            counts = d["outcome"].value_counts()
            met, breached = int(counts.get("met", 0)), int(counts.get("breached", 0))
            rows.append(dict(process=PROCESS, clock="resolution", by=by, key=key, met=met,
                             breached=breached, too_early=0,
                             cancelled=int(counts.get("cancelled", 0)), no_goal=0,
                             open=len(o), open_overdue=int(o["overdue"].sum()),
                             attainment=met / (met + breached) if met + breached else None))
    out["attainment"] = pd.DataFrame(rows)

    timed = done[done["outcome"] != "cancelled"]
    out["durations"] = pd.DataFrame([dict(
        process=PROCESS, clock="resolution", cycles=len(timed),
        reopened=int((timed["reopens"] > 0).sum()),
        paused=int((timed["paused_calendar"] > 0).sum()),
        calendar_median=(timed["calendar"] / 1e6).median(),
        calendar_p90=(timed["calendar"] / 1e6).quantile(0.9),
        business_median=(timed["business"] / 1e6).median(),
        business_p90=(timed["business"] / 1e6).quantile(0.9))])

    judged = timed[timed["outcome"].isin(["met", "breached"])]
    out["within_deadline"] = pd.DataFrame([dict(
        process=PROCESS, clock="resolution", closed=len(judged),
        within=int((judged["outcome"] == "met").sum()),
        rate=(judged["outcome"] == "met").mean() if len(judged) else None)])

    resolved = base[base["first_resolved"].notna()]
    resolved = resolved[period(resolved["first_resolved"])]
    out["reopen"] = pd.DataFrame([dict(
        process=PROCESS, resolved=len(resolved), reopened=int(resolved["reopened"].sum()),
        first_contact=int(resolved["fcr"].sum()),
        reopen_rate=resolved["reopened"].mean() if len(resolved) else None,
        fcr=resolved["fcr"].mean() if len(resolved) else None)])

    out["backlog"] = _backlog(pd.DataFrame(spans, columns=["case_id", "a", "z"]), base,
                              lo, hi, tz)
    out["cycles"] = cyc
    return out


def _backlog(spans: pd.DataFrame, base: pd.DataFrame, lo: int | None, hi: int,
             tz: str) -> pd.DataFrame:
    """Open incidents at the end of each local day (the last day ends at ``hi``)."""
    first = int(base["opened"].min()) if lo is None else lo
    days = pd.date_range(pd.Timestamp(first, unit="us", tz="UTC").tz_convert(tz).normalize(),
                         pd.Timestamp(hi, unit="us", tz="UTC").tz_convert(tz), freq="D")
    ends = [min(int((d + pd.DateOffset(days=1)).tz_convert("UTC").value // 1000), hi)
            for d in days]
    begins = [int(days[0].tz_convert("UTC").value // 1000), *ends[:-1]]
    opened = base["opened"]
    resolved = base["first_resolved"].dropna()
    z = spans["z"].astype("float64").fillna(float("inf")).to_numpy()
    a = spans["a"].to_numpy()
    age_of = opened.reindex(spans["case_id"]).to_numpy()
    rows = []
    for d, low, at in zip(days, begins, ends, strict=True):
        live = (a <= at) & (z > at)
        ages = pd.Series((at - age_of[live]) / 1e6, dtype=float)
        rows.append(dict(process=PROCESS, day=d.strftime("%Y-%m-%d"), open=int(live.sum()),
                         age_median=ages.median() if len(ages) else None,
                         age_p90=ages.quantile(0.9) if len(ages) else None,
                         age_max=ages.max() if len(ages) else None,
                         created=int(((opened >= low) & (opened < at)).sum()),
                         resolved=int(((resolved >= low) & (resolved < at)).sum())))
    return pd.DataFrame(rows)
