"""Export any store's audit log: XES (IEEE 1849-2023), OCEL 2.0 (JSON and SQLite), CSV.

Writers are dependency-free (the standard library's ``xml.sax.saxutils``, ``json``,
``sqlite3`` and ``csv``: no writer needs more, and none of the process-mining libraries is
permissively licensed and light) and streaming: the log is read in pages of
:meth:`~servicewf.storage.base.Store.read_log` (global order) or case by case, so memory
does not grow with the number of events (OCEL keeps one entry per object and per attribute
type, which grows with cases and actors, not events).

Every value is typed (XES ``int``/``float``/``boolean``/``string``/``date``; OCEL
``integer``/``float``/``boolean``/``string``/``time``); nothing missing is written (no
``nan``, no ``NaT``); instants carry their UTC offset (``tz=`` renders them in a zone, and
XES events then carry the zone's name in ``servicewf:tz``).

Every writer takes an optional ``masker`` (a :class:`DataMask`, e.g.
``Privacy.masker(actor, purpose=...)`` of :mod:`servicewf.privacy`): the data, comments and
customer actors of each event, and the customer objects of OCEL, are written as the
masker's reader may see them. This module knows the hook only by its shape (it does not
import the privacy package, whose cryptography is an optional extra).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import sqlite3
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, Protocol
from xml.sax.saxutils import quoteattr

from servicewf.clock import as_utc
from servicewf.events import Event, EventKind
from servicewf.storage.base import Store

__all__ = ["CSV_FIELDS", "DataMask", "iter_log", "write_csv", "write_ocel_json",
           "write_ocel_sqlite", "write_xes"]

CSV_FIELDS = ("position", "case_id", "seq", "at", "kind", "trigger", "source", "dest",
              "actor", "role", "comment", "data")
"""The columns of the CSV export (``data`` is a JSON object)."""

Progress = Callable[[int], None]


class DataMask(Protocol):
    """The masking hook of the writers (what ``Privacy.masker(...)`` returns).

    ``mask(case_id, process, data)`` is ``data`` as the reader may see it (recording the
    access where the hook audits reads); ``mask.text(process, text)`` a comment as the
    reader may see it; ``mask.actor_id(actor_id, role)`` an actor's id as the reader may see it
    (a customer acting on their own case is personal data); ``mask.label`` how the export
    is labelled (PIPL Art. 73: identified or de-identified).
    """

    label: str

    def __call__(self, case_id: str, process: str,
                 data: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def text(self, process: str, text: str | None) -> str | None: ...

    def actor_id(self, actor_id: str, role: str) -> str: ...


class _Shown:
    """What an export shows of each event: itself without a masker, else the masker's view
    of its data, comment and actor. Remembers each case's process (one entry per case, as
    OCEL's objects do)."""

    def __init__(self, store: Store, masker: DataMask | None) -> None:
        self.store = store
        self.masker = masker
        self._process: dict[str, str] = {}

    def process(self, case_id: str) -> str:
        known = self._process.get(case_id)
        if known is None:
            known = self._process[case_id] = self.store.load(case_id).process
        return known

    def data(self, e: Event) -> Mapping[str, Any]:
        if self.masker is None or not e.data:
            return e.data
        return self.masker(e.case_id, self.process(e.case_id), e.data)

    def know(self, case_id: str, process: str) -> None:
        self._process.setdefault(case_id, process)

    def case_data(self, case_id: str, process: str,
                  data: Mapping[str, Any]) -> Mapping[str, Any]:
        self.know(case_id, process)
        return data if self.masker is None or not data else self.masker(case_id, process, data)

    def comment(self, e: Event) -> str | None:
        if self.masker is None or not e.comment:
            return e.comment
        return self.masker.text(self.process(e.case_id), e.comment)

    def actor(self, e: Event) -> str:
        return e.actor_id if self.masker is None else self.masker.actor_id(e.actor_id, e.role)


def iter_log(store: Store, *, page: int = 2000,
             progress: Progress | None = None) -> Iterator[tuple[int, Event]]:
    """Every ``(position, event)`` of ``store`` in global log order, a page at a time."""
    after = 0
    done = 0
    while True:
        entries = store.read_log(after, limit=page)
        if not entries:
            return
        yield from entries
        after = entries[-1].position
        done += len(entries)
        if progress is not None:
            progress(done)


