"""The work queue: claim the next task, heartbeat, release, skip, expire, add slots.

Regular tasks carry `free_slots` (answers wanted that nobody holds); a claim takes one with a single
UPDATE over the partial index of available work, skipping rows other claims hold (SKIP LOCKED), and
records the lease in assignment_assignment, whose unique (task, annotator) forbids double assignment.
Gold tasks have no slot limit: each annotator may answer each gold task once.
An expired lease stays its holder's until the sweeper returns it or another claim takes it over.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from django.db import connection

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ConflictError, ForbiddenError, NotFoundError

from assay_assignment.core.models import NO_BATCH, TENANT_WIDE, Progress
from assay_assignment.core.push import work_available_push
from assay_assignment.core.services.progress import progress_add

# Evaluated in the claim statement itself: it starts after the annotator's status row lock was granted, so it
# sees every lease a concurrent request of the same annotator committed meanwhile.
ROOM = """
  AND (SELECT count(*) FROM assignment_assignment r WHERE r.annotator = %(a)s AND r.project_id = %(p)s
       AND r.state = 'leased' AND r.expires_at > now()) < %(cap)s"""

NOT_MINE = """
  AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = t.id AND y.annotator = %(a)s)
  AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = t.id AND s.annotator = %(a)s)"""

STATE_SQL = """
WITH me AS (
  INSERT INTO assignment_annotator_status (tenant_id, annotator, project_id, suspended, qualified, skills, served,
                                           gold_pending, gold_pending_score, gold_scored, gold_score_sum,
                                           gold_reported, updated_at)
  SELECT %(t)s, %(a)s, p.id, false, false, '{}', 1, 0, 0, 0, 0, 0, now() FROM assignment_project p WHERE p.id = %(p)s
  ON CONFLICT (tenant_id, annotator, project_id) DO UPDATE SET served = assignment_annotator_status.served + 1
  RETURNING served, suspended, qualified, skills,
            (gold_day < (now() AT TIME ZONE 'UTC')::date AND gold_pending > 0) OR gold_scored > gold_reported AS news)
SELECT p.gold_rate, p.exam_size, p.lease_ttl_seconds, p.max_open_leases, p.required_skills, p.gold_seed,
       me.served, me.suspended OR coalesce(w.suspended, false), me.qualified OR coalesce(w.qualified, false),
       me.skills || coalesce(w.skills, '{}'),
       (SELECT count(*) FROM assignment_assignment x WHERE x.annotator = %(a)s AND x.project_id = p.id
          AND x.state = 'leased' AND x.expires_at > now()),
       set_config('synchronous_commit', 'off', true), me.news
FROM assignment_project p CROSS JOIN me
LEFT JOIN assignment_annotator_status w ON w.annotator = %(a)s AND w.project_id = %(all)s
WHERE p.id = %(p)s"""

# One statement: take over a lapsed lease if there is one, else a free slot of the first available task in
# priority order; count it in a progress shard; return what the annotator is handed.
CLAIM_SQL = """
WITH takeover AS (
  UPDATE assignment_assignment a SET annotator = %(a)s, leased_at = now(),
         expires_at = now() + make_interval(secs => %(ttl)s)
  FROM (SELECT x.id FROM assignment_assignment x JOIN assignment_task t ON t.id = x.task_id
        WHERE x.project_id = %(p)s AND x.state = 'leased' AND x.expires_at < now() AND NOT x.gold
          AND t.required_skills <@ %(skills)s::varchar(64)[] """ + NOT_MINE + ROOM + """
        ORDER BY t.priority DESC, t.seq LIMIT 1 FOR UPDATE OF x SKIP LOCKED) lapsed
  WHERE a.id = lapsed.id
  RETURNING a.task_id, a.expires_at),
pick AS (
  SELECT t.id FROM assignment_task t
  WHERE NOT EXISTS (SELECT 1 FROM takeover)
    AND t.project_id = %(p)s AND t.free_slots > 0 AND NOT t.is_gold
    AND t.required_skills <@ %(skills)s::varchar(64)[] """ + NOT_MINE + ROOM + """
  ORDER BY t.priority DESC, t.seq LIMIT 1 FOR UPDATE SKIP LOCKED),
upd AS (
  UPDATE assignment_task t SET free_slots = t.free_slots - 1 FROM pick WHERE t.id = pick.id
  RETURNING t.id, t.batch_id),
ins AS (
  INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at, expires_at)
  SELECT %(t)s, %(p)s, upd.id, %(a)s, 'leased', false, now(), now() + make_interval(secs => %(ttl)s) FROM upd
  RETURNING task_id, expires_at),
prog AS (
  UPDATE assignment_progress g SET queued = g.queued - 1, leased = g.leased + 1 FROM upd
  WHERE g.project_id = %(p)s AND g.batch_id = coalesce(upd.batch_id, %(nobatch)s) AND g.shard = %(shard)s),
