"""Row-level security underneath the ORM, and the API's answers to bad credentials."""
import uuid

import pytest
from django.db import connection
from django.db.utils import ProgrammingError

from assay_shared.db.tenancy import require_tenant, tenant_atomic, tenant_scope

from assay_bustest.models import Received

pytestmark = pytest.mark.django_db


def add(tenant: str, annotator: str) -> None:
    with tenant_atomic(tenant=tenant):
        Received.objects.create(tenant_id=tenant, submission_id=uuid.uuid4(), annotator=annotator)


def test_app_role_owns_nothing_and_is_subject_to_rls():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == ("assay_app", False, False)
        cursor.execute("SELECT relforcerowsecurity, pg_get_userbyid(relowner) <> current_user FROM pg_class "
                       "WHERE relname = 'bustest_received'")
        assert cursor.fetchone() == (True, True)


def test_forgotten_tenant_scope_sees_nothing():
    add("acme", "a")
    add("globex", "g")
    assert list(Received.objects.values_list("annotator", flat=True)) == []
    with tenant_atomic(tenant="acme"):
        assert list(Received.objects.values_list("annotator", flat=True)) == ["a"]


def test_tenant_scope_names_the_tenant_without_admitting_its_rows():
    add("acme", "a")
    with tenant_scope(tenant="acme"):
        assert require_tenant() == "acme"
        # only a statement that sets app.tenant_id itself, or a tenant transaction, sees the tenant's rows
        assert list(Received.objects.values_list("annotator", flat=True)) == []
        with tenant_atomic(tenant="acme"):
            assert list(Received.objects.values_list("annotator", flat=True)) == ["a"]
        assert list(Received.objects.values_list("annotator", flat=True)) == []
        with pytest.raises(RuntimeError, match="inside a scope of tenant 'acme'"):
            with tenant_scope(tenant="globex"):
                pass
        with pytest.raises(RuntimeError, match="inside a transaction of tenant 'acme'"):
            with tenant_atomic(tenant="globex"):
                pass
    with pytest.raises(RuntimeError, match="no tenant in scope"):
        require_tenant()
    with pytest.raises(ValueError, match="invalid tenant id"):
        with tenant_scope(tenant="Not A Tenant"):
            pass


def test_writing_another_tenants_row_is_refused():
    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_atomic(tenant="acme"):
            Received.objects.create(tenant_id="globex", submission_id=uuid.uuid4(), annotator="sneaky")


def test_nested_scope_of_another_tenant_is_refused():
    with pytest.raises(RuntimeError, match="inside a transaction of tenant 'acme'"):
        with tenant_atomic(tenant="acme"):
            with tenant_atomic(tenant="globex"):
                pass


def tampered(cast) -> str:
    """The owner's token with the outsider's claims spliced in: the signature no longer matches."""
    header, _, signature = cast.owner.token.split(".")
    return ".".join([header, cast.outsider.token.split(".")[1], signature])


def test_api_bad_credentials(api, cast, client, jwt_keys):
    expired = cast.make("acme", "owner", ["admin"], ttl_seconds=-60)
    for headers, status, code in [
        ({}, 401, "not_authenticated"),
        (expired.django_headers, 401, "token_expired"),
        ({"HTTP_AUTHORIZATION": "Bearer " + tampered(cast)}, 401, "token_invalid_signature"),
        (cast.teammate.django_headers, 403, "forbidden"),
    ]:
        response = client.post("/emit", data={"annotator": "x"}, content_type="application/json", **headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    from assay_shared.bus.models import OutboxEvent
    assert OutboxEvent.objects.count() == 0


def test_request_refused_after_a_write_changes_nothing(api, cast):
    # given a request whose view writes an event and then refuses
    body = {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": "x", "answer": {}, "submitted_at": "2026-01-01T00:00:00+00:00", "refuse_after_write": "yes"}
    response = api(cast.owner).post("/emit", data=body, content_type="application/json")
    # then the error names the field and the write is rolled back with the request
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_request", "message": "refused after the write",
                                         "fields": {"refuse_after_write": ["yes"]}}}
    from assay_shared.bus.models import OutboxEvent
    assert OutboxEvent.objects.count() == 0
    del body["refuse_after_write"]
    assert api(cast.owner).post("/emit", data=body, content_type="application/json").status_code == 201
    assert OutboxEvent.objects.count() == 1


def test_invalid_event_is_a_server_error_and_changes_nothing(api, cast):
    # the event is written to the outbox, then its schema refuses it: the request's transaction rolls back
    from django.test import Client

    client = Client(raise_request_exception=False, **cast.owner.django_headers)
    response = client.post("/emit", data={"annotator": "x"}, content_type="application/json")
    assert response.status_code == 500
    from assay_shared.bus.models import OutboxEvent
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_relay_notified_once_per_transaction_and_again_after_a_rollback(settings):
    settings.ASSAY_OUTBOX_NOTIFY = True
    from django.test.utils import CaptureQueriesContext

    from assay_shared.bus.publish import event_emit

    body = {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": "x", "answer": {}, "submitted_at": "2026-01-01T00:00:00+00:00"}
    notifies = lambda ctx: sum("NOTIFY" in q["sql"] for q in ctx.captured_queries)  # noqa: E731
    with CaptureQueriesContext(connection) as ctx, tenant_atomic(tenant="acme"):
        event_emit(type="annotation.submitted", tenant="acme", payload=body)
        event_emit(type="annotation.submitted", tenant="acme", payload=body)
    assert notifies(ctx) == 1
    with pytest.raises(RuntimeError), tenant_atomic(tenant="acme"):
        event_emit(type="annotation.submitted", tenant="acme", payload=body)
        raise RuntimeError("rolled back")
    with CaptureQueriesContext(connection) as ctx, tenant_atomic(tenant="acme"):
        event_emit(type="annotation.submitted", tenant="acme", payload=body)
    assert notifies(ctx) == 1


@pytest.mark.django_db(transaction=True)
def test_no_notify_by_default(settings):
    from django.test.utils import CaptureQueriesContext

    from assay_shared.bus.publish import event_emit

    assert settings.ASSAY_OUTBOX_NOTIFY is False
    body = {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": "x", "answer": {}, "submitted_at": "2026-01-01T00:00:00+00:00"}
    with CaptureQueriesContext(connection) as ctx, tenant_atomic(tenant="acme"):
        event_emit(type="annotation.submitted", tenant="acme", payload=body)
    assert [q["sql"] for q in ctx.captured_queries if "NOTIFY" in q["sql"]] == []