def _cases(store: Store) -> Iterator[str]:
    """Case ids in id order, a page at a time (stores order ``find`` by id)."""
    seen: set[str] = set()
    # find() has no cursor: the log tells the ids; keep only the ids (not the events).
    for _, event in iter_log(store):
        if event.seq == 1 and event.case_id not in seen:
            seen.add(event.case_id)
            yield event.case_id


def _zone(tz: str | None) -> _dt.tzinfo:
    return zoneinfo.ZoneInfo(tz) if tz else _dt.timezone.utc


def _iso(moment: _dt.datetime, zone: _dt.tzinfo) -> str:
    local = as_utc(moment).astimezone(zone)
    # Milliseconds as XES asks, microseconds when the instant has them (nothing is cut).
    return local.isoformat(timespec="microseconds" if local.microsecond % 1000
                           else "milliseconds")


def _activity(event: Event) -> str:
    return event.trigger if event.kind is EventKind.TRANSITION and event.trigger \
        else event.kind.value


# --- CSV -----------------------------------------------------------------------------------

def write_csv(store: Store, out: IO[str], *, tz: str | None = None,
              progress: Progress | None = None, masker: DataMask | None = None) -> int:
    """Write the audit log as CSV (:data:`CSV_FIELDS`); return the events written.
    ``masker``: see the module's docstring."""
    zone = _zone(tz)
    shown = _Shown(store, masker)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    n = 0
    for position, e in iter_log(store, progress=progress):
        w.writerow((position, e.case_id, e.seq, _iso(e.at, zone), e.kind.value,
                    e.trigger or "", e.source or "", e.dest, shown.actor(e), e.role,
                    shown.comment(e) or "", json.dumps(_plain(shown.data(e)),
                                                       ensure_ascii=False, sort_keys=True)))
        n += 1
    return n


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- XES -----------------------------------------------------------------------------------

_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
_RESERVED = re.compile(r"^(concept|time|org|lifecycle|servicewf):")


def _xes_attr(key: str, value: Any, indent: str) -> str:
    k = quoteattr(key)
    if isinstance(value, bool):
        return f'{indent}<boolean key={k} value="{"true" if value else "false"}"/>\n'
    if isinstance(value, int):
        return f"{indent}<int key={k} value=\"{value}\"/>\n"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return f"{indent}<float key={k} value={quoteattr(repr(value))}/>\n"
    if value is None:
        return ""
    if isinstance(value, str):
        return f"{indent}<string key={k} value={quoteattr(value)}/>\n"
    text = json.dumps(_plain(value), ensure_ascii=False, sort_keys=True)
    return f"{indent}<string key={k} value={quoteattr(text)}/>\n"


