"""The CSV fast path of read_log (columns picked by position from csv.reader, identifiers and
times worked out once per distinct text) gives exactly what the generic path gives for the
same rows read by csv.DictReader, and what the per-row reading it replaced gave (a copy of
it below is the oracle): the same cases, events, loss report and errors, on random files
with bad values, short and long rows, repeated and missing columns and blank lines.

Rows whose data cells are all text stand for their data by the cells themselves (duplicate
and interning keys, the dict built once per distinct data); columns filling one field, an
empty cell or a JSON column take the general way: both are drawn here."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import pathlib
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from servicewf.errors import InvalidData, NaiveTimestamp
from servicewf.interop import ColumnMap, read_log, source
from servicewf.interop.source import (
    ImportedEvent,
    LossReport,
    _ident,
    _plain,
    _time_parser,
    _zone,
)
from servicewf.plain import frozen_mapping

ODD = st.one_of(st.sampled_from(["", " ", "a\x00b", "x" * 300, "tab\there", "line\nbreak"]),
               st.text(max_size=4))
POOLS = {
    "case": ["c1", "c2", " c1 ", "1", "Ünïcode"],
    "act": ["open", "close", "go", " go "],
    "time": ["2026-03-02T09:00:00Z", "2026-03-02T08:00:00+08:00", "2026-03-02 09:00:00",
             "2026-03-02T10:00:00+01:00", "yesterday", "2026-13-40T00:00:00Z",
             "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"],
    "who": ["ann", "bob"],
    "role": ["agent", "lead"],
    "prio": ["high", "low", "1", "1.0"],
    "kind": ["history_deviation", "escalated", "note", "transition"],
    "seq": ["0", "1", "2", "-1", "x", "1.5"],
    "extra": ['{"a": 1}', '{"b": [1, 2]}', '{"priority": "z"}', "[1]", "{bad", '"text"'],
}
NAMES = ["case", "act", "time", "who", "role", "prio", "kind", "seq", "extra"]


def _reference(rows: Iterable[Mapping[str, Any]], columns: ColumnMap, tz: str | None,
               derived: Iterable[str] = ("history_deviation", "clock_warning",
                                         "clock_breached", "escalated")
               ) -> tuple[dict[str, list[ImportedEvent]], LossReport]:
    """read_log's per-row reading before the fast path (dict rows, no caches)."""
    parse_time = _time_parser(_zone(tz), None, columns.time)
    report = LossReport()
    cases: dict[str, list[ImportedEvent]] = {}
    seen: dict[str, set[tuple[Any, ...]]] = {}
    interned: dict[Any, Mapping[str, Any]] = {}
    n = 0
    for n, row in enumerate(rows, start=1):
        if columns.kind is not None and row.get(columns.kind) in set(derived):
            report.skipped_derived.append(n)
            continue
        case = _ident(row.get(columns.case))
        if case is None:
            report.drop("missing_case_id" if row.get(columns.case) in (None, "") else
                        "invalid_value", n)
            continue
        label = _ident(row.get(columns.label))
        if label is None:
            report.drop("missing_activity" if row.get(columns.label) in (None, "") else
                        "invalid_value", n)
            continue
        at = parse_time(row.get(columns.time), n)
        if at is None:
            report.drop("unparsable_time", n)
            continue
        actor = _ident(row.get(columns.actor)) if columns.actor else None
        role = _ident(row.get(columns.role)) if columns.role else None
        if (columns.actor and row.get(columns.actor) not in (None, "") and actor is None) or \
                (columns.role and row.get(columns.role) not in (None, "") and role is None):
            report.drop("invalid_value", n)
            continue
        data: dict[str, Any] = {}
        coerced = False
        for column, field in columns.data.items():
            value = row.get(column)
            if value is None or value == "":
                continue
            value, changed = _plain(value)
            coerced = coerced or changed
            if value is not None:
                data[field] = value
        jc = columns.data_json
        if jc is not None and row.get(jc) not in (None, ""):
            try:
                extra = json.loads(row[jc])
            except ValueError:
                extra = None
            if not isinstance(extra, dict):
                report.drop("invalid_value", n)
                continue
            data.update(extra)
        seq = 0
        if columns.seq is not None:
            try:
                seq = int(row.get(columns.seq))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                report.drop("invalid_value", n)
                continue
        kind = str(row[columns.kind]) if columns.kind is not None and row.get(columns.kind) \
            else None
        try:  # data that is not plain (a NUL in a cell) drops its row
            frozen_mapping(data)
        except InvalidData:
            report.drop("invalid_value", n)
            continue
        data_key = tuple((k, type(v), v) for k, v in data.items())
        if jc is not None:
            data_key = tuple(sorted(data_key, key=lambda kv: kv[0]))
        key = (label, at, actor, role, data_key, kind, seq)
        keys = seen.setdefault(case, set())
        try:
            duplicate = key in keys
            keys.add(key)
        except TypeError:
            duplicate = False
        if duplicate:
            report.drop("duplicate", n)
            continue
        if coerced:
            report.coerce("invalid_data", n)
        try:
            frozen = interned.get(data_key) or frozen_mapping(data)
            interned.setdefault(data_key, frozen)
        except TypeError:
            frozen = frozen_mapping(data)
        cases.setdefault(case, []).append(
            ImportedEvent(n, case, label, at, actor, role, frozen, kind, seq))
        report.rows_imported += 1
    report.rows_read = n
    for events in cases.values():
        latest = (events[0].at, events[0].seq)
        for e in events:
            if (e.at, e.seq) < latest:
                report.coerce("out_of_order", e.row)
            else:
                latest = (e.at, e.seq)
        events.sort(key=lambda e: (e.at, e.seq))
    return cases, report


