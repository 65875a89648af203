"""Answers of every type validated against a schema version (plain functions, no database)."""
import pytest

from assay_assignment.core.labels import answer_errors, schema_errors

ATTRS = [{"name": "color", "type": "select", "options": ["red", "blue"], "required": True},
         {"name": "tags", "type": "multi_select", "options": ["a", "b"]},
         {"name": "speed", "type": "number", "min": 0, "max": 200},
         {"name": "note", "type": "text"}, {"name": "parked", "type": "boolean"}]


def schema(kind):
    return {"answer_type": kind, "labels": [{"name": "car", "attributes": ATTRS}, {"name": "tree"}]}


@pytest.mark.parametrize("kind,answer", [
    ("bbox", {"objects": [{"label": "car", "bbox": [0, 0, 5, 5], "attributes": {"color": "red", "speed": 50,
                                                                                 "tags": ["a"], "parked": False}}]}),
    ("bbox", {"objects": []}),
    ("polygon", {"objects": [{"label": "tree", "points": [[0, 0], [1, 0], [1, 1]]}]}),
    ("keypoints", {"objects": [{"label": "tree", "points": [[3.5, 4]]}]}),
    ("text_span", {"spans": [{"label": "tree", "start": 0, "end": 4}]}),
    ("multi_choice", {"labels": ["car", "tree"]}),
    ("single_choice", {"label": "car", "attributes": {"color": "blue", "note": "dented"}}),
])
def test_valid_answers(kind, answer):
    assert schema_errors(schema(kind)) == {}
    assert answer_errors(schema(kind), answer) == {}


@pytest.mark.parametrize("kind,answer,errors", [
    ("bbox", {"objects": [{"label": "car", "bbox": [0, 0, 0, 5], "attributes": {"color": "red"}}]},
     {"answer.objects[0].bbox": ["width and height must be positive"]}),
    ("bbox", {"objects": [{"label": "car", "bbox": [0, 0, 5, 5]}]},
     {"answer.objects[0].attributes.color": ["is required"]}),
    ("bbox", {"objects": [{"label": "car", "bbox": [0, 0, 5, 5], "attributes": {"color": "green", "speed": 300,
                                                                                 "tags": ["a", "a"], "wheels": 4}}]},
     {"answer.objects[0].attributes.wheels": ["is not an attribute of this label"],
      "answer.objects[0].attributes.color": ["must be one of red, blue"],
      "answer.objects[0].attributes.tags": ["must be a list of distinct values from a, b"],
      "answer.objects[0].attributes.speed": ["must be at most 200"]}),
    ("polygon", {"objects": [{"label": "tree", "points": [[0, 0], [1, "x"]]}]},
     {"answer.objects[0].points": ["is required: a list of at least 3 [x, y] points"]}),
    ("polygon", {"objects": [{"label": "tree", "points": [[0, 0], [1, 1], [2]]}]},
     {"answer.objects[0].points[2]": ["must be [x, y] numbers"]}),
    ("text_span", {"spans": [{"label": "tree", "start": 5, "end": 5}]},
     {"answer.spans[0].end": ["is required: an integer greater than start"]}),
    ("multi_choice", {"labels": ["car", "bus", "car"]},
     {"answer.labels[1]": ["is not a label of the schema"], "answer.labels": ["must not repeat a label"]}),
    ("free_text", {"text": 3}, {"answer.text": ["is required: a string of at most 100000 characters"]}),
    ("keypoints", [], {"answer": ["must be an object"]}),
])
def test_invalid_answers_name_every_path(kind, answer, errors):
    definition = schema(kind) if kind != "free_text" else {"answer_type": "free_text"}
    assert answer_errors(definition, answer) == errors
