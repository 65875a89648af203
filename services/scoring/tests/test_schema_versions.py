"""Schema versions frozen in scoring (ADR 0069): an answer is judged against the version it was given under, and
a label mapping moves gold and consensus from one version to another on request, recorded."""
import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, project_configured, submitted

from assay_scoring.core.models import ConsensusResult, GoldAnswer, SchemaMigration, SchemaVersion, Submission
from assay_scoring.core.services.gold import gold_answer_set

pytestmark = pytest.mark.django_db

V1 = ["cat", "dog", "bird"]
V2 = ["feline", "dog", "sparrow", "crow"]
MAPPING = {"cat": "feline", "bird": {"one_of": ["sparrow", "crow"], "default": "sparrow"}}


def answered(*, project, task, annotator, label, version, overlap=2):
    event = submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label},
                      overlap=overlap)
    if version is not None:
        event.payload["schema_version"] = version
    return event


def configured(deliver, project, *, version, labels, answer_type="single_choice"):
    event = project_configured(project_id=project, answer_type=answer_type, labels=labels, overlap=2,
                               settings={"schema_version": version})
    assert deliver(event).outcome is Outcome.APPLIED


def two_versions(deliver):
    """A project configured with version 1 then edited to version 2 (cat renamed, bird split)."""
    project = new_id()
    configured(deliver, project, version=1, labels=V1)
    configured(deliver, project, version=2, labels=V2)
    return project


def gold_of(project, task, version):
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=task, answer={"label": "bird"}, reason="expert",
                        actor="owner", schema_version=version)


def state():
    with tenant_atomic(tenant="acme"):
        return {
            "gold": sorted((str(g.task_id), g.version, g.answer["label"] if g.answer else None, g.schema_version)
                           for g in GoldAnswer.objects.all()),
            "consensus": sorted((str(c.task_id), c.answer["label"], c.schema_version, c.revision)
                                for c in ConsensusResult.objects.all()),
            "migrations": list(SchemaMigration.objects.values_list("from_version", "to_version", "runs")),
        }


def url(project):
    return f"/api/v1/projects/{project}/schema-migrations"


def test_every_version_is_kept(deliver):
    project = two_versions(deliver)
    with tenant_atomic(tenant="acme"):
        rows = list(SchemaVersion.objects.filter(project_id=project).order_by("version")
                    .values_list("version", "answer_type", "labels"))
    assert rows == [(1, "single_choice", V1), (2, "single_choice", V2)]


def test_old_answers_after_a_schema_edit_are_gold_scored_and_reach_consensus(deliver, outbox_events):
    # given a project edited from version 1 to 2 (which has no "bird"), a gold task of version 1
    project, gold_task, task = None, new_id(), new_id()
    project = two_versions(deliver)
    gold_of(project, gold_task, 1)
    # when answers given under version 1 keep arriving
    results = [deliver(e) for e in (
        answered(project=project, task=gold_task, annotator="a1", label="bird", version=1),
        answered(project=project, task=task, annotator="a1", label="bird", version=1),
        answered(project=project, task=task, annotator="a2", label="bird", version=1),
    )]
    # then each is applied, gold-scored against the gold of version 1 and aggregated on version 1's labels
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 3
    [scored] = outbox_events("gold.scored")
    assert (scored.payload["task_id"], scored.payload["score"], scored.payload["passed"]) == (gold_task, 1.0, True)
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["task_id"], reached.payload["answer"]) == (task, {"label": "bird"})
    assert state()["consensus"] == [(task, "bird", 1, 1)]
    with tenant_atomic(tenant="acme"):
        assert sorted(Submission.objects.values_list("schema_version", flat=True)) == [1, 1, 1]


def test_an_answer_still_must_fit_its_own_version(deliver):
    project, task = two_versions(deliver), new_id()
    # a version-2 answer with a label version 2 removed is refused, naming the label
    result = deliver(answered(project=project, task=task, annotator="a1", label="bird", version=2))
    assert result.outcome is Outcome.DEAD and "bird" in result.reason
    # an answer naming no version is judged on the current labels, as before versions were carried
    assert deliver(answered(project=project, task=task, annotator="a1", label="cat", version=None)).outcome \
        is Outcome.DEAD
    with tenant_atomic(tenant="acme"):
        assert Submission.objects.count() == 0