def _outcome(fn: Any) -> Any:
    try:
        log = fn()
    except NaiveTimestamp as refused:
        return ("refused", str(refused))
    if isinstance(log, tuple):
        cases, report = log
    else:
        cases, report = log.cases, log.report
    return ({k: [tuple(e) for e in v] for k, v in cases.items()}, list(cases),
            report.to_dict(), report.skipped_derived)


@st.composite
def csv_logs(draw: Any) -> tuple[str, ColumnMap, str | None]:
    core = [c for c in ("case", "act", "time") if draw(st.integers(0, 9))]  # each 90%
    others = draw(st.lists(st.sampled_from(NAMES), max_size=5))  # repeats allowed
    header = draw(st.permutations(core + others))
    width = len(header)

    def full_row() -> Any:
        return st.tuples(*[st.one_of(st.sampled_from(POOLS.get(c, ["v"])), ODD)
                           if c in POOLS and draw(st.integers(0, 4)) == 0
                           else st.sampled_from(POOLS.get(c, ["v"])) for c in header])

    rows = draw(st.lists(st.one_of(
        full_row(), full_row(), full_row(),                          # as wide as the header
        st.lists(ODD, min_size=0, max_size=width + 2)),             # short, long, blank
        max_size=25))
    out = io.StringIO()
    w = csv.writer(out)
    if header or draw(st.booleans()):
        w.writerow(header)
    w.writerows(rows)
    extra = draw(st.sampled_from([{}, {"kind": "kind"}, {"seq": "seq"},
                                  {"data_json": "extra"}, {"kind": "kind", "seq": "seq"}]))
    mode = draw(st.sampled_from(["activity", "state"]))
    columns = ColumnMap(case="case", time="time", **{mode: "act"},
                        actor=draw(st.sampled_from([None, "who"])),
                        role=draw(st.sampled_from([None, "role"])),
                        # Two columns filling one field: the later one's text wins, so
                        # the cells no longer stand for the data (the keys are its items).
                        data=draw(st.sampled_from([{}, {"prio": "priority"},
                                                   {"prio": "p", "who": "by", "nope": "n"},
                                                   {"prio": "p", "who": "p"}])),
                        **extra)
    tz = draw(st.sampled_from([None, "Asia/Shanghai", "UTC", "UTC"]))
    return out.getvalue(), columns, tz


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_logs(), st.booleans(), st.sampled_from([200_000, 200_000, 1, 0]),
       st.sampled_from([1024, 1, 2, 5]), st.sampled_from([1 << 16, 1, 7]))
def test_the_csv_fast_path_reads_what_dict_rows_and_the_old_reader_read(case, gz, shared,
                                                                        chunk, block):
    # ``chunk``: rows read column by column at once; small ones put clean chunks (read in C)
    # and chunks with a bad, short or duplicate row (read row by row) in one file. ``block``:
    # the characters the records are split from at once (split by str.split until a quote).
    text, columns, tz = case
    with mock.patch.object(source, "_MAX_INTERNED", shared), \
            mock.patch.object(source, "_CHUNK", chunk), \
            mock.patch.object(source, "_BLOCK", block):  # 0, 1: the limit reached
        _compare(text, columns, tz, gz)


