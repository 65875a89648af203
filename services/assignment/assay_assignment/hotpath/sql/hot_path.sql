-- The annotators' two hot calls, each one statement for the client (ADR 0019).
-- Both take the tenant and set it for their own transaction: row-level security stays in force.
-- "NOT EXISTS (... OFFSET 0)" keeps each exclusion a per-candidate probe of a unique index: as an anti-join the
-- planner would read all of the annotator's history for every claim, which grows with it.
-- Every lookup names the tenant, as the indexes lead with it: a role that bypasses row-level security (the
-- database owner, a superuser) gets no tenant predicate from the policy, and a claim without it would read every
-- available task of the project, probe each and sort them, instead of walking the queue's index to the first.
-- "required_skills = '{}' OR ..." says what is true of most tasks in a way the planner can count: "<@" alone is
-- estimated to keep one row in 200, which makes sorting every candidate look cheaper than that walk.

-- The annotator's deterministic gold draw in [0, 1); assay_assignment.core.services.queue.gold_draw mirrors it.
CREATE OR REPLACE FUNCTION assignment_gold_draw(p_seed bigint, p_annotator varchar, p_position bigint)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ('x' || substr(md5(p_seed::text || ':' || p_annotator || ':' || p_position::text), 1, 15))::bit(60)::bigint
         / 1152921504606846976.0::double precision
$$;

