"""Exports of final labels, streamed, each format read back by its own reader; accepted batches only unless asked;
the signed link batch.accepted carries; another tenant gets nothing."""
import csv
import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from pycocotools.coco import COCO

from tests.events import consensus, project_configured

pytestmark = pytest.mark.django_db

BOXES = [{"objects": [{"label": "car", "bbox": [10, 20, 30, 40]}, {"label": "person", "bbox": [0, 0, 5, 10]}]},
         {"objects": [{"label": "car", "bbox": [1, 2, 3, 4]}]}]
POLYGONS = [{"objects": [{"label": "car", "points": [[0, 0], [4, 0], [4, 3]]}]}]
KEYPOINTS = [{"objects": [{"label": "person", "points": [[1, 2], [3, 4], [5, 6]]}]}]


def labelled(deliver, *, answers, answer_type, labels, batch_id="b-1", project=None):
    project = project or str(uuid.uuid4())
    deliver(project_configured(project_id=project, answer_type=answer_type, labels=labels))
    tasks = []
    for answer in answers:
        task = str(uuid.uuid4())
        deliver(consensus(type_="consensus.reached", project_id=project, task_id=task, batch_id=batch_id,
                          annotators=["a1", "a2"], submission_ids=[str(uuid.uuid4()), str(uuid.uuid4())],
                          answer=answer))
        tasks.append(task)
    return project, tasks


