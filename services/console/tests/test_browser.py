"""A day in the console, in a real browser against the real services; and its access rules."""
from __future__ import annotations

import csv
import io
import json

import pytest
from playwright.sync_api import expect

from assay_shared.stack.console import console_unit, signin_code_create
from assay_shared.stack.processes import free_port, units_stop
from tests.conftest import eventually, image_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IMAGE = image_url()
LEAD, MANAGER, REVIEWER = ("lead-1", ("qa_lead",)), ("manager-1", ("admin",)), ("reviewer-1", ("reviewer",))
ANNOTATOR = ("ann-1", ("annotator",))


def test_a_day_in_the_console(stack, person, shot):
    # -- the QA lead creates a box project in the schema editor; a bad setting is named next to its field
    lead = person(*LEAD)
    lead.locator("nav").get_by_role("link", name="Projects").click()
    lead.get_by_role("link", name="New project").click()
    lead.fill("input[name=name]", "streets")
    lead.select_option("select[name=answer_type]", "bbox")
    lead.fill("textarea[name=labels]", "car\nperson")
    lead.fill("textarea[name=attributes]", "occluded boolean\ncolour select red blue")
    lead.fill("input[name=overlap]", "1")
    lead.fill("input[name=gold_rate]", "0.9")
    lead.get_by_role("button", name="Create project").click()
    expect(lead.locator(".field-error[data-field=gold_rate]")).to_contain_text("0.5")
    assert lead.input_value("input[name=name]") == "streets"
    assert lead.input_value("textarea[name=labels]") == "car\nperson"
    shot(lead, "project-bad-gold-rate")
    lead.fill("input[name=gold_rate]", "0")
    lead.get_by_role("button", name="Create project").click()
    expect(lead.locator("h1")).to_have_text("streets")
    project_id = lead.url.rstrip("/").rsplit("/", 1)[1]
    expect(lead.locator("#schema-history tbody tr")).to_have_count(1)
    shot(lead, "project-created")
    # a new schema version appears in the history
    lead.fill("textarea[name=labels]", "car\nperson\nbicycle")
    lead.get_by_role("button", name="Save as a new version").click()
    expect(lead.locator("#schema-history tbody tr")).to_have_count(2)
    expect(lead.locator("#schema-history tbody tr").first).to_contain_text("bicycle")

    # -- per-class sampling: the effective rate shows before saving, then the policy is saved
    lead.get_by_role("link", name="Sampling and batch verdicts").click()
    lead.fill("input[name=base_rate]", "0.1")
    lead.fill("textarea[name=class_rates]", "car = 1")
    expect(lead.locator("#effective-rates tr[data-label=car] td.num")).to_have_text("1.000")
    expect(lead.locator("#effective-rates tr[data-label=person] td.num")).to_have_text("0.100")
    shot(lead, "sampling-preview")
    lead.get_by_test_id("save-policy").click()
    expect(lead.locator(".banner.ok")).to_have_text("policy saved")
    policy = stack.client("review", stack.cast.owner).get(f"/projects/{project_id}/sampling-policy").json()
    assert (policy["base_rate"], policy["class_rates"]) == (0.1, {"car": 1.0})

    # -- progress: tasks imported through the API appear on the list without a reload (htmx polling)
    lead.goto(f"{stack.url}/projects")
    row = lead.locator("tr[data-project=streets]")
    expect(row.locator("td[data-col=tasks]")).to_have_text("0")
    assignment = stack.client("assignment", stack.cast.owner)
    body = "\n".join(json.dumps({"external_id": f"s{i}", "url": IMAGE, "metadata": {"width": 640, "height": 480}})
                     for i in range(2))
    imported = assignment.post(f"/projects/{project_id}/batches", content=body,
                               headers={"Content-Type": "application/x-ndjson"})
    assert imported.status_code == 201, imported.text
    expect(row.locator("td[data-col=tasks]")).to_have_text("2", timeout=15_000)
    expect(row.locator("td[data-col=queued]")).to_have_text("2")
    shot(lead, "projects-progress")

    # -- an annotator submits a box (through the API: the workbench is another front end)
    annotator = stack.cast.make("acme", ANNOTATOR[0], list(ANNOTATOR[1]))
    work = stack.client("assignment", annotator)
    task = work.post(f"/projects/{project_id}/next").json()["task"]
    answer = {"objects": [{"label": "car", "bbox": [100, 120, 200, 150],
                           "attributes": {"occluded": False, "colour": "red"}}]}
    submitted = work.post(f"/tasks/{task['task_id']}/submit", json={"answer": answer, "duration_ms": 4200})
    assert submitted.status_code == 201, submitted.text
    expect(row.locator("td[data-col=answered]")).to_have_text("1", timeout=15_000)
    reviews = stack.client("review", stack.cast.reviewer)
    eventually(lambda: reviews.get("/review-items", params={"status": "pending"}).json()["results"],
               until=lambda items: len(items) == 1, what="the sampled answer queued for review")

    # -- the reviewer sees the box drawn on the image, and rejects it with a comment
    reviewer = person(*REVIEWER)
    reviewer.locator("nav").get_by_role("link", name="Review").click()
    reviewer.get_by_test_id("claim").click()
    expect(reviewer.get_by_test_id("asset-image")).to_be_visible()
    box = reviewer.locator("svg.overlay g.shape.answer[data-label=car] rect")
    expect(box).to_have_count(1)
    assert [box.get_attribute(a) for a in ("x", "y", "width", "height")] == ["100.0", "120.0", "200.0", "150.0"]
    assert reviewer.get_by_test_id("overlay").get_attribute("viewBox") == "0 0 640 480"
    shot(reviewer, "review-item")
    reviewer.get_by_test_id("reject").click()
    expect(reviewer.locator(".field-error[data-field=comment]")).to_contain_text("say what is wrong")
    reviewer.fill("textarea[name=comment]", "the box misses the bumper")
    reviewer.get_by_test_id("reject").click()
    expect(reviewer.locator("h1")).to_have_text("Review queue")
    shot(reviewer, "review-decided")
    [decided] = reviews.get("/review-items", params={"status": "decided"}).json()["results"]
    assert (decided["verdict"], decided["comment"], decided["reviewer"]) == (
        "rejected", "the box misses the bumper", "reviewer-1")

    # -- the workforce manager sees the annotator with the review outcome, downloads the CSV, suspends them
    metrics = stack.client("metrics", stack.cast.owner)
    eventually(lambda: metrics.get("/annotators", params={"annotator": "ann-1"}).json()["results"],
               until=lambda rows: rows and rows[0]["reviews"]["rejected"] == 1, what="metrics of the review")
    manager = person(*MANAGER)
    manager.locator("nav").get_by_role("link", name="Workforce").click()
    table_row = manager.locator("tr[data-annotator=ann-1]")
    expect(table_row).to_contain_text("1.0")  # rejection rate
    shot(manager, "workforce")
    with manager.expect_download() as download:
        manager.get_by_test_id("csv").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    mine = next(r for r in rows if r["annotator"] == "ann-1")
    assert (mine["submissions"], mine["rejection_rate"], mine["standing"]) == ("1", "1.0", "ok")
    table_row.get_by_role("link", name="ann-1").click()
    expect(manager.locator("#chart-throughput")).to_be_visible()
    manager.fill("input[name=reason]", "rushed answers")
    manager.get_by_test_id("standing-action").click()
    expect(manager.locator("#standings")).to_contain_text("yes")
    expect(manager.get_by_test_id("standing-action")).to_contain_text("Reinstate")
    shot(manager, "annotator-suspended")
    standings = metrics.get("/standings", params={"annotator": "ann-1"}).json()["results"]
    assert [(s["project_id"], s["suspended"]) for s in standings] == [(None, True)]

    # -- the annotator sees their own statistics, and the lead's pages are refused by the services
    me = person(*ANNOTATOR)
    expect(me.locator("nav").get_by_role("link", name="Projects")).to_have_count(0)
    me.get_by_role("link", name="My statistics").click()
    expect(me.locator("h1")).to_have_text("ann-1")
    shot(me, "annotator-own-page")


