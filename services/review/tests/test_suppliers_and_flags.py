"""ISO 2859-1 switching per supplier through the API, double plans, bad inputs, and flagged annotators sampled more."""
import uuid

import pytest

from assay_shared.events.envelope import envelope_build
from tests.events import acme, submitted

from assay_review.core.models import (
    BatchInspection,
    ReviewItem,
    SamplingDecision,
    SamplingPolicy,
    Supplier,
    SupplierSwitch,
)

pytestmark = pytest.mark.django_db
JSON = "application/json"


def lot(deliver, size, batch="b-1"):
    project = str(uuid.uuid4())
    for _ in range(size):
        deliver(submitted(project_id=project, batch_id=batch))
    return project


def inspect(api, actor, project, batch="b-1", **extra):
    return api(actor).post(f"/api/v1/batches/{batch}/inspections", {"project_id": project, "aql": 6.5, **extra},
                           content_type=JSON)


def decide(api, actor, project, verdicts):
    for verdict in verdicts:
        item = api(actor).post("/api/v1/review-items/claim", {"project_id": project}, content_type=JSON).json()
        body = {"verdict": verdict} if verdict != "corrected" else {"verdict": verdict, "corrected_answer": "dog"}
        assert api(actor).post(f"/api/v1/review-items/{item['review_id']}/decision", body, content_type=JSON).status_code == 200


def supplier_lot(deliver, api, cast, verdicts, *, size=3, supplier="vendor-a"):
    project = lot(deliver, size)
    inspection = inspect(api, cast.owner, project, supplier=supplier).json()
    decide(api, cast.reviewer, project, verdicts)
    return inspection


def test_two_rejected_lots_tighten_the_supplier_with_the_lot_named(deliver, api, cast, outbox_events):
    # given supplier vendor-a on normal inspection: a lot of 3 at AQL 6.5 → A, n 2, Ac 0 Re 1
    first = supplier_lot(deliver, api, cast, ["rejected"])
    assert (first["inspection_state"], first["sample_size"], first["acceptance_number"]) == ("normal", 2, 0)
    assert api(cast.owner).get("/api/v1/suppliers/vendor-a").json()["state"] == "normal"
    # when a second of its lots is rejected
    second = supplier_lot(deliver, api, cast, ["accepted", "rejected"])
    # then it is on tightened inspection, and the history names the lot that switched it
    body = api(cast.owner).get("/api/v1/suppliers/vendor-a").json()
    assert (body["state"], body["lots"], body["recent"]) == ("tightened", 2, [])
    [switch] = body["history"]
    assert {k: switch[k] for k in ("from_state", "to_state", "reason", "inspection_id", "batch_id", "actor")} == {
        "from_state": "normal", "to_state": "tightened", "reason": "2 of the last 5 lots on normal inspection not accepted",
        "inspection_id": second["inspection_id"], "batch_id": "b-1", "actor": cast.owner.subject}
    rejected = outbox_events("batch.rejected")
    assert [(e.payload["supplier"], e.payload["inspection_state"], e.payload["supplier_state"]) for e in rejected] == [
        ("vendor-a", "normal", "normal"), ("vendor-a", "normal", "tightened")]
    assert rejected[1].payload["defect_rate_interval"] == {"low": 0.012579, "high": 0.987421, "level": 0.95,
                                                           "method": "clopper-pearson"}
    # and its next lot is inspected with the tightened plan: A at 6.5 points down to B, n 3 (the whole lot)
    third = inspect(api, cast.owner, lot(deliver, 3), supplier="vendor-a").json()
    assert (third["inspection_state"], third["code_letter"], third["sample_size"]) == ("tightened", "B", 3)
    # a lot without a supplier stays on normal inspection and moves nobody
    plain = inspect(api, cast.owner, lot(deliver, 3)).json()
    assert (plain["supplier"], plain["inspection_state"]) == (None, "normal")
    assert [s["supplier"] for s in api(cast.owner).get("/api/v1/suppliers").json()["results"]] == ["vendor-a"]


