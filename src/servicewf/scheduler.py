"""The scheduler: one loop that settles every kind of due timer and runs periodic passes.

Subsystems plug in; the scheduler knows none of them:

- a :class:`TimerHandler` owns a timer-name prefix (the SLA clocks ``sla:`` and their
  pending breach actions ``sla-breach:``, recurring obligations ``obl:``, compliance alerts,
  retention...) and settles the due timers under it, one case at a time;
- a :class:`Pass` runs once after each round of timers (the outbox relay: a
  :class:`DispatchPass` over a :class:`~servicewf.outbox.Dispatcher`).

Plugging either in is one line::

    scheduler = Scheduler(engine, [obligations]).add(alerts).add_pass(DispatchPass(dispatcher))

Several schedulers (workers, processes, machines) share a store safely: each claims due
timers with a lease (``Store.claim_due_timers``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
re-reads each claimed case and asks the handler owning the timer's prefix to settle it. What
makes this safe when a worker dies anywhere (``SIGKILL``, a dropped connection):

- a claimed timer is only leased: until a write settles it, it stays in the store and its
  lease lapses for the next worker, so a dead worker delays its timers by one lease and
  loses none;
- every settlement is a write through the engine (one versioned, atomic write-set): a write
  that lost a race (``StaleVersion``) is retried on the reloaded case, which the handler
  decides again from scratch, so nothing is recorded twice;
- what cannot be processed (a row that does not decode, an unreadable case, a timer no
  handler owns, a handler that raises) is *quarantined*: set aside with a back-off that
  doubles at each attempt, reported in :attr:`SweepReport.quarantined` and listed by
  ``Store.quarantined_timers()``, while the sweep goes on with the rest;
- a database error (:class:`~servicewf.errors.StorageError`) is not the timer's fault: it
  ends the round and quarantines nothing (the worker loop retries with back-off).

A stop event is checked between batches: a scheduler asked to stop settles the batch it
has claimed (never abandoning claimed timers half-way) and leaves the backlog to the others.

The clock is the engine's: the scheduler never reads the wall clock.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.errors import (
    CaseNotFound,
    CommandRefused,
    CorruptRecord,
    StaleVersion,
    StorageError,
    TimeOutOfOrder,
    UnknownProcess,
)
from servicewf.events import EventKind
from servicewf.storage.base import (
    QuarantinedTimer,
    Store,
    Timer,
    WriteSet,
    check_timers,
    check_write,
)

if typing.TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.outbox import Dispatcher

__all__ = ["DispatchPass", "Listener", "Pass", "Scheduler", "SweepContext", "SweepEvent",
           "SweepReport", "TimerHandler", "merge_owned_timers", "merge_writes"]

log = logging.getLogger("servicewf.sweep")


@attrs.frozen
class SweepEvent:
    """What a listener hears: ``kind`` is ``"warning"``, ``"breach"`` or ``"escalated"`` for
    SLA clocks; other handlers add their own kinds (e.g. ``"obligation_due"``)."""

    kind: str
    case: Case
    clock: str
    data: Any = None


Listener = Callable[[SweepEvent], None]


@attrs.define
class SweepReport:
    """What one round of the scheduler (one :meth:`Scheduler.run`) did."""

    timers: int = 0
    cases: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    retries: int = 0
    skipped: dict[str, str] = attrs.field(factory=dict)
    """Cases the sweep could not read (a corrupt row, an unknown process or version), with
    why; their timers are quarantined."""
    counts: dict[str, int] = attrs.field(factory=dict)
    """What other handlers and the passes recorded, by name (e.g. ``{"obligation_due": 3,
    "outbox_delivered": 12}``)."""
    quarantined: list[QuarantinedTimer] = attrs.field(factory=list)
    """Timers set aside by this sweep (with why, the attempts and until when); the store
    lists all of them (``store.quarantined_timers()``)."""
    stopped: bool = False
    """True when the sweep stopped on its ``stop`` event before the backlog was done."""

    def count(self, what: str, n: int = 1) -> None:
        """Add ``n`` to ``counts[what]`` (for handlers other than the SLA, and passes)."""
        self.counts[what] = self.counts.get(what, 0) + n


class SweepContext:
    """What every :class:`TimerHandler` and :class:`Pass` receives: the engine, ``now``,
    the round's report, the listeners, the scheduler's lease, and helpers that record events
    as the system actor. (The SLA's handlers see it as a
    :class:`~servicewf.sla.sweep.ActionContext`, which adds the SLA and ``escalate``.)"""

    def __init__(self, engine: Engine, now: _dt.datetime, report: SweepReport,
                 listeners: Sequence[Listener], actor: Actor = SYSTEM) -> None:
        self.engine = engine
        self.now = now
        self.actor = actor
        self.report = report
        self.listeners = listeners
        self.lease = _dt.timedelta(0)
        """The scheduler's lease: how long a claimed timer stays reserved to it."""
        self.stop: threading.Event | None = None
        """Set when the worker is asked to stop: a pass that loops checks it between steps."""

    @property
    def stopping(self) -> bool:
        """Whether the round was asked to stop (:attr:`stop` is set)."""
        return self.stop is not None and self.stop.is_set()

    def record(self, case: Case, kind: EventKind, data: dict[str, Any],
               comment: str | None = None) -> Case:
        """Append a non-moving event to ``case`` (through the processors)."""
        return self.engine.record(case, kind, actor=self.actor, data=data, comment=comment)

    def commit(self, write: WriteSet) -> Case:
        """Commit a write-set planned by the engine."""
        return self.engine.commit(write)

    def notify(self, kind: str, case: Case, clock: str, data: Any = None) -> None:
        """Call every listener (integrator hooks: mail, chat, a ticket comment...)."""
        for listener in self.listeners:
            listener(SweepEvent(kind, case, clock, data))


