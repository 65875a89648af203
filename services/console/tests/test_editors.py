"""Keypoints, text spans and free text: drawn, selected and typed in the workbench, stored by assignment."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.conftest import image_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGE = image_url()
TEXT = "Alice met Bob in Paris.\nThen they left."


def project_with_task(stack, *, name: str, schema: dict, task: dict) -> tuple[dict, dict]:
    owner = stack.client("assignment", stack.cast.owner)
    project = owner.post("/projects", json={"name": name, "overlap": 1, "schema": schema}).json()
    created = owner.post(f"/projects/{project['id']}/tasks", json=task)
    assert created.status_code == 201, created.text
    return project, created.json()


def open_work(page, stack, project: dict) -> None:
    page.goto(f"{stack.url}/work?project={project['id']}")
    expect(page.get_by_test_id("work-status")).to_contain_text("your task is here", timeout=15_000)
    expect(page.locator("#workbench[data-ready]")).to_have_count(1)


def stored(stack, task: dict) -> dict:
    [submission] = stack.client("assignment", stack.cast.reviewer).get(f"/tasks/{task['id']}/answers").json()["submissions"]
    return submission


def submit(page, count: int) -> None:
    page.get_by_test_id("work-submit").click()
    expect(page.locator(f"#workbench[data-submitted='{count}']")).to_have_count(1)


def select_text(page, start: int, end: int, container: str = "work-text") -> None:
    """Drag the mouse over characters start..end of the task's text, as a person selects it."""
    box = page.evaluate("""([start, end, container]) => {
        const pre = document.getElementById(container);
        const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
        const at = (offset) => { let node, seen = 0; while ((node = walker.nextNode())) {
            if (seen + node.length > offset) return [node, offset - seen]; seen += node.length; } };
        const [a, ao] = at(start); walker.currentNode = pre; const [b, bo] = at(end - 1);
        const r1 = document.createRange(); r1.setStart(a, ao); r1.setEnd(a, ao + 1);
        const r2 = document.createRange(); r2.setStart(b, bo); r2.setEnd(b, bo + 1);
        const p = r1.getBoundingClientRect(), q = r2.getBoundingClientRect();
        return [p.left + 1, p.top + p.height / 2, q.right - 1, q.top + q.height / 2];
    }""", [start, end, container])
    page.mouse.move(box[0], box[1])
    page.mouse.down()
    page.mouse.move(box[2], box[3], steps=6)
    page.mouse.up()


