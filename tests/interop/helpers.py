"""Small logs and definitions for the interop tests."""

from __future__ import annotations

import csv
import gzip
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import pendulum

from servicewf import DefinitionBuilder, Engine, FrozenClock, ProcessDefinition
from servicewf.definition import guard

BPIC = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / \
    "bpic2013_incidents.csv.gz"
if not BPIC.exists():  # the worktree lives at /work/wt/<name>, shared/ beside /work/main
    BPIC = pathlib.Path("/work/shared/data/bpic2013_incidents.csv.gz")

LATER = pendulum.datetime(2040, 1, 1, tz="UTC")


def write_csv(path: pathlib.Path, rows: Iterable[Mapping[str, Any]],
              fields: list[str], *, gz: bool = False) -> pathlib.Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:  # type: ignore[operator]
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for row in rows:
            w.writerow(dict(row))
    return path


@guard(rule="R1", explain="a priority must be set")
def has_priority(ctx: Any) -> bool:
    return bool(ctx.value("priority"))


def ticket() -> ProcessDefinition:
    """new -> working -> resolved -> closed, a wait state, roles, a guard, required data."""
    return (
        DefinitionBuilder("ticket", 1)
        .add_state("new", initial=True)
        .add_state("working")
        .add_state("waiting")
        .add_state("resolved")
        .add_state("closed", final=True)
        .add_guard(has_priority)
        .add_transition("start", "new", "working", roles=["agent"], conditions="has_priority")
        .add_transition("wait", "working", "waiting", roles=["agent"])
        .add_transition("resume", "waiting", "working", roles=["agent"])
        .add_transition("resolve", "working", "resolved", roles=["agent"],
                        required=["solution"])
        .add_transition("close", "resolved", "closed", roles=["agent", "lead"])
        .build()
    )


def engine_for(store: Any, *definitions: ProcessDefinition, **kw: Any) -> Engine:
    return Engine(store, FrozenClock(LATER), list(definitions) or [ticket()], **kw)
