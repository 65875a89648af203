"""Gold answers' history and edits; webhook endpoints, deliveries with their attempts, redelivery."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from assay_shared.demo.crowd import WebhookReceiver
from tests.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_gold_answers_are_uploaded_edited_and_keep_their_history(stack, person, shot, tmp_path):
    assignment = stack.client("assignment", stack.cast.owner)
    project = assignment.post("/projects", json={"name": "pets-gold", "gold_rate": 0.5, "exam_size": 1, "schema": {
        "answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}}).json()
    task = assignment.post(f"/projects/{project['id']}/tasks", json={"url": "https://img.example/1.jpg", "gold": True})
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    good = tmp_path / "gold.jsonl"
    good.write_text(json.dumps({"task_id": task_id, "project_id": project["id"], "answer": {"label": "cat"},
                                "answer_type": "single_choice", "reason": "expert label"}) + "\n")
    lead = person("lead-1", ("qa_lead",))
    lead.goto(f"{stack.url}/gold")
    lead.set_input_files("input[name=file]", str(good))
    lead.get_by_role("button", name="Upload").click()
    expect(lead.get_by_test_id("gold-imported")).to_contain_text("Imported 1 gold answers")
    lead.get_by_role("link", name=task_id).click()
    expect(lead.get_by_test_id("gold-current")).to_contain_text("cat")
    # a bad edit is named next to its field and keeps what was typed
    lead.fill("textarea[name=answer]", '{"label": ')
    lead.fill("input[name=reason]", "second opinion")
    lead.get_by_test_id("gold-save").click()
    expect(lead.locator(".field-error[data-field=answer]")).to_contain_text("is not JSON")
    assert lead.input_value("input[name=reason]") == "second opinion"
    lead.fill("textarea[name=answer]", '{"label": "dog"}')
    lead.get_by_test_id("gold-save").click()
    expect(lead.get_by_test_id("gold-current")).to_contain_text("dog")
    history = lead.locator("#gold-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("second opinion")
    expect(history.first).to_contain_text("lead-1")
    expect(history.nth(1)).to_contain_text("expert label")
    shot(lead, "gold-history")
    versions = stack.client("scoring", stack.cast.owner).get(f"/gold-answers/{task_id}").json()["versions"]
    assert [(v["answer"], v["reason"], v["set_by"]) for v in versions] == [
        ({"label": "dog"}, "second opinion", "lead-1"), ({"label": "cat"}, "expert label", "lead-1")]
    # when an annotator answers the gold task with "cat", the lead sees it as a mistake and in the confusion
    for n in range(3):
        assignment.post(f"/projects/{project['id']}/tasks", json={"url": f"https://img.example/r{n}.jpg"})
    work = stack.client("assignment", stack.cast.make("acme", "gold-ann", ["annotator"]))
    handed = []
    while task_id not in handed and len(handed) < 4:  # the exam (one gold task) comes first
        next_task = work.post(f"/projects/{project['id']}/next").json()["task"]
        assert next_task, handed
        handed.append(next_task["task_id"])
        assert work.post(f"/tasks/{next_task['task_id']}/submit",
                         json={"answer": {"label": "cat"}, "duration_ms": 800}).status_code == 201
    assert task_id in handed
    scores = stack.client("scoring", stack.cast.owner)
    eventually(lambda: scores.get("/gold-scores", params={"annotator": "gold-ann"}).json()["results"],
               until=lambda rows: len(rows) == 1, what="the gold score")
    lead.goto(f"{stack.url}/workforce/gold-ann")
    expect(lead.locator("#confusion tr[data-gold=dog] td").nth(0)).to_have_text("1")  # answered cat
    expect(lead.locator("#mistakes tbody tr")).to_have_count(1)
    expect(lead.locator("#mistakes")).to_contain_text(task_id)
    shot(lead, "confusion-and-mistakes")


def test_webhook_endpoint_deliveries_and_redelivery(stack, person, shot):
    receiver = WebhookReceiver()
    try:
        admin = person("manager-1", ("admin",))
        admin.locator("nav").get_by_role("link", name="Webhooks").click()
        admin.fill("input[name=url]", "ftp://nowhere")
        admin.get_by_role("button", name="Add endpoint").click()
        expect(admin.locator(".field-error[data-field=url]")).to_be_visible()
        admin.fill("input[name=url]", receiver.url)
        admin.fill("input[name=event_types]", "annotator.*")
        admin.get_by_role("button", name="Add endpoint").click()
        expect(admin.get_by_test_id("endpoint-secret")).to_contain_text("whsec_")
        expect(admin.locator("#endpoints")).to_contain_text(receiver.url)
        # an event the endpoint subscribed to is delivered, signed
        suspended = stack.client("metrics", stack.cast.owner).post("/annotators/hook-me/suspend", json={"reason": "x"})
        assert suspended.status_code == 200, suspended.text
        eventually(lambda: len(receiver.requests), until=lambda n: n == 1, what="the delivery")
        admin.reload()
        row = admin.locator("#deliveries tbody tr").first
        expect(row).to_contain_text("annotator.suspended")
        expect(row).to_contain_text("succeeded")
        row.get_by_role("link", name="annotator.suspended").click()
        expect(admin.locator("#attempts tbody tr")).to_have_count(1)
        admin.get_by_test_id("redeliver").click()
        eventually(lambda: len(receiver.requests), until=lambda n: n == 2, what="the redelivery")
        admin.reload()
        expect(admin.locator("#attempts tbody tr")).to_have_count(2)
        shot(admin, "delivery-redelivered")
    finally:
        receiver.close()


def test_operations_page_for_admins(stack, person, shot):
    admin = person("manager-1", ("admin",))
    admin.locator("nav").get_by_role("link", name="Operations").click()
    for service in ("assignment", "scoring", "review", "metrics", "webhooks"):
        row = admin.locator(f"#operations tr[data-service={service}]")
        expect(row).to_contain_text("ready")
        expect(row).to_contain_text("database: ok")
        expect(row.locator("td[data-col=backlog]")).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    shot(admin, "operations")
    lead = person("lead-1", ("qa_lead",))
    assert lead.goto(f"{stack.url}/operations").status == 403