def _flat_records(text: str, delimiter: str) -> Iterator[list[str]]:
    """The records of ``_csv_record_lists`` one by one, reading ``text`` as a file opened
    each time with the newline it asks for (the fast path's way, then the module's)."""
    return chain.from_iterable(source._csv_record_lists(
        lambda newline: io.StringIO(text, newline=newline), delimiter))


def _value_rows(path: Any, wanted: list[str]) -> Iterator[tuple[Any, ...]]:
    """The rows ``_csv_value_columns`` reads column by column, one by one."""
    for _, by_column in source._csv_value_columns(path, ",", wanted):
        yield from zip(*by_column, strict=True)


def _records(read: Any, text: str, delimiter: str) -> list[Any]:
    """The records ``read`` finds in ``text``, then the csv module's error if it raised."""
    out: list[Any] = []
    try:
        out.extend(read(text, delimiter))
    except (csv.Error, TypeError) as refused:  # TypeError: a delimiter of two characters
        out.append((type(refused).__name__, str(refused)))
    return out


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "é", ",", ";", " ", '"', "\r", "\n", "\r\n", "\x00",
                                 "long-field"]), max_size=30).map("".join),
       st.sampled_from([",", ";", " ", '"', "ab"]), st.sampled_from([1 << 16, 1, 2, 3, 8]),
       st.sampled_from([131_072, 4, 12]))
@example("a,b\r\n\r\nc,d", ",", 1 << 16, 131_072)  # CRLF lines, a blank one
@example('a,b\nc,"d\ne"\nf', ",", 4, 131_072)  # a quote: the csv module from line 2 on
@example("a\rb\nc", ",", 1, 131_072)  # a lone carriage return ends a record
@example("a\r", ",", 1, 131_072)  # the block ends between a CR and what follows
@example("ab\r\nc", ",", 3, 131_072)
@example("ab\rc\nd", ",", 3, 131_072)
@example("long-field,a\nb", ",", 1 << 16, 4)  # over the field size limit: the module's error
@example("a\nlong-field", ",", 2, 4)
@example("ab", ",", 1, 4)
def test_csv_records_are_the_csv_modules(text, delimiter, block, limit):
    csv_reader = csv.reader  # bound here: the module's reader, not a patched name

    def module(t: str, d: str) -> Any:
        return csv_reader(io.StringIO(t, newline=""), delimiter=d)

    old = csv.field_size_limit(limit)
    try:
        with mock.patch.object(source, "_BLOCK", block):
            ours = _records(_flat_records, text, delimiter)
        theirs = _records(module, text, delimiter)
    finally:
        csv.field_size_limit(old)
    assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "é", "long-field", ""]), min_size=1,
                         max_size=4), max_size=12),
       st.sampled_from([",", ";", " ", "\t"]), st.booleans())
@example([["a", "b"], ["1", "2"]], ";", False)
@example([["a", "b"], [""], ["1", "2"]], ",", True)  # CRLF lines, a blank one
def test_text_without_quotes_is_split_without_the_csv_module(rows, delimiter, crlf):
    # The fast path is what makes reading cheap: text the csv module would only split (no
    # quote, NUL or lone carriage return, no over-long line) never reaches it.
    text = ("\r\n" if crlf else "\n").join(delimiter.join(r) for r in rows)
    expected = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    with mock.patch.object(source.csv, "reader", side_effect=AssertionError("csv module")):
        assert _records(_flat_records, text, delimiter) == expected


@pytest.mark.parametrize(("text", "opened"), [
    ("a,b\r\nc,d\r\n", ["\n"]),  # split as read: no universal-newlines pass
    ("a,b\nc,d\r\ne\n", ["\n"]),
    ('a,b\nc,"d"\n', ["\n", ""]),  # a quote: opened again the csv module's way
    ("a,b\nc\rd\n", ["\n", ""]),  # a lone carriage return, too
])
def test_the_split_path_reads_the_text_as_it_is_and_the_module_as_documented(text, opened):
    asked: list[str] = []

    def open_text(newline: str) -> io.StringIO:
        asked.append(newline)
        return io.StringIO(text, newline=newline)

    got = list(chain.from_iterable(source._csv_record_lists(open_text, ",")))
    assert got == list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
    assert asked == opened


