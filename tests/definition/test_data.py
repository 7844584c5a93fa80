from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import DEFINITION_SCHEMA, InvalidDefinition, Labels, ProcessDefinition
from tests.helpers import ticket_definition


def test_round_trip_through_json():
    d = ticket_definition()
    data = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    again = ProcessDefinition.from_dict(data, guards=d.guards.values())
    assert again.to_dict() == d.to_dict()
    assert again.state("registered").labels == Labels("Registered", "已登記", "已登记")


def test_schema_errors_are_all_reported():
    with pytest.raises(InvalidDefinition) as info:
        ProcessDefinition.from_dict({"name": "Bad Name", "version": 0, "states": [],
                                     "transitions": [{"trigger": "x"}], "extra": 1})
    text = str(info.value)
    assert "version" in text and "states" in text and "extra" in text
    assert "'source' is a required property" in text


def test_missing_guard_callable_is_reported():
    data = ticket_definition().to_dict()
    with pytest.raises(InvalidDefinition, match="no callable was supplied for it"):
        ProcessDefinition.from_dict(data)


def test_schema_is_a_published_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(DEFINITION_SCHEMA)
    validator = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)
    data = ticket_definition().to_dict()
    assert list(validator.iter_errors(data)) == []
    # Not a schema that accepts anything: each of these breaks one rule.
    assert not validator.is_valid({**data, "version": 0})
    assert not validator.is_valid({**data, "unexpected": 1})
    assert not validator.is_valid({k: v for k, v in data.items() if k != "states"})
    broken = {**data, "transitions": [{k: v for k, v in t.items() if k != "source"}
                                      for t in data["transitions"]]}
    assert not validator.is_valid(broken)


labels = st.builds(Labels, st.text(min_size=1, max_size=5), st.text(max_size=3),
                   st.text(max_size=3))


@settings(max_examples=60)
@given(st.lists(labels, min_size=3, max_size=3), st.integers(1, 99))
def test_labels_and_versions_round_trip(labs, version):
    d = ticket_definition().derive(version=version)
    for state_id, lab in zip(["received", "planned", "done"], labs, strict=False):
        d.update_state(state_id, labels=lab)
    built = d.build()
    again = ProcessDefinition.from_dict(built.to_dict(), guards=built.guards)
    assert again.to_dict() == built.to_dict()
    assert again.version == version