@runtime_checkable
class TimerHandler(Protocol):
    """Settles the due timers whose names start with :attr:`timer_prefix`.

    ``settle`` is called once per claimed case with the case freshly read; it records what
    is due at ``ctx.now`` through ``ctx.engine`` (whose processors reset the case's timers,
    ending the lease) and returns whether it wrote anything. When it wrote nothing it must
    reset its own timers (:func:`~servicewf.storage.base.replace_timers`, which keeps other
    subsystems' timers), or the lease lapses and the timer is claimed again. A
    ``StaleVersion`` it raises makes the scheduler re-read the case and call it again.
    """

    timer_prefix: str

    def settle(self, ctx: Any, case: Case) -> bool: ...


class Pass(Protocol):
    """A job the scheduler runs once after each round of timers (the outbox relay, a
    retention purge...). ``run`` does one bounded pass and returns counts by name, which
    are added to the round's :attr:`SweepReport.counts`. A database error it raises is
    retried like a failed sweep; the pass must be safe to run again (idempotent, or leased
    like the dispatcher). A pass that loops stops early once ``ctx.stopping`` is true (the
    worker was asked to stop)."""

    name: str

    def run(self, ctx: SweepContext) -> Mapping[str, int]: ...


class DispatchPass:
    """The outbox relay as a :class:`Pass`: :meth:`~servicewf.outbox.Dispatcher.run` again
    and again while batches come back full and delivered — at most ``max_batches`` per
    round, and none more once the worker is asked to stop — counted as ``outbox_delivered``,
    ``outbox_retried`` and ``outbox_dead``.

    Draining per round matters: a worker sleeps between rounds (``--interval``), so one
    batch per round would cap delivery at ``batch / interval`` messages a second whatever
    the backlog."""

    name = "outbox"

    def __init__(self, dispatcher: Dispatcher, *, max_batches: int = 20) -> None:
        if max_batches < 1:
            raise ValueError("max_batches must be at least 1")
        self.dispatcher = dispatcher
        self.max_batches = max_batches

    def run(self, ctx: SweepContext) -> Mapping[str, int]:
        delivered = retried = dead = 0
        for _ in range(self.max_batches):
            r = self.dispatcher.run()
            delivered += len(r.delivered)
            retried += len(r.retried)
            dead += len(r.dead)
            # A short batch drained the backlog; a failed attempt suggests a receiver that is
            # down (the rest would fail too, each after its sender's timeout).
            if r.claimed < self.dispatcher.batch or r.retried or r.dead or ctx.stopping:
                break
        if delivered or retried or dead:
            log.info("outbox: %d delivered, %d retried, %d dead", delivered, retried, dead)
        return {"outbox_delivered": delivered, "outbox_retried": retried,
                "outbox_dead": dead}