def test_a_discontinued_supplier_is_refused_until_resumed(deliver, api, cast):
    supplier_lot(deliver, api, cast, ["accepted", "accepted"])
    with acme():
        Supplier.objects.filter(name="vendor-a").update(state="discontinued")
    project = lot(deliver, 3)
    refused = inspect(api, cast.owner, project, supplier="vendor-a")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "supplier_discontinued"
    assert set(refused.json()["error"]["fields"]) == {"supplier"}
    with acme():
        assert not BatchInspection.objects.filter(project_id=project).exists()
    resumed = api(cast.owner).post("/api/v1/suppliers/vendor-a/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == "tightened"
    assert resumed.json()["history"][-1]["actor"] == cast.owner.subject
    again = api(cast.owner).post("/api/v1/suppliers/vendor-a/resume")
    assert again.status_code == 409 and again.json()["error"]["code"] == "supplier_not_discontinued"
    assert inspect(api, cast.owner, project, supplier="vendor-a").json()["inspection_state"] == "tightened"


def test_reduced_approval_and_its_refusals(deliver, api, cast):
    supplier_lot(deliver, api, cast, ["accepted", "accepted"])
    approved = api(cast.owner).put("/api/v1/suppliers/vendor-a/approval", {"reduced_approved": True}, content_type=JSON)
    # one accepted lot: score 2, far from 30 and 10 lots, so it stays on normal, approved
    assert approved.status_code == 200
    assert (approved.json()["state"], approved.json()["reduced_approved"], approved.json()["switching_score"]) == (
        "normal", True, 2)
    with acme():
        Supplier.objects.filter(name="vendor-a").update(switching_score=30, consecutive_accepted=10, reduced_approved=False)
    switched = api(cast.owner).put("/api/v1/suppliers/vendor-a/approval", {"reduced_approved": True}, content_type=JSON)
    assert switched.json()["state"] == "reduced"
    assert switched.json()["history"][-1]["reason"] == (
        "switching score 30, 10 consecutive lots accepted, reduced inspection approved")
    # a reduced plan: a lot of 100 (F) at 6.5 takes D's plan, n 8
    reduced = inspect(api, cast.owner, lot(deliver, 100), supplier="vendor-a").json()
    assert (reduced["inspection_state"], reduced["code_letter"], reduced["sample_size"]) == ("reduced", "D", 8)
    for path, body, code, field in [
        ("/api/v1/suppliers/nobody/approval", {"reduced_approved": True}, 404, None),
        ("/api/v1/suppliers/vendor-a/approval", {"reduced_approved": "maybe"}, 400, "reduced_approved"),
        ("/api/v1/suppliers/-bad/approval", {"reduced_approved": True}, 400, "supplier"),
    ]:
        response = api(cast.owner).put(path, body, content_type=JSON)
        assert response.status_code == code
        if field:
            assert set(response.json()["error"]["fields"]) == {field}
    assert api(cast.owner).get("/api/v1/suppliers/nobody").status_code == 404
    assert api(cast.reviewer).get("/api/v1/suppliers/vendor-a").status_code == 403
    assert api(cast.owner).get("/api/v1/suppliers/vendor-a").json()["state"] == "reduced"


@pytest.mark.parametrize("body,field", [
    ({"inspection_level": "IV"}, "inspection_level"),
    ({"aql": 3.0}, "aql"),
    ({"supplier": "no spaces allowed"}, "supplier"),
    ({"supplier": "x" * 65}, "supplier"),
    ({"plan_type": "triple"}, "plan_type"),
])
def test_bad_inspection_requests_are_refused_naming_the_field_and_change_nothing(deliver, api, cast, outbox_events, body, field):
    project = lot(deliver, 3)
    response = api(cast.owner).post("/api/v1/batches/b-1/inspections", {"project_id": project, "aql": 6.5, **body},
                                    content_type=JSON)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {field}
    with acme():
        assert (BatchInspection.objects.count(), Supplier.objects.count(), ReviewItem.objects.count()) == (0, 0, 0)
    assert outbox_events("review.requested") == []


def test_double_plan_opens_its_second_sample_only_when_undecided(deliver, api, cast, outbox_events):
    # a lot of 16 at AQL 10 (C): single n 5, Ac 1 → double 3 + 3 (Table III-A), Ac1 0 Re1 2, Ac2 1 Re2 2
    project = lot(deliver, 16)
    response = api(cast.owner).post("/api/v1/batches/b-1/inspections",
                                    {"project_id": project, "aql": 10.0, "plan_type": "double"}, content_type=JSON)
    body = response.json()
    assert {k: body[k] for k in ("plan_type", "sample_size", "acceptance_number", "rejection_number",
                                 "second_sample_size", "second_acceptance_number", "second_rejection_number")} == {
        "plan_type": "double", "sample_size": 3, "acceptance_number": 0, "rejection_number": 2,
        "second_sample_size": 3, "second_acceptance_number": 1, "second_rejection_number": 2}
    assert len(outbox_events("review.requested")) == 3
    # 1 defect in the first sample: neither ≤ Ac1 nor ≥ Re1, so the second sample is queued
    decide(api, cast.reviewer, project, ["rejected", "accepted", "accepted"])
    assert len(outbox_events("review.requested")) == 6
    detail = api(cast.reviewer).get(f"/api/v1/inspections/{body['inspection_id']}").json()
    assert (detail["status"], detail["second_opened"], len(detail["sample"])) == ("open", True, 6)
    # three clean items: cumulative 1 ≤ Ac2, accepted
    decide(api, cast.reviewer, project, ["accepted", "accepted", "accepted"])
    [accepted] = outbox_events("batch.accepted")
    assert {k: accepted.payload[k] for k in ("plan_type", "reviewed", "defects", "second_sample_opened", "defect_rate")} == {
        "plan_type": "double", "reviewed": 6, "defects": 1, "second_sample_opened": True, "defect_rate": round(1 / 6, 6)}
    # the OC for the chart is the exact binomial of the double plan: P(accept) at p = AQL 10%
    oc = {point["p"]: point["acceptance_probability"] for point in detail["oc_curve"]}
    assert oc[0.1] == round(0.9 ** 3 + 3 * 0.1 * 0.9 ** 2 * 0.9 ** 3, 6) and oc[0.0] == 1.0


def standing(type_, *, annotator, project_id, tenant="acme"):
    return envelope_build(type=type_, tenant=tenant, producer="metrics", payload={
        "annotator": annotator, "project_id": project_id, "rule": "fast_answers" if type_ == "annotator.flagged" else "manual",
        "reason": "median time below threshold"})


def test_a_flagged_annotator_is_sampled_at_the_flagged_rate_until_reinstated(deliver, api, cast):
    project = str(uuid.uuid4())
    assert api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 0.0, "flagged_rate": 1.0},
                               content_type=JSON).status_code == 201
    before = submitted(project_id=project)
    deliver(before)
    deliver(standing("annotator.flagged", annotator="teammate", project_id=project))
    deliver(standing("annotator.flagged", annotator="teammate", project_id=project))  # redelivered
    flagged, other = submitted(project_id=project), submitted(project_id=project, annotator="annotator2")
    deliver(flagged)
    deliver(other)
    deliver(standing("annotator.reinstated", annotator="teammate", project_id=project))
    after = submitted(project_id=project)
    deliver(after)
    # a flag without a project raises the rate in every project
    deliver(standing("annotator.flagged", annotator="annotator2", project_id=None))
    everywhere = submitted(project_id=project, annotator="annotator2")
    deliver(everywhere)
    with acme():
        got = [SamplingDecision.objects.get(submission_id=e.payload["submission_id"])
               for e in (before, flagged, other, after, everywhere)]
    assert [(d.sampled, d.rule, d.rate) for d in got] == [
        (False, "base_rate", 0.0), (True, "flagged_annotator", 1.0), (False, "base_rate", 0.0), (False, "base_rate", 0.0),
        (True, "flagged_annotator", 1.0)]