def test_a_version_not_received_yet_is_judged_like_a_project_not_heard_of(deliver):
    # given project.configured of version 3 has not arrived yet
    project, task = two_versions(deliver), new_id()
    # when an answer given under version 3 arrives, with a label neither known version has
    results = [deliver(answered(project=project, task=task, annotator=who, label="zebra", version=3))
               for who in ("a1", "a2")]
    # then it is applied (labels unchecked, as for a project scoring has not heard of), never dead-lettered
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 2
    assert state()["consensus"] == [(task, "zebra", 3, 1)]


def test_a_mapping_moves_gold_and_consensus_and_is_recorded(deliver, outbox_events, api, cast):
    # given version-1 gold and a version-1 consensus after the edit to version 2
    project, gold_task, task = two_versions(deliver), new_id(), new_id()
    gold_of(project, gold_task, 1)
    for who in ("a1", "a2"):
        deliver(answered(project=project, task=task, annotator=who, label="cat", version=1))
    # when the lead applies the mapping 1 → 2
    response = api(cast.owner).post(url(project), {"from_version": 1, "to_version": 2, "mapping": MAPPING},
                                    content_type="application/json")
    # then gold has a new version in version 2's labels, the consensus is mapped in place, both recorded
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("from_version", "to_version", "mapping", "resolved", "requested_by", "runs",
                                 "gold_migrated", "consensus_migrated")} == {
        "from_version": 1, "to_version": 2, "mapping": MAPPING, "resolved": {"cat": "feline", "bird": "sparrow"},
        "requested_by": "owner", "runs": 1, "gold_migrated": 1, "consensus_migrated": 1}
    assert state() == {"gold": [(gold_task, 1, "bird", 1), (gold_task, 2, "sparrow", 2)],
                       "consensus": [(task, "feline", 2, 1)], "migrations": [(1, 2, 1)]}
    with tenant_atomic(tenant="acme"):
        row = ConsensusResult.objects.get(task_id=task)
    assert row.details["schema_migration"] == {"from_version": 1, "to_version": 2, "answer": {"label": "cat"}}
    shown = api(cast.owner).get(f"/api/v1/consensus/{task}").json()
    assert (shown["answer"], shown["schema_version"]) == ({"label": "feline"}, 2)
    [announced] = outbox_events("schema.migrated")
    assert {k: announced.payload[k] for k in ("project_id", "from_version", "to_version", "mapping", "requested_by",
                                              "run")} == {
        "project_id": project, "from_version": 1, "to_version": 2, "mapping": {"cat": "feline", "bird": "sparrow"},
        "requested_by": "owner", "run": 1}
    assert outbox_events("consensus.reached")[-1].payload["answer"] == {"label": "cat"}  # no consensus re-announced
    # and it is listed
    listed = api(cast.owner).get(url(project)).json()["results"]
    assert [(m["from_version"], m["to_version"], m["requested_by"]) for m in listed] == [(1, 2, "owner")]
    # and a late version-1 answer to the gold task is moved by the mapping before it is scored against the new gold
    deliver(answered(project=project, task=gold_task, annotator="a3", label="bird", version=1))
    scored = outbox_events("gold.scored")[-1].payload
    assert (scored["annotator"], scored["passed"], scored["gold_version"]) == ("a3", True, 2)


def test_running_a_migration_again_moves_only_what_arrived_since(deliver, api, cast):
    project, first, late = two_versions(deliver), new_id(), new_id()
    for who in ("a1", "a2"):
        deliver(answered(project=project, task=first, annotator=who, label="cat", version=1))
    body = {"from_version": 1, "to_version": 2, "mapping": MAPPING}
    assert api(cast.owner).post(url(project), body, content_type="application/json").status_code == 201
    # a version-1 task completed after the migration keeps version 1's labels...
    for who in ("a1", "a2"):
        deliver(answered(project=project, task=late, annotator=who, label="bird", version=1))
    assert state()["consensus"] == sorted([(first, "feline", 2, 1), (late, "bird", 1, 1)])
    # ...until the same migration is run again: only it moves, and the run is counted
    again = api(cast.owner).post(url(project), body, content_type="application/json")
    assert (again.status_code, again.json()["runs"], again.json()["consensus_migrated"]) == (200, 2, 1)
    assert state()["consensus"] == sorted([(first, "feline", 2, 1), (late, "sparrow", 2, 1)])
    # a third run changes nothing
    third = api(cast.owner).post(url(project), body, content_type="application/json")
    assert (third.status_code, third.json()["runs"], third.json()["consensus_migrated"]) == (200, 3, 0)
    assert state()["consensus"] == sorted([(first, "feline", 2, 1), (late, "sparrow", 2, 1)])


