"""Helpers for the assignment tests: projects, tasks and annotator calls through the real API."""
from __future__ import annotations

import json

import pytest

CLASSES = {"answer_type": "single_choice", "labels": [
    {"name": "cat", "attributes": [{"name": "occluded", "type": "boolean"}]},
    {"name": "dog"},
]}


@pytest.fixture
def server(django_db_setup):
    """The service as a real uvicorn process on the test database (hot endpoints, WebSocket and all)."""
    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import ServiceProcess

    process = ServiceProcess(service="assignment",
                             env=test_env.service_env(service="assignment", database=test_env.test_database("assignment")))
    process.start(worker=False, timeout=60)
    yield process
    process.stop()


@pytest.fixture
def make_project(api, cast):
    def make(actor=None, **settings):
        body = {"name": "pets", "schema": settings.pop("schema", CLASSES), **settings}
        response = api(actor or cast.owner).post("/api/v1/projects", body, content_type="application/json")
        assert response.status_code == 201, response.json()
        return response.json()
    return make


@pytest.fixture
def import_tasks(api, cast):
    def run(project_id, rows, *, actor=None, on_error="reject", status=201):
        body = "\n".join(json.dumps(r) for r in rows).encode()
        response = api(actor or cast.owner).post(f"/api/v1/projects/{project_id}/batches?on_error={on_error}", body,
                                                 content_type="application/x-ndjson")
        assert response.status_code == status, response.json()
        return response.json()
    return run


def rows(n, *, start=0, prefix="t", **extra):
    return [{"external_id": f"{prefix}{i}", "url": f"https://img.example/{prefix}{i}.jpg", **extra}
            for i in range(start, start + n)]


@pytest.fixture
def work(api):
    """Annotator calls: work(actor).next(project) / .submit(task, answer) / ..."""
    class Work:
        def __init__(self, actor):
            self.client = api(actor)

        def next(self, project_id):
            return self.client.post(f"/api/v1/projects/{project_id}/next")

        def next_task(self, project_id):
            response = self.next(project_id)
            assert response.status_code == 200, response.json()
            return response.json()["task"]

        def submit(self, task_id, answer=None, *, duration_ms=1200, submission_id=None):
            body = {"answer": answer if answer is not None else {"label": "cat"}, "duration_ms": duration_ms}
            if submission_id:
                body["submission_id"] = str(submission_id)
            return self.client.post(f"/api/v1/tasks/{task_id}/submit", body, content_type="application/json")

        def call(self, task_id, action):
            return self.client.post(f"/api/v1/tasks/{task_id}/{action}")

    return Work


def table_counts():
    from django.db import connection

    from assay_shared.db.tenancy import tenant_atomic

    with tenant_atomic(tenant="acme"), connection.cursor() as cursor:
        out = {}
        for table in ("assignment_task", "assignment_assignment", "assignment_submission", "assignment_skip",
                      "assignment_batch", "assignment_project", "assignment_label_schema"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bus_outbox")
        out["bus_outbox"] = cursor.fetchone()[0]
        return out


def sql(query, params=(), *, tenant="acme"):
    from django.db import connection

    from assay_shared.db.tenancy import tenant_atomic

    with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else None
