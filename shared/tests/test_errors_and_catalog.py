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