-- A timestamp as Python's datetime.isoformat() writes it in UTC (no fraction when the microseconds are zero,
-- else all six digits), so that event payloads, receipts and retries all show the same text.
CREATE OR REPLACE FUNCTION assignment_isoformat(p_at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC',
                 CASE WHEN date_part('microseconds', p_at)::bigint % 1000000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS'
                      ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || '+00:00'
$$;

-- Lease the annotator's next task. outcome: task | none | not_found | suspended | missing_skills (detail: the
-- missing skills) | lease_cap (detail: open leases) | awaiting_qualification. news: gold feedback is due.
-- With a task come what its submission will need (batch, gold, external id, overlap): never sent to the client.
CREATE OR REPLACE FUNCTION assignment_next(
    p_tenant varchar, p_annotator varchar, p_project uuid, p_shard smallint, p_tenant_wide uuid, p_no_batch uuid,
    p_progress boolean,
    OUT o_outcome text, OUT o_detail text, OUT o_task uuid, OUT o_data jsonb, OUT o_version integer,
    OUT o_expires timestamptz, OUT o_news boolean,
    OUT o_batch uuid, OUT o_gold boolean, OUT o_external text, OUT o_overlap integer, OUT o_claimed boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_rate double precision; v_exam integer; v_ttl integer; v_cap integer; v_required varchar(64)[]; v_seed bigint;
  v_served bigint; v_suspended boolean; v_qualified boolean; v_skills varchar(64)[]; v_open bigint;
  v_missing text;
BEGIN
  -- a claim lost in a crash is only a lease that expires; answers commit synchronously
  PERFORM set_config('app.tenant_id', p_tenant, true), set_config('synchronous_commit', 'off', true);
  o_news := false; o_claimed := false;
  SELECT p.gold_rate, p.exam_size, p.lease_ttl_seconds, p.max_open_leases, p.required_skills, p.gold_seed
    INTO v_rate, v_exam, v_ttl, v_cap, v_required, v_seed
    FROM assignment_project p WHERE p.id = p_project;
  IF NOT FOUND THEN
    o_outcome := 'not_found';
    RETURN;
  END IF;
  -- the annotator's status row, locked until commit; an update (a HOT one) but for their first request
  UPDATE assignment_annotator_status s SET served = s.served + 1
    WHERE s.tenant_id = p_tenant AND s.annotator = p_annotator AND s.project_id = p_project
    RETURNING s.served, s.suspended, s.qualified, s.skills,
              (s.gold_day < (now() AT TIME ZONE 'UTC')::date AND s.gold_pending > 0) OR s.gold_scored > s.gold_reported
    INTO v_served, v_suspended, v_qualified, v_skills, o_news;
  IF NOT FOUND THEN
    INSERT INTO assignment_annotator_status AS s (tenant_id, annotator, project_id, suspended, qualified, skills,
        served, gold_pending, gold_pending_score, gold_scored, gold_score_sum, gold_reported, updated_at)
      VALUES (p_tenant, p_annotator, p_project, false, false, '{}', 1, 0, 0, 0, 0, 0, now())
      ON CONFLICT (tenant_id, annotator, project_id) DO UPDATE SET served = s.served + 1
      RETURNING s.served, s.suspended, s.qualified, s.skills,
                (s.gold_day < (now() AT TIME ZONE 'UTC')::date AND s.gold_pending > 0) OR s.gold_scored > s.gold_reported
      INTO v_served, v_suspended, v_qualified, v_skills, o_news;
  END IF;
  SELECT v_suspended OR coalesce(w.suspended, false), v_qualified OR coalesce(w.qualified, false),
         v_skills || coalesce(w.skills, '{}')
    INTO v_suspended, v_qualified, v_skills
    FROM (SELECT 1) one LEFT JOIN assignment_annotator_status w
      ON w.tenant_id = p_tenant AND w.annotator = p_annotator AND w.project_id = p_tenant_wide;
  IF v_suspended THEN
    o_outcome := 'suspended';
    RETURN;
  END IF;
  IF cardinality(v_required) > 0 THEN
    SELECT string_agg(r, ', ' ORDER BY r) INTO v_missing
      FROM (SELECT unnest(v_required) EXCEPT SELECT unnest(v_skills)) m(r);
    IF v_missing IS NOT NULL THEN
      o_outcome := 'missing_skills'; o_detail := v_missing;
      RETURN;
    END IF;
  END IF;
  -- counted after the upsert above locked the annotator's status row until commit: a concurrent request of the
  -- same annotator waits there, so this count holds for the whole call
  SELECT count(*) INTO v_open FROM assignment_assignment x
    WHERE x.annotator = p_annotator AND x.project_id = p_project AND x.state = 'leased' AND x.expires_at > now();
  IF v_open >= v_cap THEN
    o_outcome := 'lease_cap'; o_detail := v_open::text;
    RETURN;
  END IF;

  IF v_exam > 0 AND NOT v_qualified THEN
    IF (SELECT count(*) FROM assignment_assignment x WHERE x.annotator = p_annotator AND x.project_id = p_project
          AND x.gold AND x.state = 'done') >= v_exam THEN
      o_outcome := 'awaiting_qualification';
      RETURN;
    END IF;
    o_task := assignment_gold_lease(p_tenant, p_annotator, p_project, v_ttl, v_skills, false);
  ELSIF v_rate > 0 AND assignment_gold_draw(v_seed, p_annotator, v_served) < v_rate THEN
    -- mixed into regular work only while regular work remains for this annotator: a stream of nothing but
    -- gold at the end of a queue would tell them what they are answering
    o_task := assignment_gold_lease(p_tenant, p_annotator, p_project, v_ttl, v_skills, true);
  END IF;

  IF o_task IS NULL AND NOT (v_exam > 0 AND NOT v_qualified) THEN
    -- take over a lapsed lease if there is one, else a free slot of the first available task in priority order;
    -- each picked by a scalar subquery so that the plan starts from the one row, whatever the statistics say
    UPDATE assignment_assignment a SET annotator = p_annotator, leased_at = now(),
           expires_at = now() + make_interval(secs => v_ttl)
      WHERE a.id = (
        SELECT x.id FROM assignment_assignment x JOIN assignment_task t ON t.id = x.task_id
        WHERE x.project_id = p_project AND x.state = 'leased' AND x.expires_at < now() AND NOT x.gold
          AND (t.required_skills = '{}' OR t.required_skills <@ v_skills)
          AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = t.id AND y.annotator = p_annotator OFFSET 0)
          AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = t.id AND s.annotator = p_annotator OFFSET 0)
        ORDER BY t.priority DESC, t.seq LIMIT 1 FOR UPDATE OF x SKIP LOCKED)
      RETURNING a.task_id, a.expires_at INTO o_task, o_expires;
    IF o_task IS NULL THEN
      UPDATE assignment_task t SET free_slots = t.free_slots - 1
        WHERE t.id = (
          SELECT c.id FROM assignment_task c
          WHERE c.tenant_id = p_tenant AND c.project_id = p_project AND NOT c.exhausted AND NOT c.is_gold
            AND (c.required_skills = '{}' OR c.required_skills <@ v_skills)
            AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = c.id AND y.annotator = p_annotator OFFSET 0)
            AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = c.id AND s.annotator = p_annotator OFFSET 0)
          ORDER BY c.priority DESC, c.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING t.id, t.batch_id, t.data, t.schema_version, t.is_gold, t.external_id, t.overlap
          INTO o_task, o_batch, o_data, o_version, o_gold, o_external, o_overlap;
      IF o_task IS NOT NULL THEN
        o_outcome := 'task';
        INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at, expires_at)
          VALUES (p_tenant, p_project, o_task, p_annotator, 'leased', false, now(), now() + make_interval(secs => v_ttl))
          RETURNING expires_at INTO o_expires;
        o_claimed := true;  -- a slot went from queued to leased: counted here, or by the caller (p_progress)
        IF p_progress THEN
          UPDATE assignment_progress g SET queued = g.queued - 1, leased = g.leased + 1
            WHERE g.project_id = p_project AND g.batch_id = coalesce(o_batch, p_no_batch) AND g.shard = p_shard;
        END IF;
        RETURN;  -- the claim's RETURNING brought the task's columns
      END IF;
    END IF;
  END IF;

  IF o_task IS NULL THEN
    o_outcome := 'none';
    RETURN;
  END IF;
  o_outcome := 'task';
  IF o_expires IS NULL THEN  -- a gold lease
    SELECT a.expires_at INTO o_expires FROM assignment_assignment a WHERE a.task_id = o_task AND a.annotator = p_annotator;
  END IF;
  SELECT t.data, t.schema_version, t.batch_id, t.is_gold, t.external_id, t.overlap
    INTO o_data, o_version, o_batch, o_gold, o_external, o_overlap
    FROM assignment_task t WHERE t.id = o_task;
