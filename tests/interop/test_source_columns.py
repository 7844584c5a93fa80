"""The column-at-once ways of read_log give exactly what the per-cell ones give: a time column
read by ``map`` (the instants and keys the cell parser gives, or nothing when any cell needs
the parser's other ways) and a row's text cells frozen directly (the plain-data walk's
result, or its refusal)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from servicewf.errors import InvalidData, NaiveTimestamp
from servicewf.interop import source
from servicewf.plain import MAX_TEXT, FrozenDict, frozen_mapping

ISO = st.builds(
    lambda moment, minutes, form: _text(moment, minutes, form),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    st.sampled_from(["iso", "Z", "seconds", "micro"]))
ODD = st.sampled_from([
    "", " ", "2026-03-02T09:00:00+01:00 ", " 2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00",
    "2026-03-02", "yesterday", "2026-13-40T00:00:00Z", "2026-03-02T09:00:00z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00", "2026-03-02T09:00:00Z ",
    "2026-03-02 09:00:00+05:30", "20260302T090000Z", "2026-03-02T09:00:00+01:00:30",
    "2026-03-02T09:00:00.5Z", "Z", "\u20032026-03-02T09:00:00Z"])


def _text(moment: dt.datetime, minutes: int, form: str) -> str:
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    if form == "Z":
        return moment.replace(tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z")
    spec = {"seconds": "seconds", "micro": "microseconds"}.get(form, "auto")
    return moment.replace(tzinfo=zone).isoformat(timespec=spec)


def _cellwise(values: list[Any], tz: dt.tzinfo | None) -> Any:
    parse = source._instant_parser(tz, None, "time")
    try:
        found = [parse(v, n) for n, v in enumerate(values, start=1)]
    except NaiveTimestamp:
        return "naive"
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ISO, ODD, st.none()), min_size=1, max_size=12),
       st.sampled_from([None, "Asia/Shanghai", "+02:00"]))
@example(["2010-03-31T15:59:42+01:00", "2010-03-31T16:00:56+02:00"], None)  # BPIC 2013's
@example(["2026-03-02T09:00:00Z", "2026-03-02T09:00:00+00:00"], None)  # equal instants
@example(["0001-01-01T00:00:00+01:00"], None)  # before year 1 in UTC: parse's way
@example(["9999-12-31T23:59:59-12:00"], None)  # after 9999 in UTC
@example(["2026-03-02T09:00:00+01:00", " 2026-03-02T09:00:00+01:00"], None)  # spaced
@example(["2026-03-02T09:00:00+01:00", None], None)  # a missing cell
@example(["2026-03-02T09:00:00"], "Asia/Shanghai")  # naive, with a zone: parse's way
def test_a_time_column_gives_what_each_cell_gives(values, tz):
    zone = dt.timezone(dt.timedelta(hours=2)) if tz == "+02:00" else source._zone(tz)
    _, parse_column = source._instants_parser(zone, None, "time")
    column = parse_column(values)
    expected = _cellwise(values, zone)
    clean = all(isinstance(v, str) and v == v.strip() and v for v in values) and \
        expected != "naive" and all(expected) and all(
            dt.datetime.fromisoformat(v.replace("Z", "+00:00")).tzinfo is not None
            for v in values)
    if column is None:
        assert not clean or any(  # only times parse reads otherwise (past the calendar)
            abs(dt.datetime.fromisoformat(v.replace("Z", "+00:00")).year - 5000) > 4997
            for v in values)
        return
    assert expected != "naive" and all(expected)
    instants, keys = column
    assert len(instants) == len(keys) == len(values)
    for instant, key, (old_instant, old_key) in zip(instants, keys, expected, strict=True):
        assert type(instant) is type(old_instant)
        assert instant == old_instant and instant.tzinfo is old_instant.tzinfo
        assert (instant.timetuple(), instant.microsecond, instant.fold) == \
            (old_instant.timetuple(), old_instant.microsecond, old_instant.fold)
        assert type(key) is bytes and key == old_key


def test_a_time_format_is_never_read_by_the_column():
    _, parse_column = source._instants_parser(None, "%Y-%m-%dT%H:%M:%S%z", "time")
    assert parse_column(["2026-03-02T09:00:00+01:00"]) is None


def test_offsets_are_asked_once_per_zone_and_bounded():
    offsets = source._Offsets()
    zones = [dt.timezone(dt.timedelta(minutes=m)) for m in (60, 60, -90)]
    assert [offsets[z] for z in zones] == [dt.timedelta(hours=1)] * 2 + \
        [dt.timedelta(minutes=-90)]
    assert len(offsets) == 2
    many = source._Offsets()
    for s in range(10_005):
        assert many[dt.timezone(dt.timedelta(microseconds=s))] == dt.timedelta(microseconds=s)
    assert len(many) == 10_000


CELL = st.one_of(st.text(max_size=6), st.sampled_from(["high", "a\x00b", "\ud800", "é", "L1"]))


def _outcome(call: Any) -> Any:
    try:
        found = call()
    except InvalidData as exc:
        return ("refused", str(exc), exc.path, exc.problem)
    return (type(found), type(getattr(found, "copy", lambda: None)()), dict(found))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["impact", "tier", "prodüct", "a\x00", "team"]), unique=True,
                max_size=4).flatmap(lambda fields: st.tuples(
                    st.just(fields), st.lists(CELL, min_size=len(fields),
                                              max_size=len(fields)))))
@example((["impact", "tier"], ["Medium", "L1"]))
@example((["impact"], ["caf\u00e9"]))  # not ASCII: the walk
@example((["impact"], ["a\x00b"]))  # a NUL: refused by the walk
@example((["impact"], ["\ud800"]))  # a lone surrogate: refused
@example((["prodüct"], ["x"]))  # a field name not ASCII: the walk
@example((["a\x00"], ["x"]))  # a field name with a NUL: refused
@example(([], []))  # no field: the empty mapping
def test_cells_freeze_as_the_plain_data_walk_freezes_them(fields_cells):
    fields, cells = fields_cells
    freeze = source._cells_freezer(fields)
    ours = _outcome(lambda: freeze(cells))
    walked = _outcome(lambda: frozen_mapping(dict(zip(fields, cells, strict=True))))
    assert ours == walked
    if ours[0] != "refused":
        inner = freeze(cells)
        reference = frozen_mapping(dict(zip(fields, cells, strict=True)))
        assert type(inner) is type(reference)
        assert list(inner.items()) == list(reference.items())
        if fields:
            # The read-only view holds a FrozenDict, as the walk's does.
            assert type(inner.copy()) is dict and not isinstance(inner, dict)
            assert any(type(r) is FrozenDict for r in _referents(inner))
        else:
            assert inner is reference  # the shared empty mapping


def _referents(view: Any) -> list[Any]:
    import gc

    return gc.get_referents(view)


@pytest.mark.parametrize("extra", [0, 1])
def test_cells_at_the_text_limit(extra):
    fields = ["f", "g"]
    budget = MAX_TEXT - len("fg")
    cells = ["x" * (budget - 1 + extra), "y"]
    freeze = source._cells_freezer(fields)
    ours = _outcome(lambda: freeze(cells))
    assert ours == _outcome(lambda: frozen_mapping(dict(zip(fields, cells, strict=True))))
    assert (ours[0] == "refused") == bool(extra)


@pytest.mark.parametrize("fields", [["a"], ["a", "b"], ["a", "b", "c"]])
def test_cells_at_the_item_limit(fields):
    # Three values at most (the mapping counts as one): two fields are within, three not.
    from unittest import mock

    from servicewf import plain

    cells = ["x"] * len(fields)
    with mock.patch.object(plain, "MAX_ITEMS", 3), mock.patch.object(source, "MAX_ITEMS", 3):
        freeze = source._cells_freezer(fields)
        ours = _outcome(lambda: freeze(cells))
        walked = _outcome(lambda: frozen_mapping(dict(zip(fields, cells, strict=True))))
    assert ours == walked
    assert (ours[0] == "refused") == (len(fields) == 3)


@pytest.mark.parametrize(("offset", "tz", "others"), [
    ("+02:00", None, "+01:00"),  # read at once
    ("", "Etc/GMT-2", ""),  # naive: read time by time (the zone is UTC+2)
])
def test_the_time_column_is_the_one_read(tmp_path, offset, tz, others):
    # Other columns holding ISO times too (activity and actor names may be any identifier):
    # every instant is the time column's, whichever way it is read.
    from servicewf.interop import ColumnMap, read_log

    path = tmp_path / "log.csv"
    path.write_text("case,act,time,who\n" + "".join(
        f"c{i % 3},2001-01-0{1 + i % 5}T00:00:00{others},2026-03-02T09:{i:02d}:00{offset},"
        f"1999-12-0{1 + i % 7}T00:00:00{others}\n" for i in range(40)), encoding="utf-8")
    log = read_log(path, ColumnMap(case="case", activity="act", time="time", actor="who"),
                   tz=tz)
    ats = sorted((e.row, e.at.isoformat()) for events in log.cases.values() for e in events)
    assert ats == [(i + 1, f"2026-03-02T07:{i:02d}:00+00:00") for i in range(40)]