got AS (SELECT task_id, expires_at FROM takeover UNION ALL SELECT task_id, expires_at FROM ins)
SELECT t.id, t.project_id, t.data, t.schema_version, got.expires_at
FROM got JOIN assignment_task t ON t.id = got.task_id"""

GOLD_SQL = """
WITH ins AS (
  INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at, expires_at)
  SELECT %(t)s::varchar, %(p)s::uuid, t.id, %(a)s::varchar, 'leased', true, now(), now() + make_interval(secs => %(ttl)s)
  FROM assignment_task t
  WHERE t.project_id = %(p)s AND t.is_gold """ + NOT_MINE + ROOM + """
  ORDER BY md5(%(a)s::varchar || t.id::text) LIMIT 1
  ON CONFLICT (task_id, annotator) DO NOTHING
  RETURNING task_id, expires_at)
SELECT t.id, t.project_id, t.data, t.schema_version, ins.expires_at
FROM ins JOIN assignment_task t ON t.id = ins.task_id"""

# Mixed into regular work only while regular work remains for this annotator: a stream of nothing but gold
# at the end of a queue would tell them what they are answering.
GOLD_MIXED_SQL = GOLD_SQL.replace("WHERE t.project_id = %(p)s AND t.is_gold", """WHERE t.project_id = %(p)s AND t.is_gold
    AND EXISTS (SELECT 1 FROM assignment_task r WHERE r.project_id = %(p)s AND r.free_slots > 0 AND NOT r.is_gold
                AND r.required_skills <@ %(skills)s::varchar(64)[]
                AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = r.id AND y.annotator = %(a)s)
                AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = r.id AND s.annotator = %(a)s))""")
assert GOLD_MIXED_SQL != GOLD_SQL



@dataclass(frozen=True)
class Handout:
    """What an annotator receives: identical in shape and content kind for every task, gold or not."""

    task_id: str
    project_id: str
    data: dict
    schema_version: int
    lease_expires_at: str

    def as_dict(self) -> dict:
        return {"task_id": self.task_id, "project_id": self.project_id, "data": self.data,
                "schema_version": self.schema_version, "lease_expires_at": self.lease_expires_at}


def gold_draw(*, seed: int, annotator: str, position: int) -> float:
    """The annotator's deterministic pseudo-random stream in [0, 1): same seed, annotator, position → same draw."""
    digest = hashlib.blake2b(f"{seed}:{annotator}:{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _handout(row) -> Handout | None:
    if row is None:
        return None
    task_id, project_id, data, version, expires_at = row
    return Handout(task_id=str(task_id), project_id=str(project_id),
                   data=data if isinstance(data, dict) else json.loads(data),
                   schema_version=version, lease_expires_at=expires_at.isoformat())


def work_next(*, project_id, annotator: str) -> Handout | None:
    """Lease the annotator's next task, or None when nothing is available for them now."""
    tenant = require_tenant()
    with connection.cursor() as cursor:
        cursor.execute(STATE_SQL, {"t": tenant, "a": annotator, "p": project_id, "all": TENANT_WIDE})
        row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"project {project_id} does not exist")
        gold_rate, exam_size, ttl, cap, required, seed, served, suspended, qualified, skills, open_leases, _, news = row
        if news:
            from assay_assignment.core.services.status import gold_feedback_flush

            gold_feedback_flush(project_id=project_id, annotator=annotator)
        if suspended:
            raise ForbiddenError("you are suspended and receive no tasks", code="annotator_suspended")
        if not set(required) <= set(skills):
            raise ForbiddenError(f"this project requires the skills {', '.join(sorted(set(required) - set(skills)))}",
                                 code="missing_skills")
        if open_leases >= cap:
            raise _lease_cap_error(open_leases)
        params = {"t": tenant, "a": annotator, "p": project_id, "ttl": ttl, "skills": list(skills), "cap": cap,
                  "nobatch": NO_BATCH, "shard": random.randrange(Progress.SHARDS)}
        if exam_size and not qualified:
            cursor.execute("SELECT count(*) FROM assignment_assignment WHERE annotator = %s AND project_id = %s"
                           " AND gold AND state = 'done'", [annotator, project_id])
            if cursor.fetchone()[0] >= exam_size:
                raise ConflictError("your qualification answers are being scored; regular work opens when you"
                                    " qualify", code="awaiting_qualification")
            cursor.execute(GOLD_SQL, params)
            return _handout(cursor.fetchone()) or _nothing(cursor, params)
        if gold_rate > 0 and gold_draw(seed=seed, annotator=annotator, position=served) < gold_rate:
            cursor.execute(GOLD_MIXED_SQL, params)
            found = cursor.fetchone()
            if found is not None:
                return _handout(found)
        cursor.execute(CLAIM_SQL, params)
        return _handout(cursor.fetchone()) or _nothing(cursor, params)


def _lease_cap_error(open_leases: int) -> ConflictError:
    return ConflictError(f"you already hold {open_leases} open lease(s), the most this project allows; "
                         "submit, skip or release one first", code="lease_cap_reached")