def _check_prefixes(handlers: Sequence[TimerHandler]) -> None:
    prefixes = [h.timer_prefix for h in handlers]
    for i, p in enumerate(prefixes):
        if not p or any(p.startswith(q) or q.startswith(p) for q in prefixes[:i]):
            raise ValueError(f"timer prefixes must be non-empty and distinct: {prefixes}")


class Scheduler:
    """Settles the due timers of an engine's store through the :class:`TimerHandler` that
    owns each timer's name prefix, then runs the :class:`Pass` jobs (see the module's
    docstring for what makes it safe).

    ``owner`` names this scheduler in timer leases (a random id by default); ``lease`` is how
    long a claimed timer is reserved; ``batch`` how many timers one claim takes; a case that
    keeps changing under it is retried ``max_retries`` times. Listeners are called for
    whatever the handlers announce. A timer that cannot be processed is quarantined with a
    back-off of ``backoff`` (the lease by default) doubled at each attempt, a timer whose
    prefix no handler owns too: a scheduler never settles what it does not understand.
    A scheduler without timer handlers claims no timers (it only runs its passes).

    With ``settle_in_batches`` (the default) the cases of one claim are settled together:
    read in one query, each handler's writes held back and merged per case, and the batch
    applied with one ``Store.append_many`` (one transaction on SQL stores). A case the batch
    cannot settle that way (its write is refused as stale, its handler raises or reads what
    the batch holds back, it cannot be read) is then settled alone, exactly as without
    batches. An engine with after-commit observers is never batched (observers see each
    command as it commits).

    :attr:`totals` adds up every round's numbers (for metrics).
    """

    default_owner = "scheduler"

    def __init__(
        self,
        engine: Engine,
        handlers: Iterable[TimerHandler] = (),
        *,
        passes: Iterable[Pass] = (),
        owner: str | None = None,
        lease: _dt.timedelta = _dt.timedelta(minutes=5),
        batch: int = 1000,
        listeners: Sequence[Listener] = (),
        max_retries: int = 10,
        backoff: _dt.timedelta | None = None,
        settle_in_batches: bool = True,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self.engine = engine
        self.owner = owner or f"{self.default_owner}-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.backoff = lease if backoff is None else backoff
        self.batch = batch
        self.listeners = list(listeners)
        self.max_retries = max_retries
        self.settle_in_batches = settle_in_batches
        self.handlers: tuple[TimerHandler, ...] = ()
        self.passes: tuple[Pass, ...] = ()
        self.totals: dict[str, int] = {}
        for h in handlers:
            self.add(h)
        for p in passes:
            self.add_pass(p)

    def add(self, *handlers: TimerHandler) -> Scheduler:
        """Plug in timer handlers (their prefixes must not overlap any other's); returns the
        scheduler, so calls chain."""
        new = (*self.handlers, *handlers)
        _check_prefixes(new)
        self.handlers = new
        return self

    def add_pass(self, *passes: Pass) -> Scheduler:
        """Plug in jobs run after each round of timers; returns the scheduler."""
        self.passes = (*self.passes, *passes)
        return self

    def handler_of(self, timer_name: str) -> TimerHandler | None:
        """The handler owning ``timer_name`` (``None`` when no handler does)."""
        for h in self.handlers:
            if timer_name.startswith(h.timer_prefix):
                return h
        return None

    _handler_of = handler_of

    def context(self, now: _dt.datetime, report: SweepReport, *, engine: Engine | None = None,
                listeners: Sequence[Listener] | None = None) -> SweepContext:
        """The context handed to the handlers and passes of one round (on ``engine`` and
        ``listeners`` when given: the batch's engine, listeners heard after the commit)."""
        ctx = SweepContext(engine or self.engine, now, report,
                           self.listeners if listeners is None else listeners)
        ctx.lease = self.lease
        return ctx

    def run(self, now: _dt.datetime | None = None, *, limit: int | None = None,
            stop: threading.Event | None = None) -> SweepReport:
        """One round: settle every due timer up to ``now`` (the engine clock's now by
        default), at most ``limit`` timers, then run the passes. When ``stop`` is set the
        round ends after the current batch (its claimed timers are settled first), whatever
        the backlog (``report.stopped``), and the passes are skipped."""
        clock_now = self.engine.clock.now()
        if now is None:
            now = clock_now
        elif now > clock_now:
            # The events it records are stamped by the engine clock: acting as of a later
            # instant would stamp breaches before the deadlines they report.
            raise TimeOutOfOrder(
                f"sweep asked to act as of {now.isoformat()}, ahead of the engine clock "
                f"({clock_now.isoformat()}); advance the clock instead (FrozenClock.set / "
                "advance) or run without now=")
        report = SweepReport()
        ctx = self.context(now, report)
        ctx.stop = stop
        try:
            if self.handlers:
                self._timers(ctx, limit, stop)
            if not report.stopped and self.passes and not (stop is not None and stop.is_set()):
                for job in self.passes:
                    for what, n in job.run(ctx).items():
                        report.count(what, n)
        finally:
            self._add_totals(report)
        return report

    def _add_totals(self, r: SweepReport) -> None:
        t = self.totals
        for what, n in (("timers", r.timers), ("cases", r.cases), ("warnings", r.warnings),
                        ("breaches", r.breaches), ("escalations", r.escalations),
                        ("retries", r.retries), ("quarantined", len(r.quarantined)),
                        *r.counts.items()):
            t[what] = t.get(what, 0) + n
        t["rounds"] = t.get("rounds", 0) + 1

    def _timers(self, ctx: SweepContext, limit: int | None,
                stop: threading.Event | None) -> None:
        report = ctx.report
        seen: set[tuple[str, str]] = set()
        store = self.engine.store
        while limit is None or report.timers < limit:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            n = self.batch if limit is None else min(self.batch, limit - report.timers)
            corrupt: list[QuarantinedTimer] = []
            claimed = store.claim_due_timers(ctx.now, owner=self.owner, lease=self.lease,
                                             limit=n, on_corrupt=corrupt.append)
            report.quarantined += corrupt
            for q in corrupt:
                log.warning("quarantined timer %r of case %r (attempt %d, until %s): %s",
                            q.name, q.case_id, q.attempts, q.until.isoformat(), q.reason)
            fresh = [t for t in claimed if (t.case_id, t.name) not in seen]
            if not fresh and not corrupt:
                break
            cases: dict[str, dict[int, tuple[TimerHandler, list[Timer]]]] = {}
            for t in fresh:
                seen.add((t.case_id, t.name))
                handler = self.handler_of(t.name)
                if handler is None:
                    self._quarantine(t.case_id, [t], "no handler of this sweeper owns the "
                                     "timer's name prefix", ctx)
                    continue
                report.timers += 1
                cases.setdefault(t.case_id, {}).setdefault(id(handler), (handler, []))[1] \
                    .append(t)
            grouped = {cid: list(hs.values()) for cid, hs in cases.items()}
            if (self.settle_in_batches and len(grouped) > 1
                    and not self.engine.hooks.has_observers):
                self._settle_batch(grouped, ctx)
            else:
                for case_id, handlers in grouped.items():
                    # one settlement per case and handler deals with all its due timers
                    self._settle_case(case_id, handlers, ctx)
            if len(claimed) + len(corrupt) < n:
                break

    def _settle_batch(self, cases: dict[str, list[tuple[TimerHandler, list[Timer]]]],
                      ctx: SweepContext) -> None:
        """Settle the cases of one claim together (see the class docstring).

        What makes it safe: nothing is written until ``append_many``, which applies each
        case's merged write-set whole or not at all, guarded by the version the batch read,
        so a case another worker moved meanwhile is refused alone and then settled again
        from scratch on its fresh value (its held-back work is dropped, never half-applied).
        A worker that dies before or during that call leaves nothing of the batch; its
        timers are only leased and lapse for the next worker. Counts and listener calls of a
        case are kept aside and only reported once its write is applied."""
        store = self.engine.store
        loaded = store.load_many(cases, on_corrupt=lambda _bad: None)  # alone: quarantined
        batch = _HeldWrites(store, loaded)
        engine = self.engine.with_store(typing.cast(Store, batch))
        alone: list[str] = []
        settled: list[tuple[str, SweepReport, list[SweepEvent]]] = []
        for case_id, handlers in cases.items():
            case = loaded.get(case_id)
            if case is None:
                alone.append(case_id)
                continue
            heard: list[SweepEvent] = []
            report = SweepReport()
            case_ctx = self.context(ctx.now, report, engine=engine, listeners=[heard.append])
            try:
                self.engine.registry.get(case.process, case.definition_version)
                for handler, _timers in handlers:
                    handler.settle(case_ctx, case)
                    case = engine.get(case_id)
            except Exception:  # settled alone below, which reports it as it should
                batch.drop(case_id)
                alone.append(case_id)
                continue
            settled.append((case_id, report, heard))
        writes = [batch.held[cid] for cid, _, _ in settled if cid in batch.held]
        refused = {w.case.id: r for w, r in zip(writes, store.append_many(writes), strict=True)
                   if r is not None}
        for case_id, report, heard in settled:
            if case_id in refused:
                ctx.report.retries += 1
                alone.append(case_id)
                continue
            _add_report(ctx.report, report)
            ctx.report.cases += 1
            for event in heard:
                for listener in self.listeners:
                    listener(event)
        for case_id in alone:
            self._settle_case(case_id, cases[case_id], ctx)

    def _quarantine(self, case_id: str, timers: Sequence[Timer], reason: str,
                    ctx: SweepContext) -> None:
        for t in timers:
            try:
                q = self.engine.store.quarantine_timer(case_id, t.name, now=ctx.now,
                                                       reason=reason, backoff=self.backoff)
            except NotImplementedError:  # a store of its own without quarantine
                log.warning("timer %r of case %r cannot be processed (%s); its lease lapses",
                            t.name, case_id, reason)
                continue
            if q is not None:
                ctx.report.quarantined.append(q)
                log.warning("quarantined timer %r of case %r (attempt %d, until %s): %s",
                            q.name, q.case_id, q.attempts, q.until.isoformat(), q.reason)

    def _settle_case(self, case_id: str, handlers: list[tuple[TimerHandler, list[Timer]]],
                     ctx: SweepContext) -> None:
        pending = list(handlers)
        for _ in range(self.max_retries):
            try:
                case = self.engine.get(case_id)
                self.engine.registry.get(case.process, case.definition_version)
            except (CorruptRecord, UnknownProcess) as unreadable:
                # One bad row must not stop the sweep of every other case.
                ctx.report.skipped[case_id] = str(unreadable)
                self._quarantine(case_id, [t for _, ts in pending for t in ts],
                                 str(unreadable), ctx)
                return
            try:
                while pending:
                    handler, timers = pending[0]
                    try:
                        handler.settle(ctx, case)
                    except StaleVersion:
                        raise
                    except (CorruptRecord, CaseNotFound, UnknownProcess,
                            CommandRefused) as failed:
                        # CorruptRecord and CaseNotFound are StorageErrors, but about this
                        # case's rows: retrying the whole sweep would meet them again.
                        self._quarantine(case_id, timers, f"{type(failed).__name__}: "
                                         f"{failed}", ctx)
                    except StorageError:
                        raise  # the database, not the timer: the worker loop retries
                    except Exception as failed:  # a handler's (or a policy's) own bug
                        log.exception("timer handler %s failed on case %r",
                                      type(handler).__name__, case_id)
                        self._quarantine(case_id, timers, f"{type(failed).__name__}: "
                                         f"{failed}", ctx)
                    pending.pop(0)
                    if pending:
                        case = self.engine.get(case_id)
                ctx.report.cases += 1
                return
            except StaleVersion:
                ctx.report.retries += 1
        raise StaleVersion(
            f"case {case_id!r} kept changing during the sweep ({self.max_retries} tries); "
            "its timers stay due and the next sweep retries it",
            case_id=case_id, expected=-1, actual=None,
        )


def _add_report(into: SweepReport, part: SweepReport) -> None:
    """Add what one case's settlement counted (``part``) to the round's report."""
    into.warnings += part.warnings
    into.breaches += part.breaches
    into.escalations += part.escalations
    into.retries += part.retries
    into.skipped.update(part.skipped)
    for what, n in part.counts.items():
        into.count(what, n)
    into.quarantined += part.quarantined


def merge_owned_timers(
    first: typing.Mapping[str, tuple[Timer, ...]],
    then: typing.Mapping[str, tuple[Timer, ...]],
) -> dict[str, tuple[Timer, ...]]:
    """The timers by owner of one write-set doing what ``first`` then ``then`` do: for every
    case's timers ``T``, applying the result replaces exactly as applying ``first`` and then
    ``then`` would. An owner of ``then`` replaces the narrower owners of ``first`` (whose
    names it owns too); within a broader owner of ``first`` it replaces its own names."""
    merged = dict(first)
    for prefix, group in then.items():
        for key in [k for k in merged if k.startswith(prefix)]:
            del merged[key]
        broader = next((k for k in merged if prefix.startswith(k)), None)
        if broader is None:
            merged[prefix] = group
        else:
            merged[broader] = (*(t for t in merged[broader] if not t.name.startswith(prefix)),
                               *group)
    return merged


def merge_writes(first: WriteSet, then: WriteSet) -> WriteSet:
    """One write-set doing what ``first`` and then ``then`` (planned on ``first``'s case)
    do: the events of both, ``then``'s case, ``first``'s expected version, the timers of
    :func:`merge_owned_timers` and both outboxes."""
    return WriteSet(then.case, (*first.events, *then.events), first.expected_version,
                    merge_owned_timers(first.timers, then.timers), (*first.outbox, *then.outbox),
                    checked=first.checked and then.checked)


_ALONE = "a batch cannot settle this case; the scheduler settles it alone"


class _HeldWrites:
    """A store view for one batch: reads cases from what the batch loaded (or holds), holds
    every write-set back (merged per case) instead of writing it, and passes everything else
    to the store. Timers a handler sets directly on a case with held writes join its held
    write-set. A handler that reads the history or timers of such a case would see the
    store without them: the view raises ``NotImplementedError`` instead, and the scheduler
    settles that case alone (any error of a handler in a batch does; a plain built-in
    error, as it never leaves the scheduler)."""

    def __init__(self, store: Store, cases: dict[str, Case]) -> None:
        self.store = store
        self.cases = cases
        self.held: dict[str, WriteSet] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def load(self, case_id: str) -> Case:
        write = self.held.get(case_id)
        if write is not None:
            return write.case
        case = self.cases.get(case_id)
        return self.store.load(case_id) if case is None else case

    def append(self, write: WriteSet, *args: Any, **kwargs: Any) -> None:
        if args or kwargs or not isinstance(write, WriteSet) or write.creates:
            raise NotImplementedError(_ALONE + " (only write-sets of existing cases are held)")
        check_write(write)
        case_id = write.case.id
        current = self.load(case_id)
        if current.version != write.expected_version:
            raise StaleVersion.for_case(case_id, write.expected_version, current.version)
        before = self.held.get(case_id)
        self.held[case_id] = write if before is None else merge_writes(before, write)

    def drop(self, case_id: str) -> None:
        self.held.pop(case_id, None)

    def _touch(self, case_id: str) -> None:
        if case_id in self.held:
            raise NotImplementedError(f"{_ALONE} (case {case_id!r} has held writes)")

    def history(self, case_id: str, *, after: int = 0) -> Any:
        self._touch(case_id)
        return self.store.history(case_id, after=after)

    def timers(self, case_id: str) -> list[Timer]:
        self._touch(case_id)
        return self.store.timers(case_id)

    def set_timers(self, case_id: str, timers: Sequence[Timer], *, prefix: str = "") -> None:
        held = self.held.get(case_id)
        if held is None:
            self.store.set_timers(case_id, timers, prefix=prefix)
            return
        # Folded into the case's held write-set (a breach action that writes nothing drops
        # its pending timer this way): applied, it replaces the timers the store's
        # set_timers would replace after the held writes (merge_owned_timers), in the same
        # transaction as they are. New timers take the full checks when it is applied.
        group = tuple(timers)
        check_timers(case_id, group, prefix)
        self.held[case_id] = WriteSet(held.case, held.events, held.expected_version,
                                      merge_owned_timers(held.timers, {prefix: group}),
                                      held.outbox, checked=held.checked and not group)