def accept(api, cast, project, batch_id="b-1"):
    assert api(cast.owner).post(f"/api/v1/batches/{batch_id}/inspections", {"project_id": project, "aql": 10},
                                content_type="application/json").status_code == 201
    while (item := api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json")).status_code == 200:
        assert api(cast.reviewer).post(f"/api/v1/review-items/{item.json()['review_id']}/decision",
                                       {"verdict": "accepted"}, content_type="application/json").status_code == 200


def export(api, actor, **params):
    response = api(actor).get("/api/v1/exports", params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_json_lines_carry_labels_and_provenance(deliver, api, cast):
    project, tasks = labelled(deliver, answers=[{"label": "cat"}, {"label": "dog"}], answer_type="single_choice",
                              labels=["cat", "dog"])
    accept(api, cast, project)
    response, body = export(api, cast.owner, project_id=project, batch_id="b-1")
    assert (response.status_code, response["Content-Type"]) == (200, "application/x-ndjson")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert sorted((line["task_id"], line["label"]["label"]) for line in lines) == sorted(zip(tasks, ["cat", "dog"]))
    # the batch's sample was reviewed and accepted: the reviewer joins the consensus label's provenance
    assert {line["provenance"]["reviewer"] for line in lines} <= {"reviewer", None}
    assert lines[0]["provenance"] | {"reviewer": None, "review_id": None} == {
        "source": "consensus", "method": "majority_vote", "confidence": 0.6, "agreement": 0.5, "revision": 0,
        "annotators": ["a1", "a2"], "reviewer": None, "review_id": None, "schema_version": 2, "version": 1}
    assert lines[0]["answer_type"] == "single_choice"
    # the whole project: the accepted batches
    assert len(export(api, cast.owner, project_id=project)[1].decode().splitlines()) == 2


def test_coco_boxes_polygons_and_keypoints_load_in_pycocotools(deliver, api, cast, tmp_path):
    for answers, answer_type, labels, expected in [
        (BOXES, "bbox", ["car", "person"], [[10, 20, 30, 40], [0, 0, 5, 10], [1, 2, 3, 4]]),
        (POLYGONS, "polygon", ["car"], [[0, 0, 4, 3]]),
        (KEYPOINTS, "keypoints", ["person"], [[1, 2, 4, 4]]),
    ]:
        project, tasks = labelled(deliver, answers=answers, answer_type=answer_type, labels=labels)
        response, body = export(api, cast.owner, project_id=project, format="coco", include_unaccepted="true")
        assert response.status_code == 200, body
        path = tmp_path / f"{answer_type}.json"
        path.write_bytes(body)
        coco = COCO(str(path))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == labels
        assert sorted(img["assay_task_id"] for img in coco.loadImgs(coco.getImgIds())) == sorted(tasks)
        assert sorted(a["bbox"] for a in coco.loadAnns(coco.getAnnIds())) == sorted(expected)
    [polygon_ann] = COCO(str(tmp_path / "polygon.json")).loadAnns(ids=[1])
    assert (polygon_ann["segmentation"], polygon_ann["area"]) == ([[0, 0, 4, 0, 4, 3]], 6.0)
    [keypoint_ann] = COCO(str(tmp_path / "keypoints.json")).loadAnns(ids=[1])
    assert (keypoint_ann["keypoints"], keypoint_ann["num_keypoints"]) == ([1, 2, 2, 3, 4, 2, 5, 6, 2], 3)


def test_csv_and_label_studio_for_choices(deliver, api, cast):
    project, tasks = labelled(deliver, answers=[{"label": "cat"}, {"labels": ["cat", "dog"]}],
                              answer_type="multi_choice", labels=["cat", "dog"])
    response, body = export(api, cast.owner, project_id=project, format="csv", include_unaccepted="true")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert sorted((r["task_id"], r["label"], r["source"]) for r in rows) == sorted(
        [(tasks[0], "cat", "consensus"), (tasks[1], "cat|dog", "consensus")])
    response, body = export(api, cast.owner, project_id=project, format="labelstudio", include_unaccepted="true")
    imported = json.loads(body)
    # Label Studio's import format: a list of tasks with data and annotations whose results carry choices
    assert sorted((t["data"]["assay_task_id"], tuple(t["annotations"][0]["result"][0]["value"]["choices"]))
                  for t in imported) == sorted([(tasks[0], ("cat",)), (tasks[1], ("cat", "dog"))])
    assert {t["annotations"][0]["result"][0]["type"] for t in imported} == {"choices"}


def test_bad_export_requests_are_refused_naming_the_field(deliver, api, cast):
    project, _ = labelled(deliver, answers=BOXES, answer_type="bbox", labels=["car", "person"])
    cases = [
        ({"project_id": project, "batch_id": "nope"}, 404, "batch_id"),
        ({"project_id": project, "batch_id": "b-1"}, 409, "batch_id"),  # not accepted
        ({"project_id": project, "format": "csv", "include_unaccepted": "true"}, 400, "format"),
        ({"project_id": project, "format": "tiff"}, 400, "format"),
        ({"project_id": "x"}, 400, "project_id"),
    ]
    for params, status, field in cases:
        response, _ = export(api, cast.owner, **params)
        assert (response.status_code, list(response.json()["error"]["fields"])) == (status, [field]), params
    # a project export without accepted batches is empty, not an error
    assert export(api, cast.owner, project_id=project)[1] == b""
    assert export(api, cast.reviewer, project_id=project)[0].status_code == 403
    # another tenant: the batch is unknown, the project empty
    assert export(api, cast.outsider, project_id=project, batch_id="b-1", include_unaccepted="true")[0].status_code == 404
    assert export(api, cast.outsider, project_id=project, include_unaccepted="true")[1] == b""


def test_the_signed_link_of_an_accepted_batch_downloads_until_it_expires(deliver, api, cast, outbox_events, monkeypatch):
    project, tasks = labelled(deliver, answers=[{"label": "cat"}] * 3, answer_type="single_choice", labels=["cat"])
    accept(api, cast, project)
    [accepted] = outbox_events("batch.accepted")
    path = accepted.payload["download_url"].removeprefix("http://127.0.0.1:8103")
    response = api(None).get(path)
    assert response.status_code == 200
    assert sorted(json.loads(line)["task_id"] for line in b"".join(response.streaming_content).decode().splitlines()) \
        == sorted(tasks)
    forged = api(None).get(path[:-3] + "abc")
    assert (forged.status_code, list(forged.json()["error"]["fields"])) == (400, ["token"])
    from assay_review.core import exports
    monkeypatch.setattr(exports, "LINK_TTL", timedelta(seconds=-1))
    expired = api(None).get(path)
    assert (expired.status_code, expired.json()["error"]["fields"]) == (400, {"token": ["expired"]})


def sized(api, cast, project, task, *, width, height):
    """The image size review learns for a task: a model's prediction carrying `image`."""
    response = api(cast.owner).post(f"/api/v1/projects/{project}/predictions", {
        "task_id": task, "model_name": "det", "model_version": "1", "image": {"width": width, "height": height},
        "objects": []}, content_type="application/json")
    assert response.status_code == 201, response.content


def test_yolo_zip_holds_normalised_boxes_and_polygons_per_image(deliver, api, cast):
    for answers, answer_type, labels in [(BOXES, "bbox", ["car", "person"]), (POLYGONS, "polygon", ["car"])]:
        project, tasks = labelled(deliver, answers=answers, answer_type=answer_type, labels=labels)
        for task in tasks:
            sized(api, cast, project, task, width=200, height=100)
        response, body = export(api, cast.owner, project_id=project, format="yolo", include_unaccepted="true")
        assert (response.status_code, response["Content-Type"]) == (200, "application/zip"), body
        assert response["Content-Disposition"].endswith('.zip"')
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert archive.testzip() is None
            assert sorted(archive.namelist()) == sorted(["classes.txt", *(f"{t}.txt" for t in tasks)])
            classes = archive.read("classes.txt").decode().splitlines()
            assert classes == labels
            for task, answer in zip(tasks, answers):
                read = [line.split() for line in archive.read(f"{task}.txt").decode().splitlines()]
                assert len(read) == len(answer["objects"])
                for (cls, *values), obj in zip(read, answer["objects"]):
                    assert classes[int(cls)] == obj["label"]
                    values = [float(v) for v in values]
                    if answer_type == "bbox":
                        cx, cy, w, h = values
                        back = [(cx - w / 2) * 200, (cy - h / 2) * 100, w * 200, h * 100]
                        assert back == pytest.approx(obj["bbox"], abs=1e-3)
                    else:
                        back = [c for x, y in zip(values[::2], values[1::2]) for c in (x * 200, y * 100)]
                        assert back == pytest.approx([c for p in obj["points"] for c in p], abs=1e-3)


def test_label_studio_rectangles_and_polygons_in_percent_of_the_image(deliver, api, cast):
    for answers, answer_type, labels in [(BOXES, "bbox", ["car", "person"]), (POLYGONS, "polygon", ["car"])]:
        project, tasks = labelled(deliver, answers=answers, answer_type=answer_type, labels=labels)
        for task in tasks:
            sized(api, cast, project, task, width=50, height=200)
        response, body = export(api, cast.owner, project_id=project, format="labelstudio", include_unaccepted="true")
        assert response.status_code == 200, body
        imported = {t["data"]["assay_task_id"]: t for t in json.loads(body)}
        assert sorted(imported) == sorted(tasks)
        for task, answer in zip(tasks, answers):
            results = imported[task]["annotations"][0]["result"]
            assert [r["type"] for r in results] == [f"{'rectangle' if answer_type == 'bbox' else 'polygon'}labels"] * len(
                answer["objects"])
            for r, obj in zip(results, answer["objects"]):
                assert (r["from_name"], r["to_name"], r["original_width"], r["original_height"]) == ("label", "image", 50, 200)
                v = r["value"]
                if answer_type == "bbox":
                    assert v["rectanglelabels"] == [obj["label"]]
                    back = [v["x"] * 50 / 100, v["y"] * 200 / 100, v["width"] * 50 / 100, v["height"] * 200 / 100]
                    assert back == pytest.approx(obj["bbox"])
                else:
                    assert v["polygonlabels"] == [obj["label"]]
                    back = [c for x, y in v["points"] for c in (x * 50 / 100, y * 200 / 100)]
                    assert back == pytest.approx([c for p in obj["points"] for c in p])


def test_image_formats_refuse_tasks_without_an_image_size_naming_them(deliver, api, cast):
    project, tasks = labelled(deliver, answers=BOXES, answer_type="bbox", labels=["car", "person"])
    sized(api, cast, project, tasks[0], width=100, height=100)
    for format in ("yolo", "labelstudio"):
        response, _ = export(api, cast.owner, project_id=project, format=format, include_unaccepted="true")
        error = response.json()["error"]
        assert (response.status_code, list(error["fields"])) == (409, ["task_id"])
        assert tasks[1] in error["fields"]["task_id"][0] and tasks[0] not in error["fields"]["task_id"][0]
    # choices cannot go to YOLO; another tenant's sizes are not this tenant's
    choices, _ = labelled(deliver, answers=[{"label": "cat"}], answer_type="single_choice", labels=["cat"])
    assert export(api, cast.owner, project_id=choices, format="yolo", include_unaccepted="true")[0].status_code == 400
    assert export(api, cast.outsider, project_id=project, format="yolo", include_unaccepted="true")[0].status_code == 200


def test_yolo_zip_past_65535_files_has_zip64_end_records_and_reads_back():
    from assay_review.formats_images import yolo
    rows = ({"task_id": uuid.UUID(int=i), "answer": {"objects": [{"label": "car", "bbox": [64, 48, 32, 24]}]},
             "image": {"width": 640, "height": 480}} for i in range(70_000))
    body = b"".join(yolo(rows, labels=["car"], answer_type="bbox"))
    assert b"PK\x06\x06" in body[-200:]  # the ZIP64 end-of-central-directory record
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert len(names) == 70_001 and names[0] == "classes.txt"
        assert archive.read(f"{uuid.UUID(int=69_999)}.txt") == b"0 0.125 0.125 0.05 0.05\n"