def _nothing(cursor, params: dict) -> None:
    """No task was handed out: say so, unless a concurrent request of the same annotator filled the cap."""
    cursor.execute("SELECT count(*) FROM assignment_assignment WHERE annotator = %(a)s AND project_id = %(p)s"
                   " AND state = 'leased' AND expires_at > now()", params)
    open_leases = cursor.fetchone()[0]
    if open_leases >= params["cap"]:
        raise _lease_cap_error(open_leases)
    return None


def lease_heartbeat(*, task_id, annotator: str) -> str:
    """Extend the annotator's lease by the project's TTL; return the new expiry."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assignment_assignment a SET expires_at = now() + make_interval(secs => p.lease_ttl_seconds)"
            " FROM assignment_project p WHERE p.id = a.project_id AND a.task_id = %s AND a.annotator = %s"
            " AND a.state = 'leased' RETURNING a.expires_at", [task_id, annotator])
        row = cursor.fetchone()
    if row is None:
        raise ConflictError("you hold no lease on this task (it expired and was returned, or was never yours)",
                            code="no_lease")
    return row[0].isoformat()


def _lease_drop(*, task_id, annotator: str) -> tuple:
    """Delete the annotator's lease; give the slot back to the queue. Returns (project_id, batch_id)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignment_assignment WHERE task_id = %s AND annotator = %s AND state = 'leased'"
                       " RETURNING project_id, gold", [task_id, annotator])
        row = cursor.fetchone()
        if row is None:
            raise ConflictError("you hold no lease on this task (it expired and was returned, or was never yours)",
                                code="no_lease")
        project_id, gold = row
        if gold:
            return project_id, None
        cursor.execute("UPDATE assignment_task SET free_slots = free_slots + 1 WHERE id = %s RETURNING batch_id",
                       [task_id])
        batch_id = cursor.fetchone()[0]
    progress_add(project_id=project_id, batch_id=batch_id, queued=1, leased=-1)
    work_available_push(tenant=require_tenant(), project_id=project_id)
    return project_id, batch_id


def lease_release(*, task_id, annotator: str) -> None:
    """Give the task back; the annotator may receive it again later."""
    _lease_drop(task_id=task_id, annotator=annotator)


def task_skip(*, task_id, annotator: str) -> None:
    """Give the task back and never receive it again."""
    _lease_drop(task_id=task_id, annotator=annotator)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO assignment_skip (tenant_id, task_id, annotator, created_at) VALUES (%s, %s, %s, now())"
                       " ON CONFLICT DO NOTHING", [require_tenant(), task_id, annotator])


def leases_expire(*, limit: int = 1000) -> int:
    """Return expired leases of the tenant in scope to the queue; returns how many."""
    tenant = require_tenant()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM assignment_assignment WHERE id IN (SELECT id FROM assignment_assignment WHERE state = 'leased'"
            " AND expires_at < now() ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING task_id, project_id, gold", [limit])
        rows = cursor.fetchall()
        regular = [r for r in rows if not r[2]]
        if regular:
            cursor.execute(
                "UPDATE assignment_task t SET free_slots = t.free_slots + n.c FROM (SELECT unnest(%s::uuid[]) AS id,"
                " unnest(%s::int[]) AS c) n WHERE t.id = n.id RETURNING t.project_id, t.batch_id, n.c",
                [[r[0] for r in regular], [1] * len(regular)])
            for project_id, batch_id, count in cursor.fetchall():
                progress_add(project_id=project_id, batch_id=batch_id, queued=count, leased=-count)
    for project_id in {r[1] for r in regular}:
        work_available_push(tenant=tenant, project_id=project_id)
    return len(rows)


def task_slots_add(*, task_id, count: int = 1, beyond_max: bool = False) -> int:
    """Ask for `count` more answers on a task; capped at the project's max_overlap unless beyond_max
    (a rejected answer being replaced). Returns how many slots were added."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH cur AS (SELECT t.id, t.answered >= t.overlap AS was_complete,"
            " CASE WHEN %s THEN %s ELSE LEAST(%s, GREATEST(p.max_overlap - t.overlap, 0)) END AS n"
            " FROM assignment_task t JOIN assignment_project p ON p.id = t.project_id"
            " WHERE t.id = %s AND NOT t.is_gold FOR UPDATE OF t)"
            " UPDATE assignment_task t SET overlap = t.overlap + cur.n, free_slots = t.free_slots + cur.n"
            " FROM cur WHERE t.id = cur.id RETURNING t.project_id, t.batch_id, cur.n, cur.was_complete",
            [beyond_max, count, count, task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    project_id, batch_id, added, was_complete = row
    if added:
        progress_add(project_id=project_id, batch_id=batch_id, queued=added, completed=-1 if was_complete else 0)
        work_available_push(tenant=require_tenant(), project_id=project_id)
    return added


def project_for_task(*, task_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT project_id FROM assignment_task WHERE id = %s", [task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    return row[0]