def write_xes(store: Store, out: IO[str], *, tz: str | None = None,
              pause_states: Mapping[str, frozenset[str]] | None = None,
              progress: Progress | None = None, masker: DataMask | None = None) -> int:
    """Write the audit log as XES, one trace per case; return the events written.

    Declares the Concept, Time, Organizational and Lifecycle extensions (and ``servicewf:``
    attributes through a declared extension of its own), globals for every key the
    classifiers use, and the classifiers. ``lifecycle:transition`` is ``suspend`` for an
    event that moves a case into a state where its SLA clocks pause (``pause_states`` by
    process, e.g. from :func:`pause_states_of`), ``resume`` for one that moves it out,
    ``ate_abort`` for an SLA breach and ``complete`` otherwise. ``masker``: see the
    module's docstring (its label is the log's ``servicewf:masking``).
    """
    zone = _zone(tz)
    shown = _Shown(store, masker)
    zone_name = tz or "UTC"
    pauses = pause_states or {}
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write('<log xes.version="2.0" xmlns="http://www.xes-standard.org/">\n')
    for name, prefix, uri in _EXTENSIONS:
        out.write(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    out.write('  <extension name="servicewf" prefix="servicewf" '
              'uri="https://servicewf.dev/xes/servicewf.xesext"/>\n')
    out.write('  <global scope="trace">\n    <string key="concept:name" value="__INVALID__"/>\n'
              '  </global>\n')
    out.write('  <global scope="event">\n'
              '    <string key="concept:name" value="__INVALID__"/>\n'
              '    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>\n'
              '    <string key="lifecycle:transition" value="complete"/>\n'
              '    <string key="org:resource" value="__INVALID__"/>\n'
              '  </global>\n')
    out.write('  <classifier name="Activity" keys="concept:name"/>\n')
    out.write('  <classifier name="Activity and lifecycle" '
              'keys="concept:name lifecycle:transition"/>\n')
    out.write('  <classifier name="Resource" keys="org:resource"/>\n')
    out.write('  <string key="concept:name" value="servicewf audit log"/>\n')
    out.write('  <string key="lifecycle:model" value="standard"/>\n')
    if masker is not None:
        out.write(_xes_attr("servicewf:masking", masker.label, "  "))
    n = 0
    for case_id in _cases(store):
        history = store.history(case_id)
        case = store.load(case_id)
        shown.know(case_id, case.process)
        paused = pauses.get(case.process, frozenset())
        out.write("  <trace>\n")
        out.write(_xes_attr("concept:name", case_id, "    "))
        out.write(_xes_attr("servicewf:process", case.process, "    "))
        out.write(_xes_attr("servicewf:version", case.definition_version, "    "))
        out.write(_xes_attr("servicewf:state", case.state, "    "))
        for e in history:
            if e.kind is EventKind.CLOCK_BREACHED:
                life = "ate_abort"
            elif e.moves and e.dest in paused and e.source not in paused:
                life = "suspend"
            elif e.moves and e.source in paused and e.dest not in paused:
                life = "resume"
            else:
                life = "complete"
            out.write("    <event>\n")
            i = "      "
            out.write(_xes_attr("concept:name", _activity(e), i))
            out.write(f'{i}<date key="time:timestamp" value="{_iso(e.at, zone)}"/>\n')
            out.write(_xes_attr("lifecycle:transition", life, i))
            out.write(_xes_attr("org:resource", shown.actor(e), i))
            out.write(_xes_attr("org:role", e.role, i))
            out.write(_xes_attr("servicewf:seq", e.seq, i))
            out.write(_xes_attr("servicewf:kind", e.kind.value, i))
            out.write(_xes_attr("servicewf:tz", zone_name, i))
            if e.trigger:
                out.write(_xes_attr("servicewf:trigger", e.trigger, i))
            if e.source is not None:
                out.write(_xes_attr("servicewf:source", e.source, i))
            out.write(_xes_attr("servicewf:dest", e.dest, i))
            comment = shown.comment(e)
            if comment:
                out.write(_xes_attr("servicewf:comment", comment, i))
            for key, value in shown.data(e).items():
                if not _RESERVED.match(key):
                    out.write(_xes_attr(key, value, i))
            out.write("    </event>\n")
            n += 1
        out.write("  </trace>\n")
        if progress is not None:
            progress(n)
    out.write("</log>\n")
    return n


def pause_states_of(sla: Any) -> dict[str, frozenset[str]]:
    """The states in which some clock of each process's policy pauses (for
    :func:`write_xes`): from an :class:`~servicewf.sla.SLA`'s policies."""
    return {process: frozenset(s for c in policy.clocks for s in c.pause_in)
            for process, policy in sla.policies.items()}


# --- OCEL 2.0 ------------------------------------------------------------------------------

def _ocel_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float" if value == value and abs(value) != float("inf") else None
    if value is None:
        return None
    return "string"


def _ocel_value(value: Any, kind: str) -> Any:
    if kind == "string" and not isinstance(value, str):
        return json.dumps(_plain(value), ensure_ascii=False, sort_keys=True)
    if kind == "float":
        return float(value)
    return value


class _Objects:
    """The objects of an OCEL export: cases, customers, actors, SLA clocks; their
    attributes (typed, first value at the epoch) and their object-to-object links."""

    def __init__(self, customer_field: str | None, shown: _Shown) -> None:
        self.customer_field = customer_field
        self.shown = shown
        self.types: dict[str, dict[str, str]] = {"case": {"process": "string",
                                                          "state": "string"},
                                                 "actor": {"role": "string"},
                                                 "customer": {}, "sla_clock": {
                                                     "status": "string", "deadline": "time"}}
        self.objects: dict[str, tuple[str, dict[str, Any]]] = {}
        self.o2o: set[tuple[str, str, str]] = set()

    def add(self, oid: str, otype: str, attrs: dict[str, Any] | None = None) -> str:
        if oid not in self.objects:
            self.objects[oid] = (otype, dict(attrs or {}))
        return oid

    def relations(self, e: Event, store: Store) -> list[tuple[str, str]]:
        """The event's (object id, qualifier) pairs, adding the objects."""
        case = self.add(f"case:{e.case_id}", "case")
        rel = [(case, "ticket")]
        actor = self.add(f"actor:{self.shown.actor(e)}", "actor", {"role": e.role})
        rel.append((actor, "raised by" if e.kind is EventKind.OPENED else "performed by"))
        if e.kind is EventKind.OPENED:
            snapshot = store.load(e.case_id)
            self.objects[case][1].update(process=snapshot.process, state=snapshot.state)
            customer = self.shown.case_data(e.case_id, snapshot.process, snapshot.data).get(
                self.customer_field) if self.customer_field else None
            if isinstance(customer, (str, int)) and not isinstance(customer, bool):
                cid = self.add(f"customer:{customer}", "customer")
                rel.append((cid, "customer"))
                self.o2o.add((case, cid, "raised by"))
            sla = snapshot.extensions.get("sla")
            clocks = sla.get("clocks", ()) if isinstance(sla, Mapping) else ()
            for clock in clocks:
                name = clock.get("name") if isinstance(clock, Mapping) else None
                if not isinstance(name, str):
                    continue
                attrs: dict[str, Any] = {"status": str(clock.get("status", ""))}
                deadline = clock.get("deadline_us") or clock.get("deadline")
                if isinstance(deadline, int):
                    attrs["deadline"] = _dt.datetime.fromtimestamp(
                        deadline / 1e6, _dt.timezone.utc)
                oid = self.add(f"clock:{e.case_id}:{name}", "sla_clock", attrs)
                rel.append((oid, "starts"))
                self.o2o.add((oid, case, "measures"))
        clock_name = e.data.get("clock") if e.kind in (
            EventKind.CLOCK_BREACHED, EventKind.CLOCK_WARNING, EventKind.CLOCK_EXTENDED) \
            else None
        if isinstance(clock_name, str):
            oid = self.add(f"clock:{e.case_id}:{clock_name}", "sla_clock")
            self.o2o.add((oid, case, "measures"))
            rel.append((oid, "breaches" if e.kind is EventKind.CLOCK_BREACHED else
                        "warns" if e.kind is EventKind.CLOCK_WARNING else "extends"))
        return rel


def _event_types(store: Store, shown: _Shown) -> dict[str, dict[str, str]]:
    """First pass: every event type's attributes and their types (a value of another type
    than the first seen makes the attribute a string)."""
    types: dict[str, dict[str, str]] = {}
    for _, e in iter_log(store):
        attrs = types.setdefault(_activity(e), {"seq": "integer", "kind": "string",
                                                "dest": "string", "role": "string"})
        for key, value in shown.data(e).items():
            kind = _ocel_type(value)
            if kind is None or key in _OCEL_OWN:
                continue
            known = attrs.get(key)
            if known is None:
                attrs[key] = kind
            elif known != kind:
                attrs[key] = "float" if {known, kind} == {"integer", "float"} else "string"
    return types


def _event_attrs(e: Event, declared: Mapping[str, str],
                 data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("seq", e.seq), ("kind", e.kind.value), ("dest", e.dest),
                                  ("role", e.role)]
    for key, value in data.items():
        kind = declared.get(key)
        if kind is not None and key not in _OCEL_OWN and \
                _ocel_type(value) is not None:
            out.append((key, _ocel_value(value, kind)))
    return out


_EPOCH = "1970-01-01T00:00:00Z"
_OCEL_OWN = frozenset({"seq", "kind", "dest", "role"})


def write_ocel_json(store: Store, out: IO[str], *, customer_field: str | None = "customer",
                    progress: Progress | None = None, masker: DataMask | None = None) -> int:
    """Write the audit log as OCEL 2.0 JSON; return the events written.

    Objects: each case (``case``), each actor (``actor``), each customer named by the
    case's ``customer_field`` (``customer``), each SLA clock of a case (``sla_clock``);
    every object is related to at least one event (qualifiers ``ticket``, ``raised by``,
    ``performed by``, ``customer``, ``starts``, ``breaches``, ``warns``, ``extends``) and
    the object-to-object links say ``raised by`` and ``measures``. ``masker``: see the
    module's docstring (its label is the top-level ``servicewf:masking``).
    """
    shown = _Shown(store, masker)
    types = _event_types(store, shown)
    objects = _Objects(customer_field, shown)
    out.write('{"events": [')
    n = 0
    for _, e in iter_log(store, progress=progress):
        etype = _activity(e)
        rel = objects.relations(e, store)
        event = {"id": f"{e.case_id}/{e.seq}", "type": etype,
                 "time": as_utc(e.at).isoformat().replace("+00:00", "Z"),
                 "attributes": [{"name": k, "value": v}
                                for k, v in _event_attrs(e, types[etype], shown.data(e))],
                 "relationships": [{"objectId": o, "qualifier": q} for o, q in rel]}
        out.write(("," if n else "") + "\n" + json.dumps(event, ensure_ascii=False))
        n += 1
    out.write("\n],\n")
    out.write('"eventTypes": ' + json.dumps(
        [{"name": t, "attributes": [{"name": k, "type": v} for k, v in a.items()]}
         for t, a in types.items()], ensure_ascii=False) + ",\n")
    out.write('"objectTypes": ' + json.dumps(
        [{"name": t, "attributes": [{"name": k, "type": v} for k, v in a.items()]}
         for t, a in objects.types.items()], ensure_ascii=False) + ",\n")
    links: dict[str, list[dict[str, str]]] = {}
    for source, target, qualifier in sorted(objects.o2o):
        links.setdefault(source, []).append({"objectId": target, "qualifier": qualifier})
    out.write('"objects": [')
    for i, (oid, (otype, attrs)) in enumerate(objects.objects.items()):
        obj = {"id": oid, "type": otype,
               "attributes": [{"name": k, "time": _EPOCH,
                               "value": v.isoformat().replace("+00:00", "Z")
                               if isinstance(v, _dt.datetime) else v}
                              for k, v in attrs.items()],
               "relationships": links.get(oid, [])}
        out.write(("," if i else "") + "\n" + json.dumps(obj, ensure_ascii=False))
    out.write("\n]")
    if masker is not None:
        out.write(',\n"servicewf:masking": ' + json.dumps(masker.label, ensure_ascii=False))
    out.write("}\n")
    return n


def _map_name(name: str, taken: set[str]) -> str:
    base = "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", name) if p) or "Type"
    candidate, i = base, 2
    while candidate.lower() in taken or candidate.lower() in ("maptype", "object"):
        candidate, i = f"{base}{i}", i + 1
    taken.add(candidate.lower())
    return candidate