def test_the_csv_module_goes_on_after_the_lines_already_split(tmp_path):
    # The quote is blocks after the start: the text is opened again and the lines split
    # before it are passed over, not read twice (nor skipped one too many).
    lines = [f"r{i},x{i}" for i in range(50)] + ['"q,1",2', "last,3"]
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(("\ufeffcase,v\r\n" + "\r\n".join(lines)).encode()))
    with mock.patch.object(source, "_BLOCK", 16), mock.patch.object(source, "_PASS_OVER", 7):
        got = list(_value_rows(path, ["case", "v"]))
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as f:
        expected = [(r["case"], r["v"]) for r in csv.DictReader(f)]
    assert got == expected and len(got) == 52


@pytest.mark.parametrize("text", ["\n\n\n", "\n\nc1,go\n\n", "\r\n\r\n"])
def test_blank_lines_under_a_blank_header_are_no_rows(tmp_path, text):
    # A blank first line is a header of no columns; the blank lines after it are skipped,
    # as csv.DictReader skips them, not read as rows of that (empty) width: two rows were
    # counted, and dropped for a missing case id, where the csv module reads none.
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode())
    columns = ColumnMap(case="case", activity="act", time="time")
    fast = read_log(path, columns).report.to_dict()
    generic = read_log(list(csv.DictReader(io.StringIO(text, newline=""))), columns)
    assert fast == generic.report.to_dict()
    assert fast["rows_read"] == text.count("c1")


def test_lines_as_long_as_the_field_size_limit_are_split_without_the_csv_module():
    # A complete line and the unfinished line after it, each exactly at the limit: the csv
    # module refuses only a longer field, so neither needs it.
    old = csv.field_size_limit(4)
    try:
        with mock.patch.object(source.csv, "reader", side_effect=AssertionError("csv module")):
            assert _records(_flat_records, "abcd\ncdef", ",") == [["abcd"], ["cdef"]]
    finally:
        csv.field_size_limit(old)


def _compare(text: str, columns: ColumnMap, tz: str | None, gz: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="servicewf-fast-") as tmp:
        path = pathlib.Path(tmp) / ("log.csv.gz" if gz else "log.csv")
        raw = text.encode("utf-8")
        path.write_bytes(gzip.compress(raw) if gz else raw)

        def dict_rows() -> list[dict[str, Any]]:
            opener: Any = gzip.open if gz else open
            with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
                return list(csv.DictReader(f))

        fast = _outcome(lambda: read_log(path, columns, tz=tz))
        generic = _outcome(lambda: read_log(dict_rows(), columns, tz=tz))
        oracle = _outcome(lambda: _reference(dict_rows(), columns, tz))
    assert fast == generic
    assert fast == oracle
    event("refused" if fast[0] == "refused" else f"imported {min(fast[2]['rows_imported'], 3)}+,"
          f" dropped {sorted(fast[2]['rows_dropped'])}")


def test_progress_is_told_every_10000_rows_on_either_path(tmp_path):
    # A clean CSV is read in chunks of rows at once, the rows of a mapping source one by
    # one: both tell the same row counts, each once and in order.
    lines = ["case,act,time"] + [f"c{i // 3},go{i % 3},2026-03-02T09:00:{i % 60:02d}Z"
                                 for i in range(25_003)]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = ColumnMap(case="case", activity="act", time="time")
    with path.open(encoding="utf-8") as f:
        told_generic: list[int] = []
        generic = read_log(list(csv.DictReader(f)), columns, progress=told_generic.append)
    assert told_generic == [10_000, 20_000]
    # Chunks of one row (every row a chunk's first), of 1,024, and one chunk of all.
    for chunk in (1, 1024, 30_000):
        told: list[int] = []
        # (One block of all the text: a chunk as long as the rows, past two multiples.)
        with mock.patch.object(source, "_CHUNK", chunk), \
                mock.patch.object(source, "_BLOCK", 1 << 22):
            fast = read_log(path, columns, progress=told.append)
        assert told == told_generic, chunk
        assert fast.report.to_dict() == generic.report.to_dict()
        assert fast.report.rows_imported == 25_003


