"""Declare models in pm4py's dict form and the same constraints as servicewf rules (the
templates both support), for the agreement tests (pm4py is AGPL: tests and benchmarks only)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pendulum

from servicewf.compliance import (
    Absence,
    AlternatePrecedence,
    AlternateResponse,
    ChainPrecedence,
    ChainResponse,
    ChainSuccession,
    Coexistence,
    Existence,
    History,
    Init,
    NotCoexistence,
    Precedence,
    RespondedExistence,
    Response,
    Rule,
    Succession,
)
from servicewf.events import Event, EventKind

BPIC = Path(os.environ.get("SERVICEWF_DATA", Path(__file__).resolve().parents[3] / "shared"
                           / "data")) / "bpic2013_incidents.csv.gz"
if not BPIC.exists():
    BPIC = Path("/work/shared/data/bpic2013_incidents.csv.gz")

PAIRS: Mapping[str, type[Rule]] = {
    "responded_existence": RespondedExistence, "coexistence": Coexistence,
    "noncoexistence": NotCoexistence, "response": Response, "precedence": Precedence,
    "succession": Succession, "altresponse": AlternateResponse,
    "altprecedence": AlternatePrecedence, "chainresponse": ChainResponse,
    "chainprecedence": ChainPrecedence, "chainsuccession": ChainSuccession,
}
UNARY = ("existence", "absence", "exactly_one", "init")


def rule_id(template: str, key: Any) -> str:
    return f"{template}:{key}"


def rules_of(model: Mapping[str, Mapping[Any, Any]]) -> list[Rule]:
    """servicewf rules for every constraint of a pm4py Declare model."""
    out: list[Rule] = []
    for template, items in model.items():
        for key in items:
            rid = rule_id(template, key)
            if template == "existence":
                out.append(Existence(id=rid, activity=key))
            elif template == "absence":
                out.append(Absence(id=rid, activity=key))
            elif template == "exactly_one":
                out.append(Existence(id=rid, activity=key, at_most=1))
            elif template == "init":
                out.append(Init(id=rid, activity=key))
            else:
                out.append(PAIRS[template](id=rid, source=key[0], target=key[1]))
    return out


def model_over(a: str, b: str, c: str, d: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """A model using every template both tools support, over four activities."""
    model: dict[str, dict[Any, dict[str, Any]]] = {
        "existence": {a: {}, c: {}}, "absence": {d: {}}, "exactly_one": {c: {}},
        "init": {a: {}}}
    for template in PAIRS:
        model[template] = {(a, b): {}, (b, c): {}}
    model["noncoexistence"][(c, d)] = {}
    return model


BPIC_MODEL = model_over("Accepted-In Progress", "Completed-Resolved", "Completed-Closed",
                        "Accepted-Wait - Vendor")
BPIC_MODEL["response"][("Queued-Awaiting Assignment", "Accepted-In Progress")] = {}
BPIC_MODEL["precedence"][("Queued-Awaiting Assignment", "Accepted-Assigned")] = {}


def bpic_histories(limit: int | None = None) -> tuple[list[History], Any]:
    """The BPIC 2013 incidents as servicewf histories (activity = Status-Sub Status, in time
    order per case, ties in file order) and the same log as a pm4py-ready DataFrame."""
    import pandas as pd

    with gzip.open(BPIC, "rt", encoding="utf-8") as f:
        df = pd.read_csv(f, usecols=["SR Number", "Change Date+Time", "Activity", "Resource",
                                     "ST Level"])
    df["ts"] = pd.to_datetime(df["Change Date+Time"], utc=True, format="ISO8601")
    df = df.sort_values(["SR Number", "ts"], kind="stable")
    if limit is not None:
        keep = df["SR Number"].drop_duplicates().iloc[:limit]
        df = df[df["SR Number"].isin(keep)]
    histories: list[History] = []
    utc = pendulum.UTC
    for cid, g in df.groupby("SR Number", sort=True):
        events = [Event(str(cid), i, pendulum.instance(ts.to_pydatetime(), tz=utc),
                        EventKind.TRANSITION, str(r), str(lvl), str(a), None, str(a))
                  for i, (a, ts, r, lvl) in enumerate(
                      zip(g["Activity"], g["ts"], g["Resource"], g["ST Level"], strict=True), 1)]
        histories.append(History(str(cid), None, events))
    frame = pd.DataFrame({"case:concept:name": df["SR Number"].astype(str),
                          "concept:name": df["Activity"].astype(str),
                          "time:timestamp": df["ts"]})
    return histories, frame