BAD = [
    ({"from_version": 1, "to_version": 2, "mapping": {**MAPPING, "fish": "dog"}}, "mapping.fish"),
    ({"from_version": 1, "to_version": 2, "mapping": {**MAPPING, "cat": "lion"}}, "mapping.cat"),
    ({"from_version": 1, "to_version": 2, "mapping": {"cat": "feline", "bird": {"one_of": ["sparrow", "crow"]}}},
     "mapping.bird.default"),
    ({"from_version": 1, "to_version": 2, "mapping": {"cat": "feline",
                                                      "bird": {"one_of": ["sparrow", "crow"], "default": "dog"}}},
     "mapping.bird.default"),
    ({"from_version": 1, "to_version": 2, "mapping": {"cat": "feline", "bird": {"one_of": ["sparrow"],
                                                                                "default": "sparrow"}}},
     "mapping.bird.one_of"),
    ({"from_version": 1, "to_version": 2, "mapping": {"cat": "feline"}}, "mapping.bird"),
    ({"from_version": 1, "to_version": 2, "mapping": {"cat": 3, "bird": "crow"}}, "mapping.cat"),
    ({"from_version": 1, "to_version": 2, "mapping": ["cat"]}, "mapping"),
    ({"from_version": 2, "to_version": 2, "mapping": {}}, "to_version"),
    ({"from_version": 1, "to_version": 7, "mapping": MAPPING}, "to_version"),
    ({"from_version": 0, "to_version": 2, "mapping": MAPPING}, "from_version"),
    ({"to_version": 2, "mapping": MAPPING}, "from_version"),
    ({"from_version": 1, "to_version": 2, "mapping": MAPPING, "dry_run": True}, "dry_run"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_a_bad_mapping_is_refused_naming_the_field_and_changes_nothing(deliver, outbox_events, api, cast, body,
                                                                         field):
    project, gold_task, task = two_versions(deliver), new_id(), new_id()
    gold_of(project, gold_task, 1)
    for who in ("a1", "a2"):
        deliver(answered(project=project, task=task, annotator=who, label="cat", version=1))
    before = state()
    response = api(cast.owner).post(url(project), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert state() == before and outbox_events("schema.migrated") == []


def test_answer_types_that_differ_cannot_be_mapped(deliver, api, cast):
    project = new_id()
    configured(deliver, project, version=1, labels=["cat"])
    configured(deliver, project, version=2, labels=["cat"], answer_type="multi_choice")
    response = api(cast.owner).post(url(project), {"from_version": 1, "to_version": 2, "mapping": {}},
                                    content_type="application/json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["to_version"])


def test_another_mapping_between_the_same_versions_is_a_conflict(deliver, api, cast):
    project, task = two_versions(deliver), new_id()
    for who in ("a1", "a2"):
        deliver(answered(project=project, task=task, annotator=who, label="bird", version=1))
    body = {"from_version": 1, "to_version": 2, "mapping": MAPPING}
    assert api(cast.owner).post(url(project), body, content_type="application/json").status_code == 201
    before = state()
    other = {**body, "mapping": {"cat": "feline", "bird": "crow"}}
    response = api(cast.owner).post(url(project), other, content_type="application/json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (409, ["mapping"])
    assert state() == before


@pytest.mark.parametrize("who", ["teammate", "expert", "reviewer"])
def test_only_leads_migrate(deliver, api, cast, who):
    project = two_versions(deliver)
    body = {"from_version": 1, "to_version": 2, "mapping": MAPPING}
    assert api(getattr(cast, who)).post(url(project), body, content_type="application/json").status_code == 403
    assert api(getattr(cast, who)).get(url(project)).status_code == 403
    assert state()["migrations"] == []


def test_another_tenants_project_is_not_found(deliver, api, cast):
    project = two_versions(deliver)
    body = {"from_version": 1, "to_version": 2, "mapping": MAPPING}
    response = api(cast.outsider).post(url(project), body, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert api(cast.outsider).get(url(project)).json() == {"results": []}
    assert state()["migrations"] == []