_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN",
              "time": "TIMESTAMP"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_ocel_sqlite(store: Store, path: str | os.PathLike[str], *,
                      customer_field: str | None = "customer",
                      progress: Progress | None = None, masker: DataMask | None = None) -> int:
    """Write the audit log as an OCEL 2.0 SQLite database at ``path`` (replaced if it
    exists); return the events written.

    The tables of the OCEL 2.0 relational format with their primary and foreign keys
    (``event``, ``object``, ``event_object``, ``object_object``, ``event_map_type``,
    ``object_map_type``, one ``event_<Type>`` table per event type and one
    ``object_<Type>`` per object type), so it passes every constraint of pm4py's OCEL 2.0
    relational validation (several writers in the wild fail the keys). ``masker``: see the
    module's docstring (its label is in a ``servicewf_masking`` table of one row).
    """
    if os.path.exists(path):
        os.remove(path)
    shown = _Shown(store, masker)
    types = _event_types(store, shown)
    objects = _Objects(customer_field, shown)
    taken: set[str] = set()
    emap = {t: _map_name(t, taken) for t in types}
    db = sqlite3.connect(path)
    try:
        c = db.cursor()
        c.executescript("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
            CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
            CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT
                REFERENCES event_map_type (ocel_type));
            CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT
                REFERENCES object_map_type (ocel_type));
            CREATE TABLE event_object (ocel_event_id TEXT REFERENCES event (ocel_id),
                ocel_object_id TEXT REFERENCES object (ocel_id), ocel_qualifier TEXT,
                PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier));
            CREATE TABLE object_object (ocel_source_id TEXT REFERENCES object (ocel_id),
                ocel_target_id TEXT REFERENCES object (ocel_id), ocel_qualifier TEXT,
                PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier));
        """)
        inserts: dict[str, str] = {}
        for t, attrs in types.items():
            table = f"event_{emap[t]}"
            cols = "".join(f", {_q(k)} {_SQL_TYPES[v]}" for k, v in attrs.items())
            c.execute(f"CREATE TABLE {_q(table)} (ocel_id TEXT PRIMARY KEY REFERENCES "
                      f"event (ocel_id), ocel_time TIMESTAMP{cols})")
            c.execute("INSERT INTO event_map_type VALUES (?, ?)", (t, emap[t]))
            names = ", ".join(["ocel_id", "ocel_time", *(_q(k) for k in attrs)])
            inserts[t] = (f"INSERT INTO {_q(table)} ({names}) VALUES "
                          f"({', '.join('?' * (len(attrs) + 2))})")
        omap: dict[str, str] = {}
        for t, attrs in objects.types.items():
            omap[t] = _map_name(t, taken)
            cols = "".join(f", {_q(k)} {_SQL_TYPES[v]}" for k, v in attrs.items())
            c.execute(f"CREATE TABLE {_q('object_' + omap[t])} (ocel_id TEXT REFERENCES "
                      f"object (ocel_id), ocel_time TIMESTAMP, ocel_changed_field TEXT{cols})")
            c.execute("INSERT INTO object_map_type VALUES (?, ?)", (t, omap[t]))
        n = 0
        relations: list[tuple[str, str, str]] = []
        # Objects are written before the relations that name them (foreign keys on).
        for _, e in iter_log(store, progress=progress):
            etype = _activity(e)
            eid = f"{e.case_id}/{e.seq}"
            before = len(objects.objects)
            rel = objects.relations(e, store)
            if len(objects.objects) != before:
                for oid, (otype, _) in list(objects.objects.items())[before:]:
                    c.execute("INSERT INTO object VALUES (?, ?)", (oid, otype))
            c.execute("INSERT INTO event VALUES (?, ?)", (eid, etype))
            declared = types[etype]
            values = dict(_event_attrs(e, declared, shown.data(e)))
            c.execute(inserts[etype], (eid, _sql_time(e.at),
                                       *(values.get(k) for k in declared)))
            relations.extend((eid, o, q) for o, q in rel)
            if len(relations) > 5000:
                c.executemany("INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)", relations)
                relations.clear()
            n += 1
        c.executemany("INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)", relations)
        for oid, (otype, values) in objects.objects.items():
            declared = objects.types[otype]
            fields = ["ocel_id", "ocel_time", "ocel_changed_field", *(_q(k) for k in declared)]
            row = [oid, "1970-01-01 00:00:00", None,
                   *(_sql_time(v) if isinstance(v := values.get(k), _dt.datetime) else v
                     for k in declared)]
            c.execute(f"INSERT INTO {_q('object_' + omap[otype])} ({', '.join(fields)}) "
                      f"VALUES ({', '.join('?' * len(fields))})", row)
        c.executemany("INSERT INTO object_object VALUES (?, ?, ?)", sorted(objects.o2o))
        if masker is not None:
            c.execute("CREATE TABLE servicewf_masking (label TEXT)")
            c.execute("INSERT INTO servicewf_masking VALUES (?)", (masker.label,))
        db.commit()
    finally:
        db.close()
    return n


def _sql_time(moment: _dt.datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S.%f")
