"""How the hot path's statements run on a realistic queue: a claim walks the queue's index to the first task the
annotator may take, whatever role runs it (a superuser or the database owner bypasses row-level security, so the
policy's tenant predicate is not there to lead the index)."""
import psycopg
import pytest
from django.db import connection

from tests.conftest import rows

from assay_assignment.core.models import NO_BATCH, TENANT_WIDE

pytestmark = pytest.mark.django_db(transaction=True)

EXPLAIN_ALL = ("LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;"
               " SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice;"
               " SET client_min_messages = notice")


def plans_as_superuser(query, params):
    """Each statement the call ran, with its executed plan (auto_explain, nested statements included), run as the
    superuser `postgres` on the test database; rolled back."""
    settings = connection.settings_dict
    notices: list[str] = []
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user="postgres",
                         dbname=settings["NAME"]) as superuser:
        superuser.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        superuser.execute(EXPLAIN_ALL)
        superuser.execute(query, params)
        superuser.rollback()
    return notices


def test_a_claim_walks_the_queue_index_instead_of_sorting_every_available_task(make_project, import_tasks, work,
                                                                                cast):
    # given a queue of 600 tasks, the first 40 already answered by this annotator, and planner statistics
    project = make_project(overlap=3)
    import_tasks(project["id"], rows(600))
    annotator = cast.teammate
    for _ in range(40):
        task = work(annotator).next_task(project["id"])
        assert work(annotator).submit(task["task_id"]).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE assignment_task; ANALYZE assignment_assignment")
    # when the annotator asks for the next task, as a role that bypasses row-level security
    notices = plans_as_superuser("SELECT o_outcome FROM assignment_next(%s, %s, %s, 0::smallint, %s, %s, true)",
                                 [annotator.tenant, annotator.principal.subject, project["id"], str(TENANT_WIDE),
                                  str(NO_BATCH)])
    # then the claim reads the available tasks in queue order and stops at the first it may take
    [claim] = [n for n in notices if "SET free_slots = t.free_slots - 1" in n]
    assert "Index Scan using assignment_task_available" in claim, claim
    assert "Sort" not in claim and "Bitmap" not in claim, claim