def test_pages_a_role_may_not_see_are_refused_by_the_service(stack, person, shot):
    annotator = person(*ANNOTATOR)
    for path, service in (("/projects", "assignment"), ("/gold", "scoring"), ("/review", "review"),
                          ("/workforce/someone-else", "metrics")):
        response = annotator.goto(f"{stack.url}{path}")
        assert response.status == 403, path
        expect(annotator.get_by_test_id("forbidden")).to_contain_text(f"The {service} service refused")
    shot(annotator, "forbidden")
    # the same refusal with the annotator's own token, straight from the service: the page only relays it
    token = stack.cast.make("acme", "ann-1", ["annotator"])
    assert stack.client("assignment", token).get("/projects").status_code == 403
    # another tenant's lead sees none of acme's projects
    stack.client("assignment", stack.cast.owner).post("/projects", json={
        "name": "acme-only", "schema": {"answer_type": "single_choice", "labels": [{"name": "a"}]}})
    outsider = person("outsider-lead", ("qa_lead",), tenant="globex")
    outsider.goto(f"{stack.url}/projects")
    expect(outsider.locator("#project-rows")).not_to_contain_text("acme-only")


def test_forms_without_the_csrf_token_are_refused(stack, person):
    reviewer = person(*REVIEWER)
    response = reviewer.request.post(f"{stack.url}/review/claim", form={"project_id": ""})
    assert response.status == 403
    assert 'data-testid="csrf-refused"' in response.text()
    assert reviewer.request.post(f"{stack.url}/signout", form={}).status == 403
    reviewer.goto(f"{stack.url}/")
    expect(reviewer.get_by_test_id("who")).to_contain_text("reviewer-1")  # still signed in