END
$$;

-- A gold task the annotator has not seen, in their own fixed order; NULL when there is none (or, when p_mixed,
-- when no regular work remains for them). Gold tasks have no slot limit: each annotator answers each once.
CREATE OR REPLACE FUNCTION assignment_gold_lease(
    p_tenant varchar, p_annotator varchar, p_project uuid, p_ttl integer, p_skills varchar(64)[], p_mixed boolean)
RETURNS uuid LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_task uuid;
BEGIN
  IF p_mixed AND NOT EXISTS (
      SELECT 1 FROM assignment_task r WHERE r.tenant_id = p_tenant AND r.project_id = p_project AND NOT r.exhausted AND NOT r.is_gold
        AND (r.required_skills = '{}' OR r.required_skills <@ p_skills)
        AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = r.id AND y.annotator = p_annotator OFFSET 0)
        AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = r.id AND s.annotator = p_annotator OFFSET 0)) THEN
    RETURN NULL;
  END IF;
  INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at, expires_at)
    SELECT p_tenant, p_project, t.id, p_annotator, 'leased', true, now(), now() + make_interval(secs => p_ttl)
    FROM assignment_task t
    WHERE t.project_id = p_project AND t.is_gold
      AND NOT EXISTS (SELECT 1 FROM assignment_assignment y WHERE y.task_id = t.id AND y.annotator = p_annotator OFFSET 0)
      AND NOT EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = t.id AND s.annotator = p_annotator OFFSET 0)
    ORDER BY md5(p_annotator || t.id::text) LIMIT 1
    ON CONFLICT (task_id, annotator) DO NOTHING
    RETURNING task_id INTO v_task;
  RETURN v_task;
END
$$;

