"""The one error shape: DRF's nested details flattened into field paths."""
from assay_shared.errors import flatten_fields


def test_nested_paths():
    detail = {
        "name": ["This field is required."],
        "event_types": {1: ["'nope' is not a known event type"]},
        "schema": {"labels": [{}, {"attributes": [{"type": ["must be one of select"]}]}]},
        "non_field_errors": ["rates must sum to at most 1"],
    }
    assert flatten_fields(detail) == {
        "name": ["This field is required."],
        "event_types[1]": ["'nope' is not a known event type"],
        "schema.labels[1].attributes[0].type": ["must be one of select"],
        "": ["rates must sum to at most 1"],
    }


def test_nested_non_field_errors_stay_on_their_object():
    assert flatten_fields({"policy": {"non_field_errors": ["bad"]}}) == {"policy": ["bad"]}