def test_keypoints_spans_and_free_text_are_answered_in_the_workbench(stack, person, shot):
    me = person("ann-editors", ("annotator",))
    # keypoints: two clicks with two labels, a third removed with Delete, the first dragged 20 px right, 10 down
    project, task = project_with_task(stack, name="points", task={"url": IMAGE, "metadata": {"width": 640, "height": 480}},
                                      schema={"answer_type": "keypoints", "labels": [{"name": "nose"}, {"name": "tail"}]})
    open_work(me, stack, project)
    image = me.get_by_test_id("work-image").bounding_box()
    scale = image["width"] / 640

    def at(x, y):
        return image["x"] + x * scale, image["y"] + y * scale

    me.select_option("#work-label", "nose")
    me.mouse.click(*at(100, 120))
    me.select_option("#work-label", "tail")
    me.mouse.click(*at(300, 270))
    me.mouse.click(*at(500, 400))
    expect(me.locator("svg.keypoint-layer circle.keypoint")).to_have_count(3)
    me.keyboard.press("Delete")  # the point just added is the selected one
    expect(me.locator("svg.keypoint-layer circle.keypoint")).to_have_count(2)
    me.mouse.move(*at(100, 120))
    me.mouse.down()
    me.mouse.move(*at(120, 130), steps=6)
    me.mouse.up()
    shot(me, "keypoints")
    submit(me, 1)
    submission = stored(stack, task)
    nose, tail = submission["answer"]["objects"]
    assert (nose["label"], tail["label"]) == ("nose", "tail"), submission
    assert all(abs(a - b) <= 3 for a, b in zip(nose["points"][0], [120, 130])), nose
    assert all(abs(a - b) <= 3 for a, b in zip(tail["points"][0], [300, 270])), tail
    assert submission["annotator"] == "ann-editors"

    # spans: nothing selected is named; "Alice" and "Paris" selected with the mouse and labelled
    project, task = project_with_task(stack, name="spans", task={"url": "https://text.example/1", "metadata": {"text": TEXT}},
                                      schema={"answer_type": "text_span", "labels": [{"name": "PER"}, {"name": "LOC"}]})
    open_work(me, stack, project)
    me.get_by_test_id("work-add-span").click()
    expect(me.locator("#work-span-error")).to_have_text("select some text first")
    me.select_option("#work-label", "PER")
    select_text(me, 0, 5)
    me.get_by_test_id("work-add-span").click()
    me.select_option("#work-label", "LOC")
    select_text(me, 17, 22)
    me.get_by_test_id("work-add-span").click()
    expect(me.locator("#work-text mark.span")).to_have_text(["Alice", "Paris"])
    expect(me.get_by_test_id("work-spans").locator("li")).to_have_count(2)
    # a third span is added and removed again
    select_text(me, 10, 13)
    me.get_by_test_id("work-add-span").click()
    expect(me.get_by_test_id("work-spans").locator("li")).to_have_count(3)
    me.get_by_test_id("work-spans").locator("li[data-start='10']").get_by_role("button", name="remove").click()
    shot(me, "spans")
    submit(me, 1)
    assert stored(stack, task)["answer"] == {"spans": [{"label": "PER", "start": 0, "end": 5},
                                                       {"label": "LOC", "start": 17, "end": 22}]}

    # free text: typed (the s key types an s here, it does not submit) and submitted with the button
    project, task = project_with_task(stack, name="free", task={"url": "https://text.example/2", "metadata": {"text": TEXT}},
                                      schema={"answer_type": "free_text", "labels": []})
    open_work(me, stack, project)
    me.get_by_test_id("work-free-text").fill("")
    me.get_by_test_id("work-free-text").press_sequentially("she sells shells")
    shot(me, "free-text")
    submit(me, 1)
    assert stored(stack, task)["answer"] == {"text": "she sells shells"}


def claimed_item(stack, *, schema: dict, task: dict, answer: dict, reviewer: str) -> tuple[str, dict]:
    """An annotator's answer sampled for review (100 %) and claimed by `reviewer`; returns (review id, project)."""
    owner = stack.cast.owner
    project, created = project_with_task(stack, name=f"review-{schema['answer_type']}", schema=schema, task=task)
    assert stack.client("review", owner).put(f"/projects/{project['id']}/sampling-policy",
                                             json={"base_rate": 1.0}).status_code in (200, 201)
    work = stack.client("assignment", stack.cast.make("acme", "ann-corrected", ["annotator"]))
    assert work.post(f"/projects/{project['id']}/next").json()["task"]["task_id"] == created["id"]
    assert work.post(f"/tasks/{created['id']}/submit", json={"answer": answer, "duration_ms": 900}).status_code == 201
    reviews = stack.client("review", stack.cast.make("acme", reviewer, ["reviewer"]))
    for _ in range(120):
        item = reviews.post("/review-items/claim", json={"project_id": project["id"]})
        if item.status_code == 200:
            return item.json()["review_id"], project
        time.sleep(0.25)
    pytest.fail("the review item did not arrive")


def decided(stack, review_id: str) -> dict:
    return stack.client("review", stack.cast.reviewer).get(f"/review-items/{review_id}").json()