-- What submitting needs before the answer can be checked: the task (NULL columns when it does not exist, or
-- belongs to another tenant) and a previous submission with the client's submission id, if any.
CREATE OR REPLACE FUNCTION assignment_submission_context(p_tenant varchar, p_task uuid, p_submission uuid,
    OUT o_exists boolean, OUT o_project uuid, OUT o_batch uuid, OUT o_version integer, OUT o_gold boolean,
    OUT o_external text, OUT o_overlap integer, OUT o_prev_task uuid, OUT o_prev_annotator varchar,
    OUT o_prev_at timestamptz, OUT o_now timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  o_now := now();
  SELECT true, t.project_id, t.batch_id, t.schema_version, t.is_gold, t.external_id, t.overlap
    INTO o_exists, o_project, o_batch, o_version, o_gold, o_external, o_overlap
    FROM assignment_task t WHERE t.id = p_task;
  o_exists := FOUND;
  SELECT s.task_id, s.annotator, s.submitted_at INTO o_prev_task, o_prev_annotator, o_prev_at
    FROM assignment_submission s WHERE s.id = p_submission;
END
$$;

-- Record an answer, with its annotation.submitted event (p_event, built and validated by the caller; its
-- payload.submitted_at becomes the submission's time) and, when the task then has all its answers, the task.completed
-- event, composed here from typed values in the shape the event catalog gives it (ADR 0057: every submission would
-- otherwise build one that two in three never emit); payload.overlap becomes the task's overlap at that moment
-- (dynamic overlap may have raised it since the caller read it). This is the only writer of submissions (ADR 0064):
-- an answer on a lease the annotator holds is recorded here, any other through assignment_submit_late.
-- o_outcome: submitted | replay (the submission id is taken: o_prev_* say by what; nothing was written) |
-- already_answered | task_skipped | lease_expired (a late answer that found no slot; nothing was written).
-- o_counted: a regular task's slot went to answered; o_queued: that slot came from the queue rather than from a
-- lease (a late answer that took a free slot). A submission id already used for another answer while the lease is
-- held raises unique_violation on assignment_submission_pkey.
CREATE OR REPLACE FUNCTION assignment_submit(
    p_tenant varchar, p_annotator varchar, p_task uuid, p_submission uuid, p_project uuid, p_batch uuid,
    p_version integer, p_answer jsonb, p_duration integer, p_shard smallint, p_no_batch uuid,
    p_event jsonb, p_notify boolean, p_progress boolean,
    OUT o_outcome text, OUT o_submitted_at timestamptz, OUT o_completed uuid[],
    OUT o_prev_task uuid, OUT o_prev_annotator varchar, OUT o_counted boolean, OUT o_done boolean,
    OUT o_queued boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_late boolean; v_done boolean; v_overlap integer; v_event jsonb;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  o_queued := false;
  UPDATE assignment_assignment SET state = 'done'
    WHERE task_id = p_task AND annotator = p_annotator AND state = 'leased'
    RETURNING expires_at < now() INTO v_late;
  IF FOUND THEN
    -- the lease was held, so this submission id names no answer of this task by this annotator: if it names another
    -- answer, the insert fails on the primary key (unique_violation) and the whole call is undone
    INSERT INTO assignment_submission (id, tenant_id, project_id, batch_id, task_id, annotator, answer,
                                       schema_version, duration_ms, late, rejected, submitted_at)
      VALUES (p_submission, p_tenant, p_project, p_batch, p_task, p_annotator, p_answer, p_version, p_duration,
              v_late, false, now())
      RETURNING submitted_at INTO o_submitted_at;
  ELSE
    -- no lease held: a retry of an answer already recorded (it ended the lease; a concurrent retry waited on the
    -- lease row above), or a late answer
    SELECT l.o_outcome, l.o_submitted_at, l.o_prev_task, l.o_prev_annotator, l.o_queued
      INTO o_outcome, o_submitted_at, o_prev_task, o_prev_annotator, o_queued
      FROM assignment_submit_late(p_tenant, p_annotator, p_task, p_submission, p_project, p_batch, p_version,
                                  p_answer, p_duration) l;
    IF o_outcome <> 'late' THEN
      RETURN;
    END IF;
  END IF;
  v_event := jsonb_set(p_event, '{payload,submitted_at}', to_jsonb(assignment_isoformat(o_submitted_at)));
  -- the task and progress rows are shared with the task's other annotators and every claim: locked last, so
  -- they are held only until the commit
  UPDATE assignment_task SET answered = answered + 1 WHERE id = p_task AND NOT is_gold
    RETURNING answered >= overlap, overlap INTO v_done, v_overlap;
  IF v_overlap IS NOT NULL THEN
    v_event := jsonb_set(v_event, '{payload,overlap}', to_jsonb(v_overlap));
  END IF;
  INSERT INTO bus_outbox (event_id, event_type, tenant_id, body, created_at, attempts, last_error)
    VALUES ((v_event->>'id')::uuid, v_event->>'type', p_tenant, v_event, now(), 0, '');
  -- a regular task's slot went from leased (or, for a late answer, queued) to answered, and the task maybe to
  -- completed: counted here, or by the caller (p_progress)
  o_counted := v_overlap IS NOT NULL; o_done := coalesce(v_done, false);
  IF o_counted AND p_progress THEN
    UPDATE assignment_progress g SET queued = g.queued - CASE WHEN o_queued THEN 1 ELSE 0 END,
           leased = g.leased - CASE WHEN o_queued THEN 0 ELSE 1 END, answered = g.answered + 1,
           completed = g.completed + CASE WHEN v_done THEN 1 ELSE 0 END
      WHERE g.project_id = p_project AND g.batch_id = coalesce(p_batch, p_no_batch) AND g.shard = p_shard;
  END IF;
  IF v_done THEN
    -- a statement of its own, so its snapshot holds the answers of the task's other annotators that committed
    -- while the task row was locked by them
    SELECT array_agg(id ORDER BY submitted_at, id) INTO o_completed
      FROM assignment_submission WHERE task_id = p_task AND NOT rejected;
    INSERT INTO bus_outbox (event_id, event_type, tenant_id, body, created_at, attempts, last_error)
      SELECT e.id, 'task.completed', p_tenant,
             jsonb_build_object('id', e.id::text, 'type', 'task.completed', 'version', 1, 'tenant', p_tenant,
                                'occurred_at', v_event->'payload'->'submitted_at', 'producer', v_event->'producer',
                                'correlation_id', v_event->'correlation_id',
                                'payload', jsonb_build_object('task_id', p_task::text, 'project_id', p_project::text,
                                                              'batch_id', p_batch::text,
                                                              'submission_ids', to_jsonb(o_completed::text[]))),
             now(), 0, ''
      FROM (SELECT gen_random_uuid() AS id) e;
  END IF;
  IF p_notify THEN
    PERFORM pg_notify('assay_outbox', '');
  END IF;
  o_outcome := 'submitted';
END
$$;

-- The part of assignment_submit for an answer on a task whose lease the annotator does not hold (the lease was
-- returned by the sweeper, or lapsed and was taken over): a retry of an answer already recorded is recognised by
-- its submission id; otherwise the answer takes a slot nobody holds, or another annotator's lapsed lease (a gold task
-- always has room), and its submission row is written with late = true. o_outcome: late (slot taken, row written:
-- assignment_submit goes on as for a held lease) | replay | already_answered | task_skipped | lease_expired
-- (nothing written). o_queued: the slot was a free one.
CREATE OR REPLACE FUNCTION assignment_submit_late(
    p_tenant varchar, p_annotator varchar, p_task uuid, p_submission uuid, p_project uuid, p_batch uuid,
    p_version integer, p_answer jsonb, p_duration integer,
    OUT o_outcome text, OUT o_submitted_at timestamptz, OUT o_prev_task uuid, OUT o_prev_annotator varchar,
    OUT o_queued boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_gold boolean;
BEGIN
  o_queued := false;
  SELECT s.task_id, s.annotator, s.submitted_at INTO o_prev_task, o_prev_annotator, o_submitted_at
    FROM assignment_submission s WHERE s.id = p_submission;
  IF FOUND THEN
    o_outcome := 'replay';
    RETURN;
  END IF;
  -- the lease row stays (state done) once answered: any row of this annotator on this task is an answer; it may be
  -- this very answer, committed by a concurrent copy since the look-up above (a statement started now sees it)
  IF EXISTS (SELECT 1 FROM assignment_assignment a WHERE a.task_id = p_task AND a.annotator = p_annotator) THEN
    SELECT s.task_id, s.annotator, s.submitted_at INTO o_prev_task, o_prev_annotator, o_submitted_at
      FROM assignment_submission s WHERE s.id = p_submission;
    o_outcome := CASE WHEN FOUND THEN 'replay' ELSE 'already_answered' END;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM assignment_skip s WHERE s.task_id = p_task AND s.annotator = p_annotator) THEN
    o_outcome := 'task_skipped';
    RETURN;
  END IF;
  SELECT t.is_gold INTO v_gold FROM assignment_task t WHERE t.id = p_task;
  BEGIN
    IF v_gold THEN
      INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at, expires_at)
        VALUES (p_tenant, p_project, p_task, p_annotator, 'done', true, now(), now());
    ELSE
      UPDATE assignment_task t SET free_slots = t.free_slots - 1 WHERE t.id = p_task AND t.free_slots > 0;
      IF FOUND THEN
        o_queued := true;
        INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold, leased_at,
                                           expires_at)
          VALUES (p_tenant, p_project, p_task, p_annotator, 'done', false, now(), now());
      ELSE
        UPDATE assignment_assignment a SET annotator = p_annotator, state = 'done'
          WHERE a.id = (SELECT x.id FROM assignment_assignment x
                        WHERE x.task_id = p_task AND x.state = 'leased' AND x.expires_at < now()
                        LIMIT 1 FOR UPDATE SKIP LOCKED);
        IF NOT FOUND THEN
          -- no slot left, unless a concurrent request of this annotator took it: this call waited for it on the task
          -- row, so a statement started now sees what it wrote
          SELECT s.task_id, s.annotator, s.submitted_at INTO o_prev_task, o_prev_annotator, o_submitted_at
            FROM assignment_submission s WHERE s.id = p_submission;
          IF FOUND THEN
            o_outcome := 'replay';
          ELSIF EXISTS (SELECT 1 FROM assignment_assignment a WHERE a.task_id = p_task AND a.annotator = p_annotator) THEN
            o_outcome := 'already_answered';
          ELSE
            o_outcome := 'lease_expired';
          END IF;
          RETURN;
        END IF;
      END IF;
    END IF;
    INSERT INTO assignment_submission (id, tenant_id, project_id, batch_id, task_id, annotator, answer,
                                       schema_version, duration_ms, late, rejected, submitted_at)
      VALUES (p_submission, p_tenant, p_project, p_batch, p_task, p_annotator, p_answer, p_version, p_duration,
              true, false, now())
      RETURNING submitted_at INTO o_submitted_at;
    o_outcome := 'late';
  EXCEPTION WHEN unique_violation THEN
    -- a concurrent request of this annotator committed first (its slot and rows are undone here): this very answer
    -- (a retry), or another answer of theirs to this task
    o_queued := false;
    SELECT s.task_id, s.annotator, s.submitted_at INTO o_prev_task, o_prev_annotator, o_submitted_at
      FROM assignment_submission s WHERE s.id = p_submission;
    o_outcome := CASE WHEN FOUND THEN 'replay' ELSE 'already_answered' END;
  END;