def test_a_clean_csv_is_read_a_chunk_at_a_time(tmp_path):
    # Not only equal results: the rows of a clean CSV take the chunked way (it groups each
    # chunk's events by case with itertools.groupby; the row-by-row way does not).
    from itertools import groupby

    path = tmp_path / "log.csv"
    path.write_text("case,act,time,prio,who,role\n" + "".join(
        f"c{i % 7},go,2026-03-02T09:{i // 60:02d}:{i % 60:02d}Z,high,ann,agent\n"
        for i in range(3000)), encoding="utf-8")
    columns = ColumnMap(case="case", activity="act", time="time", actor="who", role="role",
                        data={"prio": "priority"})
    # (The whole file in one block: chunks of at most 1,024 of its rows.)
    with mock.patch.object(source, "groupby", wraps=groupby) as grouped, \
            mock.patch.object(source, "_BLOCK", 1 << 20):
        log = read_log(path, columns)
    assert grouped.call_count == 3  # 1,024 + 1,024 + 952 rows
    assert log.report.rows_imported == 3000 and sum(map(len, log.cases.values())) == 3000


def test_an_aware_datetime_cell_is_read_like_text():
    # The generic path (DataFrame, mappings) keeps its non-text values: a datetime cell and
    # a number are read as before (numbers as identifiers, datetimes as instants).
    rows = [{"case": 7.0, "act": "open", "time": dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc),
             "prio": 1.5}]
    columns = ColumnMap(case="case", activity="act", time="time", data={"prio": "p"})
    assert _outcome(lambda: read_log(rows, columns)) == \
        _outcome(lambda: _reference(rows, columns, None))


def test_columns_filling_one_field_are_duplicates_by_the_data_they_make(tmp_path):
    # The later column's text wins: rows differing only in the overridden column make equal
    # data, so the second is a duplicate (the cells alone would tell them apart).
    path = tmp_path / "log.csv"
    path.write_text("case,act,time,old,new\n"
                    "c1,go,2026-03-02T09:00:00Z,x,same\n"
                    "c1,go,2026-03-02T09:00:00Z,y,same\n", encoding="utf-8")
    columns = ColumnMap(case="case", activity="act", time="time",
                        data={"old": "note", "new": "note"})
    log = read_log(path, columns)
    assert log.report.dropped == {"duplicate": [2]}
    assert [dict(e.data) for e in log.cases["c1"]] == [{"note": "same"}]
    assert _outcome(lambda: read_log(path, columns)) == \
        _outcome(lambda: _reference(csv.DictReader(io.StringIO(path.read_text())), columns,
                                    None))


def test_rows_out_of_order_are_found_whatever_else_is_in_order(tmp_path):
    # The check that a case needs sorting compares instants (then seq), nothing else: here the
    # labels and the seqs are in order where the times are not, and the other way round.
    path = tmp_path / "log.csv"
    path.write_text("case,act,time,seq\n"
                    "c1,a,2026-03-02T10:00:00Z,1\n"
                    "c1,b,2026-03-02T09:00:00Z,2\n"
                    "c2,b,2026-03-02T09:00:00Z,2\n"
                    "c2,a,2026-03-02T09:00:00Z,1\n"
                    "c3,b,2026-03-02T09:00:00Z,1\n"
                    "c3,a,2026-03-02T10:00:00Z,2\n", encoding="utf-8")
    plain = ColumnMap(case="case", activity="act", time="time")
    log = read_log(path, plain)
    assert log.report.coerced == {"out_of_order": [2]}
    assert [e.label for e in log.cases["c1"]] == ["b", "a"]
    assert [e.label for e in log.cases["c2"]] == ["b", "a"]  # ties keep file order
    assert [e.label for e in log.cases["c3"]] == ["b", "a"]
    with_seq = read_log(path, ColumnMap(case="case", activity="act", time="time", seq="seq"))
    assert with_seq.report.coerced == {"out_of_order": [2, 4]}
    assert [e.label for e in with_seq.cases["c2"]] == ["a", "b"]  # equal times: by seq
    for columns in (plain, ColumnMap(case="case", activity="act", time="time", seq="seq")):
        assert _outcome(lambda c=columns: read_log(path, c)) == _outcome(
            lambda c=columns: _reference(csv.DictReader(io.StringIO(path.read_text())), c,
                                         None))