def test_a_reviewer_corrects_keypoints_spans_free_text_and_a_choice(stack, person, shot):
    page = person("reviewer-ed", ("reviewer",))
    # keypoints: the point is dragged 30 px right and a second one added with another label
    review_id, _ = claimed_item(stack, reviewer="reviewer-ed", task={"url": IMAGE, "metadata": {"width": 640, "height": 480}},
                                schema={"answer_type": "keypoints", "labels": [{"name": "nose"}, {"name": "tail"}]},
                                answer={"objects": [{"label": "nose", "points": [[200, 200]]}]})
    page.goto(f"{stack.url}/review/{review_id}")
    expect(page.locator("[data-testid=correct][data-ready]")).to_have_count(1)
    page.keyboard.press("c")
    expect(page.locator("svg.keypoint-layer circle.keypoint")).to_have_count(1)
    image = page.get_by_test_id("asset-image").bounding_box()
    scale = image["width"] / 640
    page.mouse.move(image["x"] + 200 * scale, image["y"] + 200 * scale)
    page.mouse.down()
    page.mouse.move(image["x"] + 230 * scale, image["y"] + 200 * scale, steps=6)
    page.mouse.up()
    page.select_option("#new-label", "tail")
    page.mouse.click(image["x"] + 400 * scale, image["y"] + 300 * scale)
    page.fill("#correction textarea[name=comment]", "nose further right, tail missing")
    shot(page, "keypoints-corrected")
    page.get_by_test_id("save-correction").click()
    expect(page.locator("h1")).to_have_text("Review queue")
    item = decided(stack, review_id)
    assert (item["verdict"], item["comment"]) == ("corrected", "nose further right, tail missing")
    nose, tail = item["corrected_answer"]["objects"]
    assert nose["label"] == "nose" and abs(nose["points"][0][0] - 230) <= 3 and abs(nose["points"][0][1] - 200) <= 3
    assert tail["label"] == "tail" and abs(tail["points"][0][0] - 400) <= 3 and abs(tail["points"][0][1] - 300) <= 3

    # spans: the wrong span is removed and the right one selected and labelled
    review_id, _ = claimed_item(stack, reviewer="reviewer-ed", task={"url": "https://text.example/3", "metadata": {"text": TEXT}},
                                schema={"answer_type": "text_span", "labels": [{"name": "PER"}, {"name": "LOC"}]},
                                answer={"spans": [{"label": "PER", "start": 10, "end": 13}]})
    page.goto(f"{stack.url}/review/{review_id}")
    expect(page.locator("[data-testid=correct][data-ready]")).to_have_count(1)
    page.get_by_test_id("correct").click()
    expect(page.get_by_test_id("correct-spans").locator("li")).to_have_count(1)
    page.get_by_test_id("correct-spans").locator("li[data-start='10']").get_by_role("button", name="remove").click()
    page.select_option("#new-label", "LOC")
    select_text(page, 17, 22, container="correct-text")
    page.get_by_test_id("correct-add-span").click()
    expect(page.locator("#correct-text mark.span")).to_have_text(["Paris"])
    shot(page, "spans-corrected")
    page.get_by_test_id("save-correction").click()
    expect(page.locator("h1")).to_have_text("Review queue")
    assert decided(stack, review_id)["corrected_answer"] == {"spans": [{"label": "LOC", "start": 17, "end": 22}]}

    # free text: retyped in the form
    review_id, _ = claimed_item(stack, reviewer="reviewer-ed", task={"url": "https://text.example/4", "metadata": {"text": TEXT}},
                                schema={"answer_type": "free_text", "labels": []}, answer={"text": "they stayed"})
    page.goto(f"{stack.url}/review/{review_id}")
    page.get_by_test_id("correct").click()
    expect(page.get_by_test_id("corrected-text")).to_have_value("they stayed")
    page.get_by_test_id("corrected-text").fill("they left")
    page.get_by_test_id("save-correction").click()
    expect(page.locator("h1")).to_have_text("Review queue")
    assert decided(stack, review_id)["corrected_answer"] == {"text": "they left"}

    # a single choice: the right label picked
    review_id, _ = claimed_item(stack, reviewer="reviewer-ed", task={"url": IMAGE},
                                schema={"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]},
                                answer={"label": "cat"})
    page.goto(f"{stack.url}/review/{review_id}")
    page.get_by_test_id("correct").click()
    expect(page.locator("input[name=corrected_label][value=cat]")).to_be_checked()
    page.check("input[name=corrected_label][value=dog]")
    shot(page, "choice-corrected")
    page.get_by_test_id("save-correction").click()
    expect(page.locator("h1")).to_have_text("Review queue")
    assert decided(stack, review_id)["corrected_answer"] == {"label": "dog"}