END
$$;

-- Several annotators' next-task requests in one transaction (ADR 0058): what the web process has queued while its
-- previous call ran. Each is served exactly as assignment_next serves it alone; annotators in name order, so two
-- calls lock status rows in one order, and the progress counters of all claims last, one row per batch in batch
-- order, on the caller's shard. o_index: the request's position in p_annotators (1-based).
CREATE OR REPLACE FUNCTION assignment_next_many(
    p_tenant varchar, p_annotators varchar[], p_project uuid, p_shard smallint, p_tenant_wide uuid, p_no_batch uuid)
RETURNS TABLE (o_index integer, o_outcome text, o_detail text, o_task uuid, o_data jsonb, o_version integer,
               o_expires timestamptz, o_news boolean, o_batch uuid, o_gold boolean, o_external text,
               o_overlap integer, o_claimed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_claims uuid[] := '{}'; v_batch uuid; v_count integer; v_annotator varchar;
BEGIN
  FOR o_index, v_annotator IN SELECT u.i, u.a FROM unnest(p_annotators) WITH ORDINALITY u(a, i) ORDER BY u.a, u.i LOOP
    SELECT n.o_outcome, n.o_detail, n.o_task, n.o_data, n.o_version, n.o_expires, n.o_news, n.o_batch, n.o_gold,
           n.o_external, n.o_overlap, n.o_claimed
      INTO o_outcome, o_detail, o_task, o_data, o_version, o_expires, o_news, o_batch, o_gold, o_external,
           o_overlap, o_claimed
      FROM assignment_next(p_tenant, v_annotator, p_project, p_shard, p_tenant_wide, p_no_batch, false) n;
    IF o_claimed THEN
      v_claims := v_claims || coalesce(o_batch, p_no_batch);
    END IF;
    RETURN NEXT;
  END LOOP;
  FOR v_batch, v_count IN SELECT b, count(*) FROM unnest(v_claims) b GROUP BY b ORDER BY b LOOP
    UPDATE assignment_progress g SET queued = g.queued - v_count, leased = g.leased + v_count
      WHERE g.project_id = p_project AND g.batch_id = v_batch AND g.shard = p_shard;
  END LOOP;
END
$$;

-- Several answers of one tenant in one transaction (ADR 0058), each recorded exactly as assignment_submit records
-- it alone; in task order, so two calls lock shared task rows in one order, and the progress counters last, one
-- row per (project, batch) in that order, on the caller's shard. Arrays are parallel; o_index is 1-based.
CREATE OR REPLACE FUNCTION assignment_submit_many(
    p_tenant varchar, p_annotators varchar[], p_tasks uuid[], p_submissions uuid[], p_projects uuid[],
    p_batches uuid[], p_versions integer[], p_answers jsonb[], p_durations integer[], p_shard smallint,
    p_no_batch uuid, p_events jsonb[], p_notify boolean)
RETURNS TABLE (o_index integer, o_outcome text, o_submitted_at timestamptz, o_completed uuid[],
               o_prev_task uuid, o_prev_annotator varchar, o_counted boolean, o_done boolean, o_queued boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_projects uuid[] := '{}'; v_batches uuid[] := '{}'; v_done boolean[] := '{}'; v_queued boolean[] := '{}';
  v_project uuid; v_batch uuid; v_answered integer; v_completed integer; v_from_queue integer;
BEGIN
  FOR o_index IN SELECT u.i FROM generate_subscripts(p_tasks, 1) u(i) ORDER BY p_tasks[u.i], u.i LOOP
    SELECT r.o_outcome, r.o_submitted_at, r.o_completed, r.o_prev_task, r.o_prev_annotator, r.o_counted, r.o_done,
           r.o_queued
      INTO o_outcome, o_submitted_at, o_completed, o_prev_task, o_prev_annotator, o_counted, o_done, o_queued
      FROM assignment_submit(p_tenant, p_annotators[o_index], p_tasks[o_index], p_submissions[o_index],
                             p_projects[o_index], p_batches[o_index], p_versions[o_index], p_answers[o_index],
                             p_durations[o_index], p_shard, p_no_batch, p_events[o_index], false, false) r;
    IF o_counted THEN
      v_projects := v_projects || p_projects[o_index];
      v_batches := v_batches || coalesce(p_batches[o_index], p_no_batch);
      v_done := v_done || o_done;
      v_queued := v_queued || o_queued;
    END IF;
    RETURN NEXT;
  END LOOP;
  FOR v_project, v_batch, v_answered, v_completed, v_from_queue IN
    SELECT p, b, count(*), count(*) FILTER (WHERE d), count(*) FILTER (WHERE q)
      FROM unnest(v_projects, v_batches, v_done, v_queued) x(p, b, d, q)
      GROUP BY p, b ORDER BY p, b
  LOOP
    UPDATE assignment_progress g SET queued = g.queued - v_from_queue, leased = g.leased - (v_answered - v_from_queue),
           answered = g.answered + v_answered, completed = g.completed + v_completed
      WHERE g.project_id = v_project AND g.batch_id = v_batch AND g.shard = p_shard;
  END LOOP;
  IF p_notify THEN
    PERFORM pg_notify('assay_outbox', '');
  END IF;
END
$$;

-- The plans of these statements do not depend on their arguments; planning the claim costs more than running it.
ALTER FUNCTION assignment_next(varchar, varchar, uuid, smallint, uuid, uuid, boolean)
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION assignment_gold_lease(varchar, varchar, uuid, integer, varchar(64)[], boolean)
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint, uuid,
                                 jsonb, boolean, boolean) SET plan_cache_mode = force_generic_plan;