CLEAN = {"case": ["c1", "c2", "c3"], "act": ["open", "close", "go"],
         "time": ["2026-03-02T09:00:00Z", "2026-03-02T08:00:00+08:00",
                  "2026-03-02T10:00:00+01:00", "2026-03-02T09:30:00Z"],
         "who": ["ann", "bob"], "role": ["agent", "lead"], "prio": ["high", "low"],
         "other": ["x", "y"]}


@st.composite
def mostly_clean_logs(draw: Any) -> tuple[str, ColumnMap, str | None]:
    """Logs whose rows are mostly clean (so chunks of them are read column by column), with
    now and then a row the chunked way must leave to the row-by-row way: an odd cell, a
    short or long row, a blank line, a repeated row."""
    header = draw(st.permutations(list(CLEAN)))
    width = len(header)
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 40))):
        row = [draw(st.sampled_from(CLEAN[c])) for c in header]
        odd = draw(st.integers(0, 14))
        if odd == 0:
            row[draw(st.integers(0, width - 1))] = draw(ODD)
        elif odd == 1:
            row = row[:draw(st.integers(0, width - 1))]
        elif odd == 2 and rows:
            row = list(draw(st.sampled_from(rows)))
        elif odd == 3:
            row = [*row, "extra"]
        rows.append(row)
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    columns = ColumnMap(case="case", time="time", activity="act",
                        actor=draw(st.sampled_from([None, "who"])),
                        role=draw(st.sampled_from([None, "role"])),
                        data=draw(st.sampled_from([{}, {"prio": "priority"},
                                                   {"prio": "p", "other": "o"}])))
    return out.getvalue(), columns, draw(st.sampled_from([None, "UTC"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mostly_clean_logs(), st.sampled_from([1, 2, 3, 8, 1024]))
def test_mostly_clean_logs_read_a_chunk_at_a_time_as_row_by_row(case, chunk):
    from itertools import groupby

    text, columns, tz = case
    with mock.patch.object(source, "_CHUNK", chunk), \
            mock.patch.object(source, "groupby", wraps=groupby) as grouped:
        _compare(text, columns, tz, False)
    event(f"chunks read at once: {min(grouped.call_count, 3)}+")


def test_a_data_cell_that_is_not_plain_text_drops_its_row_not_the_log(tmp_path):
    # A NUL in one cell of a data column made the whole read raise InvalidData: one bad cell
    # in a long log now drops its row, counted in the loss report, whichever way is read.
    path = tmp_path / "log.csv"
    path.write_text("case,act,time,note\n"
                    "c1,go,2026-03-02T09:00:00Z,fine\n"
                    "c1,stop,2026-03-02T10:00:00Z,a\x00b\n"
                    "c2,go,2026-03-02T11:00:00Z,fine\n", encoding="utf-8")
    columns = ColumnMap(case="case", activity="act", time="time", data={"note": "note"})
    for chunk in (1, 1024):
        with mock.patch.object(source, "_CHUNK", chunk):
            log = read_log(path, columns)
        assert log.report.dropped == {"invalid_value": [2]}
        assert log.report.complete and log.report.rows_imported == 2
        assert [e.label for e in log.cases["c1"]] == ["go"]


def _old_instant(text: str, tz: dt.tzinfo | None) -> Any:
    """The instant and key the time parser gave before times with a fixed offset took their
    own way: astimezone(UTC), then the pendulum constructor on its fields."""
    import pendulum

    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        u = moment.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        return None
    return pendulum.DateTime(u.year, u.month, u.day, u.hour, u.minute, u.second,
                             u.microsecond, pendulum.UTC), u


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59)),
       st.one_of(st.none(), st.timedeltas(min_value=-dt.timedelta(hours=23, minutes=59),
                                          max_value=dt.timedelta(hours=23, minutes=59))),
       st.sampled_from(["iso", "Z", "spaced", "seconds"]),
       st.sampled_from([None, "Asia/Shanghai", "Europe/Brussels"]))