def test_security_headers_and_no_inline_script(stack, person):
    lead = person(*LEAD)
    response = lead.goto(f"{stack.url}/projects")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    scripts = lead.locator("script")
    assert scripts.count() == 3 and all(scripts.nth(i).get_attribute("src") for i in range(3))
    cookies = {c["name"]: c for c in lead.context.cookies()}
    session = cookies["assay_console_session"]
    assert (session["httpOnly"], session["sameSite"]) == (True, "Lax")


def test_links_work_once_and_sign_out_ends_the_session(stack, browser, person, shot):
    link = stack.link(subject="expert-1", roles=("expert",))
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_test_id("who")).to_contain_text("expert-1")
    cookie = next(c for c in context.cookies() if c["name"] == "assay_console_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto(f"{stack.url}/review")
    assert page.url.startswith(f"{stack.url}/signin")
    # the old session cookie is worth nothing, and the link does not work twice
    other = browser.new_context()
    other.add_cookies([cookie])
    stale = other.new_page()
    stale.goto(f"{stack.url}/review")
    assert stale.url.startswith(f"{stack.url}/signin")
    response = stale.goto(link)
    assert response.status == 403
    expect(stale.locator(".banner.error")).to_contain_text("not valid")
    shot(stale, "link-used")
    context.close()
    other.close()


def test_gold_upload_shows_every_bad_row(stack, person, shot, tmp_path):
    lead = person(*LEAD)
    bad = tmp_path / "gold.csv"
    bad.write_text("task_id,project_id,answer,reason\n"
                   'not-a-uuid,also-not,"{""label"": ""cat""}",expert\n'
                   "00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-000000000002,{broken,expert\n")
    lead.goto(f"{stack.url}/gold")
    lead.set_input_files("input[name=file]", str(bad))
    lead.get_by_role("button", name="Upload").click()
    errors = lead.locator("#gold-errors tbody tr")
    expect(errors.first).to_be_visible()
    text = [errors.nth(i).inner_text().split("\t") for i in range(errors.count())]
    assert ["3", "answer"] == text[0][:2], text
    shot(lead, "gold-errors")


def test_a_service_that_is_down_shows_a_banner_and_the_other_pages_work(stack, browser, shot):
    # given a console whose scoring service does not answer (nothing listens on its port)
    env = {**stack.console.env, "SERVICE_URL_SCORING": f"http://127.0.0.1:{free_port()}"}
    console = console_unit(env=env, port=free_port(), log_dir=None)
    console.spawn()
    try:
        eventually(console.healthy, until=bool, timeout=60, what="the second console")
        code = signin_code_create(client=stack.redis, prefix=stack.prefix, tenant="acme", subject="lead-1",
                                  roles=("qa_lead",))
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{console.url}/signin/{code}")
        # when the lead opens the gold page (scoring), then a banner names the service
        response = page.goto(f"{console.url}/gold")
        assert response.status == 503
        expect(page.get_by_test_id("service-down")).to_contain_text("The scoring service does not answer")
        shot(page, "scoring-down")
        # and the pages of the other services keep working
        assert page.goto(f"{console.url}/projects").status == 200
        expect(page.locator("h1")).to_have_text("Projects")
        context.close()
    finally:
        units_stop([console])


def test_reviewer_corrects_a_box_and_the_annotator_sees_the_outcome(stack, person, shot):
    # given a box project sampled at 100 % and an annotator's box on a 640×480 image
    owner = stack.cast.owner
    project = stack.client("assignment", owner).post("/projects", json={
        "name": "correct-me", "overlap": 1, "schema": {"answer_type": "bbox", "labels": [{"name": "car"}]}}).json()
    assert stack.client("review", owner).put(f"/projects/{project['id']}/sampling-policy",
                                             json={"base_rate": 1.0}).status_code in (200, 201)
    task = stack.client("assignment", owner).post(f"/projects/{project['id']}/tasks", json={
        "url": IMAGE, "metadata": {"width": 640, "height": 480}}).json()
    annotator = stack.cast.make("acme", "ann-2", ["annotator"])
    work = stack.client("assignment", annotator)
    assert work.post(f"/projects/{project['id']}/next").json()["task"]["task_id"] == task["id"]
    answer = {"objects": [{"label": "car", "bbox": [60, 80, 200, 150]}]}
    assert work.post(f"/tasks/{task['id']}/submit", json={"answer": answer, "duration_ms": 3000}).status_code == 201
    reviews = stack.client("review", stack.cast.reviewer)
    eventually(lambda: [i for i in reviews.get("/review-items", params={"status": "pending",
                                                                          "project_id": project["id"]}).json()["results"]],
               until=lambda items: len(items) == 1, what="the review item")
    # when the reviewer opens it and moves the box 40 px right and 20 px down in the editor
    reviewer = person("reviewer-2", ("reviewer",))
    reviewer.goto(f"{stack.url}/review")
    reviewer.keyboard.press("n")  # the shortcut claims the next item
    expect(reviewer.get_by_test_id("asset-image")).to_be_visible()
    expect(reviewer.locator("[data-testid=correct][data-ready]")).to_have_count(1)  # the editor is loaded
    reviewer.keyboard.press("c")  # the shortcut opens the editor
    expect(reviewer.get_by_test_id("save-correction")).to_be_visible()
    image = reviewer.get_by_test_id("asset-image").bounding_box()
    scale = image["width"] / 640
    center = (image["x"] + (60 + 100) * scale, image["y"] + (80 + 75) * scale)
    reviewer.mouse.click(*center)
    reviewer.mouse.move(*center)
    reviewer.mouse.down()
    reviewer.mouse.move(center[0] + 40 * scale, center[1] + 20 * scale, steps=8)
    reviewer.mouse.up()
    reviewer.fill("#correction textarea[name=comment]", "the car starts further right")
    shot(reviewer, "correcting")
    reviewer.get_by_test_id("save-correction").click()
    expect(reviewer.locator("h1")).to_have_text("Review queue")
    # then the decision carries the moved box
    [decided] = reviews.get("/review-items", params={"status": "decided", "project_id": project["id"]}).json()["results"]
    assert (decided["verdict"], decided["comment"]) == ("corrected", "the car starts further right")
    [corrected] = decided["corrected_answer"]["objects"]
    x, y, w, h = corrected["bbox"]
    assert corrected["label"] == "car" and (w, h) == (200, 150), corrected
    assert abs(x - 100) <= 3 and abs(y - 100) <= 3, corrected
    # and the annotator sees the outcome on their own page
    metrics = stack.client("metrics", owner)
    eventually(lambda: metrics.get("/annotators", params={"annotator": "ann-2"}).json()["results"],
               until=lambda rows: rows and rows[0]["reviews"]["corrected"] == 1, what="the outcome in metrics")
    me = person("ann-2", ("annotator",))
    me.goto(f"{stack.url}/workforce/ann-2")
    expect(me.get_by_test_id("reviews")).to_have_text("1 (0 / 0 / 1)")
    shot(me, "annotator-sees-outcome")


def test_annotator_receives_a_pushed_task_and_submits_a_box_in_the_workbench(stack, person, shot):
    owner = stack.cast.owner
    project = stack.client("assignment", owner).post("/projects", json={
        "name": "workbench", "overlap": 1, "schema": {"answer_type": "bbox", "labels": [{"name": "car"}, {"name": "bus"}]}
    }).json()
    me = person("ann-3", ("annotator",))
    me.locator("nav").get_by_role("link", name="Work").click()
    me.fill("input[name=project]", project["id"])
    me.get_by_role("button", name="Open").click()
    expect(me.get_by_test_id("work-status")).to_contain_text("waiting")
    # when a task is created, it is pushed to the waiting annotator
    task = stack.client("assignment", owner).post(f"/projects/{project['id']}/tasks", json={
        "url": IMAGE, "metadata": {"width": 640, "height": 480}}).json()
    expect(me.get_by_test_id("work-status")).to_contain_text("your task is here", timeout=15_000)
    expect(me.locator("#workbench[data-ready]")).to_have_count(1)
    # and the annotator draws a box over the dark rectangle and submits it
    me.select_option("#work-label", "bus")
    image = me.get_by_test_id("work-image").bounding_box()
    scale = image["width"] / 640
    me.mouse.move(image["x"] + 100 * scale, image["y"] + 120 * scale)
    me.mouse.down()
    me.mouse.move(image["x"] + 300 * scale, image["y"] + 270 * scale, steps=10)
    me.mouse.up()
    shot(me, "workbench-box")
    me.get_by_test_id("work-submit").click()
    expect(me.locator("#workbench[data-submitted='1']")).to_have_count(1)
    expect(me.get_by_test_id("work-status")).to_contain_text("waiting")
    answers = stack.client("assignment", stack.cast.reviewer).get(f"/tasks/{task['id']}/answers").json()
    [submission] = answers["submissions"]
    [drawn] = submission["answer"]["objects"]
    assert submission["annotator"] == "ann-3" and drawn["label"] == "bus", submission
    assert all(abs(a - b) <= 4 for a, b in zip(drawn["bbox"], [100, 120, 200, 150])), drawn


def test_the_workbench_socket_needs_a_session_of_this_origin_and_the_services_role(stack, person):
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    project = stack.client("assignment", stack.cast.owner).post("/projects", json={
        "name": "ws-access", "schema": {"answer_type": "single_choice", "labels": [{"name": "a"}]}}).json()
    ws = stack.url.replace("http://", "ws://") + f"/ws/work?project={project['id']}"

    def close_code(*, cookie: str | None, origin: str | None, url: str = ws) -> int:
        headers = {"Cookie": cookie} if cookie else {}
        try:
            with connect(url, origin=origin, additional_headers=headers, open_timeout=10) as socket:
                socket.recv(timeout=10)
                socket.recv(timeout=10)
        except InvalidStatus as exc:  # closed before the handshake completed
            return exc.response.status_code
        except WebSocketException:
            return socket.close_code
        return 0

    reviewer = person("reviewer-9", ("reviewer",))
    session = next(c for c in reviewer.context.cookies() if c["name"] == "assay_console_session")
    cookie = f"assay_console_session={session['value']}"
    assert close_code(cookie=None, origin=stack.url) == 403  # no session
    assert close_code(cookie=cookie, origin="http://evil.example") == 403  # another site's page
    assert close_code(cookie=cookie, origin=stack.url, url=ws.replace(project["id"], "nope")) == 403
    assert close_code(cookie=cookie, origin=stack.url) == 4403  # the assignment service refuses the role


def test_workforce_table_sorts_and_filters(stack, person):
    owner = stack.cast.owner
    project = stack.client("assignment", owner).post("/projects", json={
        "name": "speed", "overlap": 2, "schema": {"answer_type": "single_choice", "labels": [{"name": "a"}]}}).json()
    stack.client("assignment", owner).post(f"/projects/{project['id']}/tasks", json={"url": "https://img.example/s.jpg"})
    for name, ms in (("speedy-1", 500), ("slow-1", 9000)):
        work = stack.client("assignment", stack.cast.make("acme", name, ["annotator"]))
        task = work.post(f"/projects/{project['id']}/next").json()["task"]
        assert work.post(f"/tasks/{task['task_id']}/submit", json={"answer": {"label": "a"},
                                                                   "duration_ms": ms}).status_code == 201
    metrics = stack.client("metrics", owner)
    eventually(lambda: metrics.get("/annotators", params={"project_id": project["id"]}).json()["results"],
               until=lambda rows: len(rows) == 2, what="both annotators in metrics")
    manager = person("manager-2", ("admin",))
    manager.goto(f"{stack.url}/workforce?project_id={project['id']}&sort=mean_duration_ms&dir=desc")
    rows = manager.locator("#annotator-rows tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-annotator") for i in range(2)] == ["slow-1", "speedy-1"]
    manager.locator("th a", has_text="time per task").click()  # the header flips the order
    expect(rows.first).to_have_attribute("data-annotator", "speedy-1")
    manager.fill("input[name=q]", "slow")  # htmx filters as one types
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-annotator", "slow-1")
    manager.select_option("select[name=standing]", "suspended")
    expect(rows.first).to_contain_text("No annotator matches")
