"""The vectorised batch path: Declare templates over a whole log at once, with NumPy.

A log of many cases is encoded once as an integer array of activities (cases one after the
other); each template is a handful of array operations giving, per case, the numbers of
activations, fulfilments, violations and pending activations and whether the outcome is settled.
The results equal the per-case evaluation of :mod:`~servicewf.compliance.rules` exactly (the
tests compare them on generated logs); the per-event details (sequence numbers, reasons) are
computed from the rules themselves when a report's outcomes are read.

NumPy is optional (it comes with pandas, and with ``servicewf[fast]``): without it, or for a rule
this module does not vectorise (``supports`` says which), the checker evaluates per variant.
Hand-written rather than taken from a library because no permissively licensed library
evaluates Declare templates (pm4py and Declare4Py are AGPL/GPL, 2025).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from servicewf.compliance.rules import (
    Absence,
    AlternatePrecedence,
    AlternateResponse,
    ChainPrecedence,
    ChainResponse,
    ChainSuccession,
    Coexistence,
    Existence,
    Init,
    NotCoexistence,
    Precedence,
    RespondedExistence,
    Response,
    Rule,
    Succession,
    _Binary,
)

__all__ = ["Counts", "available", "evaluate", "supports"]

Counts = tuple[Any, Any, Any, Any, Any]
"""Per case (NumPy arrays): activations, fulfilments, violations, pending, settled (bool)."""

_PAIRS = (Response, Precedence, Succession, ChainResponse, ChainPrecedence, ChainSuccession,
          RespondedExistence, Coexistence, NotCoexistence, AlternateResponse,
          AlternatePrecedence)


def available() -> bool:
    """Whether NumPy can be imported."""
    try:
        import numpy  # noqa: F401
    except ImportError:  # pragma: no cover - numpy comes with the dev environment
        return False
    return True


def supports(rule: Rule) -> bool:
    """Whether :func:`evaluate` vectorises ``rule`` (a pure unary or binary Declare template;
    the conjunctions among them only when their two activity sets are disjoint)."""
    if isinstance(rule, (Existence, Absence)):
        return not rule.when
    if isinstance(rule, Init):
        return True
    if isinstance(rule, _PAIRS):
        assert isinstance(rule, _Binary)
        if rule.when:
            return False
        if isinstance(rule, (Succession, ChainSuccession, Coexistence, NotCoexistence)):
            return not set(rule.source) & set(rule.target)
        return True
    return False


class Log:
    """A batch of cases encoded for the array operations."""

    def __init__(self, names: Sequence[str], lengths: Sequence[int],
                 complete: Sequence[bool]) -> None:
        """``names``: the activities of every case, one case after the other; ``lengths``:
        how many each case has; ``complete``: whether each case is."""
        import numpy as np

        codes = {a: i for i, a in enumerate(dict.fromkeys(names))}
        self.np = np
        self.codes = codes
        self.x = np.fromiter(map(codes.__getitem__, names), dtype=np.int32, count=len(names))
        flat = names
        self.n = np.asarray(lengths, dtype=np.int64)
        self.ends = np.cumsum(self.n)
        self.starts = self.ends - self.n
        self.pos = np.arange(len(flat), dtype=np.int64)
        self.case_of = np.repeat(np.arange(len(lengths)), self.n)
        self.start_ev = self.starts[self.case_of]
        self.end_ev = self.ends[self.case_of]
        self.complete = np.asarray(complete, dtype=bool)
        self.big = len(flat) + 1
        self._masks: dict[tuple[str, ...], Any] = {}
        self._mask_of: dict[int, tuple[str, ...]] = {}
        self._derived: dict[tuple[str, int], Any] = {}

    def mask(self, names: Sequence[str]) -> Any:
        key = tuple(names)
        found = self._masks.get(key)
        if found is None:
            ids = [self.codes[n] for n in names if n in self.codes]
            found = (self.np.isin(self.x, ids) if ids
                     else self.np.zeros(len(self.x), dtype=bool))
            found.flags.writeable = False
            self._masks[key] = found
            self._mask_of[id(found)] = key
        return found

    def _memo(self, op: str, m: Any, compute: Any) -> Any:
        """``compute(m)``, kept per mask: several rules of a model share their activities,
        so each derived array of a mask is computed once per log (kept read-only)."""
        if self._masks.get(self._mask_of.get(id(m), ())) is not m:
            return compute(m)  # a temporary array: nothing to share
        key = (op, id(m))
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = compute(m)
            found.flags.writeable = False
        return found

    def per_case(self, values: Any) -> Any:
        """Sum of ``values`` (one per event) per case."""
        return self._memo("per_case", values, self._per_case)

    def _per_case(self, values: Any) -> Any:
        np = self.np
        if not len(values):
            return np.zeros(len(self.n), dtype=np.int64)
        running = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
        return running[self.ends] - running[self.starts]

    def first(self, m: Any) -> Any:
        """Per case, the global index of the first marked event (``big`` when none)."""
        return self._memo("first", m, self._first)

    def _first(self, m: Any) -> Any:
        np = self.np
        arr = np.where(m, self.pos, self.big)
        return np.minimum.reduceat(arr, self.starts) if len(arr) else arr

    def last(self, m: Any) -> Any:
        """Per case, the global index of the last marked event (-1 when none)."""
        return self._memo("last", m, self._last)

    def _last(self, m: Any) -> Any:
        np = self.np
        arr = np.where(m, self.pos, -1)
        return np.maximum.reduceat(arr, self.starts) if len(arr) else arr

    def next_after(self, m: Any) -> Any:
        """Per event, the global index of the next marked event after it (any case)."""
        return self._memo("next_after", m, self._next_after)

    def _next_after(self, m: Any) -> Any:
        np = self.np
        arr = np.where(m, self.pos, self.big)
        suffix = np.minimum.accumulate(arr[::-1])[::-1]
        return np.append(suffix[1:], self.big)

    def prev_before(self, m: Any) -> Any:
        """Per event, the global index of the previous marked event before it (any case)."""
        return self._memo("prev_before", m, self._prev_before)

    def _prev_before(self, m: Any) -> Any:
        np = self.np
        arr = np.where(m, self.pos, -1)
        prefix = np.maximum.accumulate(arr)
        return np.concatenate(([-1], prefix[:-1]))


def _finish(log: Log, act: Any, ful: Any, vio: Any, pend: Any, settled: Any) -> Counts:
    """Pending activations of complete cases are violations (as ``rules._judge``)."""
    np = log.np
    moved = np.where(log.complete, pend, 0)
    return act, ful, vio + moved, pend - moved, settled


def _pair(log: Log, rule: _Binary) -> Counts:
    np = log.np
    ma, mb = log.mask(rule.source), log.mask(rule.target)
    zero = np.zeros(len(log.n), dtype=np.int64)
    no = np.zeros(len(log.n), dtype=bool)
    pc = log.per_case

    def response() -> tuple[Any, Any, Any, Any]:
        last_b = log.last(mb)[log.case_of]
        pend_ev = ma & (log.pos >= last_b)
        act = pc(ma)
        pend = pc(pend_ev)
        return act, act - pend, zero, pend

    def precedence() -> tuple[Any, Any, Any, Any]:
        first_a = log.first(ma)[log.case_of]
        vio_ev = mb & (log.pos <= first_a)
        act = pc(mb)
        vio = pc(vio_ev)
        return act, act - vio, vio, zero

    def chain_response() -> tuple[Any, Any, Any, Any]:
        nb = np.append(mb[1:], False)
        is_last = log.pos == log.end_ev - 1
        act = pc(ma)
        pend = pc(ma & is_last)
        ful = pc(ma & nb & ~is_last)
        return act, ful, act - pend - ful, pend

    def chain_precedence() -> tuple[Any, Any, Any, Any]:
        pa = np.concatenate(([False], ma[:-1]))
        ok = mb & pa & (log.pos != log.start_ev)
        act = pc(mb)
        ful = pc(ok)
        return act, ful, act - ful, zero

    def responded(a: Any, b: Any) -> tuple[Any, Any, Any, Any]:
        act = pc(a)
        has_b = pc(b) > 0
        return act, np.where(has_b, act, 0), zero, np.where(has_b, 0, act)

    def add(*parts: tuple[Any, Any, Any, Any]) -> tuple[Any, Any, Any, Any]:
        return tuple(sum(p[k] for p in parts) for k in range(4))  # type: ignore[return-value,unused-ignore]

    if isinstance(rule, Response):
        act, ful, vio, pend = response()
        settled = no
    elif isinstance(rule, Precedence):
        act, ful, vio, pend = precedence()
        settled = no
    elif isinstance(rule, Succession):
        act, ful, vio, pend = add(response(), precedence())
        settled = no
    elif isinstance(rule, ChainResponse):
        act, ful, vio, pend = chain_response()
        settled = no
    elif isinstance(rule, ChainPrecedence):
        act, ful, vio, pend = chain_precedence()
        settled = no
    elif isinstance(rule, ChainSuccession):
        act, ful, vio, pend = add(chain_response(), chain_precedence())
        settled = no
    elif isinstance(rule, RespondedExistence):
        act, ful, vio, pend = responded(ma, mb)
        settled = (act > 0) & (pend == 0)
    elif isinstance(rule, Coexistence):
        act, ful, vio, pend = add(responded(ma, mb), responded(mb, ma))
        settled = (act > 0) & (pend == 0)
    elif isinstance(rule, NotCoexistence):
        ca, cb = pc(ma), pc(mb)
        act = ca + cb
        both = (ca > 0) & (cb > 0)
        first = np.minimum(log.first(ma), log.first(mb))[log.case_of]
        vio = np.where(both, pc((ma | mb) & (log.pos > first)), 0)
        ful, pend, settled = act - vio, zero, no
    elif isinstance(rule, AlternateResponse):
        nxt_a = log.next_after(ma)
        nxt_b = log.next_after(mb)
        end = log.end_ev
        has_b = nxt_b < end
        has_a = nxt_a < end
        ok = ma & has_b & (~has_a | (nxt_b < nxt_a))
        act = pc(ma)
        ful = pc(ok)
        vio = pc(ma & ~ok & has_a)
        pend = act - ful - vio
        settled = no
    else:
        assert isinstance(rule, AlternatePrecedence)
        prev_b = np.maximum(log.prev_before(mb), log.start_ev - 1)
        prev_a = log.prev_before(ma)
        ok = mb & (prev_a > prev_b) & (prev_a >= log.start_ev)
        act = pc(mb)
        ful = pc(ok)
        vio, pend, settled = act - ful, zero, no
    return _finish(log, act, ful, vio, pend, settled)


def evaluate(log: Log, rule: Rule) -> Counts:
    """Per-case counts of ``rule`` over ``log`` (:func:`supports` must hold)."""
    np = log.np
    ones = np.ones(len(log.n), dtype=np.int64)
    zero = np.zeros(len(log.n), dtype=np.int64)
    if isinstance(rule, Existence):
        count = log.per_case(log.mask(rule.activity))
        enough = count >= rule.at_least
        over = (count > rule.at_most) if rule.at_most is not None else np.zeros_like(enough)
        ok = enough & ~over
        vio = (over | (~enough & log.complete)).astype(np.int64)
        pend = (~enough & ~over & ~log.complete).astype(np.int64)
        settled = ok if rule.at_most is None else np.zeros_like(ok)
        return ones, ok.astype(np.int64), vio, pend, settled
    if isinstance(rule, Absence):
        act = log.per_case(log.mask(rule.activity))
        vio = np.maximum(act - rule.at_most, 0)
        return act, act - vio, vio, zero, np.zeros(len(log.n), dtype=bool)
    if isinstance(rule, Init):
        ok = log.mask(rule.activity)[log.starts] if len(log.x) else np.zeros(0, dtype=bool)
        okn = ok.astype(np.int64)
        return ones, okn, 1 - okn, zero, ok
    assert isinstance(rule, _Binary)
    return _pair(log, rule)