def test_flagged_rate_is_validated_and_a_refusal_changes_nothing(api, cast):
    project = str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 0.1, "flagged_rate": 0.5},
                        content_type=JSON)
    for bad in (1.5, -0.1, "often"):
        response = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy",
                                       {"base_rate": 0.2, "flagged_rate": bad}, content_type=JSON)
        assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"flagged_rate"}
    with acme():
        assert SamplingPolicy.objects.values_list("base_rate", "flagged_rate").get() == (0.1, 0.5)
    assert api(cast.owner).get(f"/api/v1/projects/{project}/sampling-policy").json()["flagged_rate"] == 0.5
    with acme():
        assert SupplierSwitch.objects.count() == 0


def test_the_projects_acceptance_setting_chooses_the_double_plan_unless_the_request_says(deliver, api, cast):
    project = lot(deliver, 16)
    refused = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy",
                                  {"base_rate": 0.0, "acceptance_plan_type": "triple"}, content_type=JSON)
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"acceptance_plan_type"}
    with acme():
        assert not SamplingPolicy.objects.exists()
    saved = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy",
                                {"base_rate": 0.0, "acceptance_plan_type": "double"}, content_type=JSON)
    assert saved.json()["acceptance_plan_type"] == "double"
    by_setting = api(cast.owner).post("/api/v1/batches/b-1/inspections", {"project_id": project, "aql": 10.0},
                                      content_type=JSON).json()
    assert (by_setting["plan_type"], by_setting["sample_size"]) == ("double", 3)
    with acme():
        BatchInspection.objects.filter(id=by_setting["inspection_id"]).update(status="rejected")
    asked = api(cast.owner).post("/api/v1/batches/b-1/inspections",
                                 {"project_id": project, "aql": 10.0, "plan_type": "single"}, content_type=JSON).json()
    assert (asked["plan_type"], asked["sample_size"]) == ("single", 5)
