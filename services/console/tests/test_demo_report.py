"""The demo's self-contained `demo-report.html`, written from the real services' APIs and opened in the browser."""
from __future__ import annotations

import json

import pytest

from assay_shared.auth.tokens import token_mint
from assay_shared.demo.html_report import report_html_write
from assay_shared.demo.scenario import TENANT, Story
from assay_shared.testing import env as test_env
from tests.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_report_html_draws_its_four_charts_offline(stack, browser, tmp_path):
    lead = stack.cast.make(TENANT, "qa-lead", ["admin", "qa_lead"])
    assignment = stack.client("assignment", lead)
    project = assignment.post("/projects", json={"name": "pets", "overlap": 1, "schema": {
        "answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}}).json()
    assert stack.client("review", lead).put(f"/projects/{project['id']}/sampling-policy", json={
        "base_rate": 0.5, "class_rates": {"cat": 1.0}}).status_code in (200, 201)
    body = "\n".join(json.dumps({"external_id": f"p{i}", "url": f"https://img.example/{i}.jpg"}) for i in range(4))
    batch = assignment.post(f"/projects/{project['id']}/batches", content=body,
                            headers={"Content-Type": "application/x-ndjson"}).json()
    work = stack.client("assignment", stack.cast.make(TENANT, "ann-01", ["annotator"]))
    for label in ("cat", "dog", "cat", "dog"):
        task = work.post(f"/projects/{project['id']}/next").json()["task"]
        assert work.post(f"/tasks/{task['task_id']}/submit", json={"answer": {"label": label},
                                                                   "duration_ms": 900}).status_code == 201
    review = stack.client("review", lead)
    eventually(lambda: review.get("/sampling-rates", params={"project_id": project["id"]}).json()["decisions"],
               until=lambda n: n == 4, what="the sampling decisions")
    inspection = review.post(f"/batches/{batch['batch']['id']}/inspections",
                             json={"project_id": project["id"], "aql": 4.0}).json()
    story = Story(urls={s: p.url for s, p in stack.procs.items()}, tasks=4, annotators=1,
                  token=lambda **kw: token_mint(private_pem=test_env.SESSION_KEYS.private_pem,
                                                kid=test_env.SESSION_KEYS.kid, **kw))
    story.facts.update(project_id=project["id"], inspection=inspection)
    # when the report is written
    path = report_html_write(story=story, path=tmp_path / "demo-report.html")
    # then it needs no network (Chart.js inline) and draws four charts with the services' figures
    text = path.read_text()
    assert "<script src=" not in text and "https://" not in text.split("<script>")[0]
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    drawn = page.evaluate("() => ['accuracy', 'confidence', 'rates', 'oc'].map(id => "
                          "Chart.getChart(document.getElementById(id)).data.datasets[0].data)")
    assert errors == []
    accuracy, confidence, rates, oc = drawn
    observed = review.get("/sampling-rates", params={"project_id": project["id"]}).json()["per_class"]
    assert rates == [round(r["effective_rate"], 3) for r in observed] and rates[0] == 1.0  # every cat sampled
    assert sum(confidence) == 4 and oc[0] == 1.0 and len(oc) == 41 and accuracy == []  # no gold in this project
    context.close()
