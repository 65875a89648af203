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


def test_catalog_loads_once_under_concurrent_first_use():
    import threading

    from assay_shared.events.catalog import Catalog

    fresh, errors = Catalog(), []

    def use():
        try:
            assert fresh.versions("annotation.submitted") == [1]
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_every_event_schema_has_a_compiled_check_that_agrees_with_jsonschema():
    import copy
    import uuid

    import pytest
    from fastjsonschema import JsonSchemaException

    from assay_shared.events.catalog import catalog
    from assay_shared.events.envelope import EventInvalid, envelope_validate

    for type_, version, _, schema in catalog.entries():
        fast = catalog.fast_check(type_, version)
        assert fast is not None, f"{type_} v{version} is checked by jsonschema alone"
        validator = catalog.validator(type_, version)
        # whatever the compiled check accepts, jsonschema accepts too
        samples = [{}, {"unexpected": 1}, [], "text", None]
        for sample in samples:
            try:
                fast(copy.deepcopy(sample))
            except JsonSchemaException:
                continue
            assert validator.is_valid(sample), (type_, version, sample)

    # a bad payload is refused with jsonschema's reason and path, not the compiled check's
    envelope = {"id": str(uuid.uuid4()), "type": "task.completed", "version": 1, "tenant": "acme",
                "occurred_at": "2026-11-22T10:00:00+00:00", "producer": "assignment", "correlation_id": "c",
                "payload": {"task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()), "batch_id": None,
                            "submission_ids": "not-a-list"}}
    with pytest.raises(EventInvalid, match=r"^payload\.submission_ids: 'not-a-list' is not of type 'array'"):
        envelope_validate(envelope)
    envelope["payload"]["submission_ids"] = [str(uuid.uuid4())]
    assert envelope_validate(envelope).payload["submission_ids"]