@example(dt.datetime(1, 1, 1), dt.timedelta(hours=1), "iso", None)  # before year 1 in UTC
@example(dt.datetime(9999, 12, 31, 23, 30), dt.timedelta(hours=-1), "iso", None)  # after 9999
@example(dt.datetime(2010, 3, 31, 15, 59, 42), dt.timedelta(hours=1), "iso", None)
@example(dt.datetime(2010, 3, 31, 15, 59, 42, 5), dt.timedelta(0), "Z", None)
@example(dt.datetime(2021, 10, 31, 2, 30, fold=1), None, "iso", "Europe/Brussels")  # a fold
def test_times_with_a_fixed_offset_give_the_instants_and_keys_they_gave(moment, offset, form,
                                                                          tz):
    import pendulum

    text = moment.replace(fold=0).isoformat() if form != "seconds" else \
        moment.replace(fold=0).isoformat(timespec="seconds")
    if offset is not None:
        text = moment.replace(tzinfo=dt.timezone(offset)).isoformat()
        if form == "Z" and offset == dt.timedelta(0):
            text = text.replace("+00:00", "Z")
    if form == "spaced":
        text = f"  {text} "
    zone = _zone(tz)
    parse = source._instant_parser(zone, None, "time")
    if offset is None and zone is None:
        try:
            parse(text, 1)
        except NaiveTimestamp:
            return
        raise AssertionError("a naive time without a zone is refused")
    ours, old = parse(text, 1), _old_instant(text, zone)
    assert parse(text, 1) is ours  # remembered
    if old is None:
        assert ours is None
        return
    assert ours is not None
    (instant, key), (old_instant, old_key) = ours, old
    assert type(instant) is pendulum.DateTime and instant.tzinfo is pendulum.UTC
    assert (instant.timetuple(), instant.microsecond, instant.fold) == \
        (old_instant.timetuple(), old_instant.microsecond, old_instant.fold)
    assert instant == old_instant and hash(instant) == hash(old_instant)
    # The key: the instant's UTC fields, packed (year to microsecond, as pickled).
    u = old_key
    assert type(key) is bytes
    assert key == bytes([u.year >> 8, u.year & 255, u.month, u.day, u.hour, u.minute,
                         u.second, u.microsecond >> 16, (u.microsecond >> 8) & 255,
                         u.microsecond & 255])
    # A key equals another's exactly when the instants are equal: one microsecond on (or
    # the same instant in another offset) gives another key (the same key).
    with contextlib.suppress(OverflowError):  # (past 9999)
        later = parse((old_key + dt.timedelta(microseconds=1)).isoformat(), 1)
        assert later is not None and later[1] != key
    with contextlib.suppress(OverflowError):
        same = parse(old_key.astimezone(dt.timezone(dt.timedelta(hours=5))).isoformat(), 1)
        assert same is not None and same[1] == key


def test_the_rows_before_a_record_the_csv_module_refuses_are_given_first(tmp_path):
    import pytest

    path = tmp_path / "log.csv"
    path.write_text('case,time\n"a",1\nb,2\n"c' + "x" * 50 + '",3\nd,4\n', encoding="utf-8")
    old = csv.field_size_limit(20)
    got: list[Any] = []
    try:
        with pytest.raises(csv.Error):
            got.extend(_value_rows(path, ["case", "time"]))
    finally:
        csv.field_size_limit(old)
    assert got == [("a", "1"), ("b", "2")]


@pytest.mark.parametrize("gz", [False, True])
def test_a_log_read_from_a_pipe_is_the_log_read_from_its_file(tmp_path, gz):
    # A pipe is read once: its first bytes are peeked (not read) to tell gzip, and it is
    # copied before the records are split, since a quote sends the csv module back to the
    # start of a line (the text opened again).
    import os
    import threading

    text = "case,act,time\r\n" + "".join(
        f"c{i % 5},go{i % 3},2026-03-02T09:{i // 60:02d}:{i % 60:02d}Z\r\n"
        for i in range(400)) + '"c9",go1,2026-03-02T10:00:00Z\r\n'
    raw = gzip.compress(text.encode()) if gz else text.encode()
    regular = tmp_path / "log.csv"
    regular.write_bytes(raw)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as w:
            w.write(raw)

    columns = ColumnMap(case="case", activity="act", time="time")
    got: list[Any] = []

    def read() -> None:
        got.append(read_log(fifo, columns))

    # (Both sides in threads that cannot hang the run: a reader that opened the pipe twice
    # waited for a second writer forever.)
    threads = [threading.Thread(target=f, daemon=True) for f in (feed, read)]
    with mock.patch.object(source, "_BLOCK", 256):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        filed = read_log(regular, columns)
    assert got, "the pipe was not read to its end"
    piped = got[0]
    assert piped.report.to_dict() == filed.report.to_dict()
    assert piped.cases == filed.cases and piped.report.rows_read == 401
