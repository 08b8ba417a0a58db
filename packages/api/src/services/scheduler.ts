// The scheduler: turns deployment schedules into SCHEDULED flow runs ahead of time, and backfills
// windows on request. Every run it creates carries the idempotency key of its
// (deployment, schedule, slot), so several replicas scheduling at once — or a backfill over slots the
// scheduler already covered — never create a second run for a slot: the unique index drops them.
import { nextSlots, partitionKeyFor, scheduleSlotKey, slotsBetween, uuidv7, type ScheduleSpec } from "@flowplane/core";
import type pg from "pg";
import { generateRunName } from "./run-names.ts";
import { publish } from "./events.ts";
import { inTransaction } from "./sql.ts";

export interface SchedulerConfig {
  /** Keep at least this many future runs per schedule... */
  minRuns: number;
  /** ...and at least this far ahead... */
  horizonSeconds: number;
  /** ...but never more than this many per schedule per pass (a per-second schedule stays bounded). */
  maxRuns: number;
  /** Schedules handled per statement. */
  batchSize: number;
}

export const defaultSchedulerConfig: SchedulerConfig = {
  minRuns: 3,
  horizonSeconds: 3600,
  maxRuns: 100,
  batchSize: 200,
};

interface ScheduleRow {
  id: string;
  workspaceId: string;
  deploymentId: string;
  flowId: string;
  kind: "CRON" | "INTERVAL" | "RRULE";
  cron: string | null;
  intervalSeconds: number | null;
  anchorDate: Date | null;
  rrule: string | null;
  timezone: string;
  parameters: Record<string, unknown>;
  scheduledThrough: Date | null;
  catchup: boolean;
  deploymentParameters: Record<string, unknown>;
  tags: string[];
  workPoolId: string | null;
  workQueueId: string | null;
  currentVersionId: string | null;
}

export function specOf(
  row: Pick<ScheduleRow, "kind" | "cron" | "intervalSeconds" | "anchorDate" | "rrule" | "timezone">,
): ScheduleSpec {
  switch (row.kind) {
    case "CRON":
      return { kind: "cron", cron: row.cron!, timezone: row.timezone };
    case "INTERVAL":
      return {
        kind: "interval",
        intervalSeconds: row.intervalSeconds!,
        ...(row.anchorDate ? { anchorDate: row.anchorDate.toISOString() } : {}),
        timezone: row.timezone,
      };
    case "RRULE":
      return { kind: "rrule", rrule: row.rrule!, timezone: row.timezone };
  }
}

interface NewRun {
  schedule: ScheduleRow;
  slot: Date;
}

export interface ScheduleResult {
  schedules: number;
  runsCreated: number;
  runsSkipped: number;
  /** Due runs of cancel-new deployments at their concurrency limit. */
  runsCancelled: number;
}

/**
 * One pass: extends every active schedule of an unpaused deployment whose horizon is short.
 * A schedule with `catchup: false` never creates runs for slots already past (a server that was
 * down resumes at the next slot), and its overdue runs are skipped once a newer slot is due.
 */
export async function scheduleRuns(
  pool: pg.Pool,
  config: SchedulerConfig = defaultSchedulerConfig,
  now = new Date(),
): Promise<ScheduleResult> {
  const horizon = new Date(now.getTime() + config.horizonSeconds * 1000);
  const result: ScheduleResult = { schedules: 0, runsCreated: 0, runsSkipped: 0, runsCancelled: 0 };
  let afterId = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const { rows } = await pool.query<ScheduleRow>(
      `SELECT s.id, s."workspaceId", s."deploymentId", d."flowId", s.kind, s.cron, s."intervalSeconds", s."anchorDate", s.rrule, s.timezone,
              s.parameters, s."scheduledThrough", d.catchup, d.parameters AS "deploymentParameters", d.tags, d."workPoolId", d."workQueueId", d."currentVersionId"
         FROM "DeploymentSchedule" s JOIN "Deployment" d ON d.id = s."deploymentId"
        WHERE s.active AND NOT d.paused AND (s."scheduledThrough" IS NULL OR s."scheduledThrough" < $1) AND s.id > $2
        ORDER BY s.id LIMIT $3`,
      [horizon, afterId, config.batchSize],
    );
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    result.schedules += rows.length;

    const runs: NewRun[] = [];
    const through = new Map<string, Date>();
    for (const schedule of rows) {
      const slots = slotsToCreate(schedule, config, now, horizon);
      for (const slot of slots) runs.push({ schedule, slot });
      // Even with no new slot (e.g. a yearly cron), remember how far we looked.
      through.set(
        schedule.id,
        slots[slots.length - 1] ??
          (schedule.scheduledThrough && schedule.scheduledThrough > horizon ? schedule.scheduledThrough : horizon),
      );
    }
    result.runsCreated += await insertRuns(pool, runs, now, { autoScheduled: true });
    await pool.query(
      `UPDATE "DeploymentSchedule" s SET "scheduledThrough" = v.t FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, t) WHERE s.id = v.id`,
      [[...through.keys()], [...through.values()]],
    );
  }
  result.runsSkipped = await skipSupersededRuns(pool, now);
  result.runsCancelled = await cancelCollidingRuns(pool, now);
  return result;
}

function slotsToCreate(schedule: ScheduleRow, config: SchedulerConfig, now: Date, horizon: Date): Date[] {
  const spec = specOf(schedule);
  const resumeFrom = schedule.scheduledThrough;
  // Missed slots (the server was down past the horizon) are created only with catchup on, and
  // then at most maxRuns of them.
  const start = resumeFrom && (schedule.catchup || resumeFrom > now) ? resumeFrom : new Date(now.getTime() - 1);
  // Slots up to the horizon first; only if they are too few, the next ones past it. Asking the
  // cron library for exactly what is needed matters: it is most of a pass's cost.
  const wanted = nextSlots(spec, start, { until: horizon, limit: config.maxRuns });
  // Future runs created by earlier passes count towards the minimum.
  const existingFuture =
    resumeFrom && resumeFrom > now ? nextSlots(spec, now, { until: resumeFrom, limit: config.minRuns }).length : 0;
  const future = existingFuture + wanted.filter((slot) => slot > now).length;
  if (future < config.minRuns && wanted.length < config.maxRuns) {
    const after = wanted[wanted.length - 1] ?? start;
    wanted.push(
      ...nextSlots(spec, after, { limit: Math.min(config.minRuns - future, config.maxRuns - wanted.length) }),
    );
  }
  return wanted;
}

/** Inserts runs for slots; returns how many were new (existing slot keys are left alone). */
export async function insertRuns(
  pool: pg.Pool,
  runs: NewRun[],
  now: Date,
  options: { autoScheduled: boolean; partitionParameter?: boolean },
): Promise<number> {
  if (runs.length === 0) return 0;
  return inTransaction(pool, async (sql) => {
    const { rows } = await sql.query<{ workspaceId: string; workPoolId: string | null }>(
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[], $9::uuid[],
                              $10::jsonb[], $11::jsonb[], $12::timestamptz[], $13::text[], $14::text[])
           AS u(id, workspace_id, flow_id, name, deployment_id, version_id, schedule_id, pool_id, queue_id, parameters, tags, slot, slot_key, partition_key)
       ),
       inserted AS (
         INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "deploymentVersionId", "scheduleId", "workPoolId", "workQueueId",
                                "stateType", "stateName", "stateTimestamp", parameters, tags, "expectedStartTime", "nextScheduledTime",
                                "idempotencyKey", "partitionKey", "autoScheduled", "createdAt", "updatedAt")
         SELECT id, workspace_id, flow_id, name, deployment_id, version_id, schedule_id, pool_id, queue_id,
                'SCHEDULED', 'Scheduled', $15, parameters, ARRAY(SELECT jsonb_array_elements_text(tags)), slot, slot,
                slot_key, partition_key, $16, $15, $15
           FROM input
         ON CONFLICT ("workspaceId", "flowId", "idempotencyKey") DO NOTHING
         RETURNING id, "workspaceId", "workPoolId", "expectedStartTime"
       ),
       history AS (
         INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, details)
         SELECT gen_random_uuid(), i."workspaceId", i.id, 'SCHEDULED', 'Scheduled', $15, jsonb_build_object('scheduledTime', i."expectedStartTime")
           FROM inserted i
       )
       SELECT "workspaceId", "workPoolId" FROM inserted`,
      [
        runs.map(() => uuidv7()),
        runs.map((r) => r.schedule.workspaceId),
        runs.map((r) => r.schedule.flowId),
        runs.map(() => generateRunName()),
        runs.map((r) => r.schedule.deploymentId),
        runs.map((r) => r.schedule.currentVersionId),
        runs.map((r) => r.schedule.id),
        runs.map((r) => r.schedule.workPoolId),
        runs.map((r) => r.schedule.workQueueId),
        runs.map((r) =>
          JSON.stringify({
            ...r.schedule.deploymentParameters,
            ...r.schedule.parameters,
            ...(options.partitionParameter ? { partitionKey: partitionKeyFor(r.slot) } : {}),
          }),
        ),
        runs.map((r) => JSON.stringify(r.schedule.tags ?? [])),
        runs.map((r) => r.slot),
        runs.map((r) => scheduleSlotKey(r.schedule.deploymentId, r.schedule.id, r.slot)),
        runs.map((r) => partitionKeyFor(r.slot)),
        now,
        options.autoScheduled,
      ],
    );
    // Waiting workers recompute when the next run is due.
    const pools = new Map(rows.filter((r) => r.workPoolId).map((r) => [r.workPoolId!, r.workspaceId]));
    for (const [workPoolId, workspaceId] of pools) await publish(sql, { kind: "runs_ready", workspaceId, workPoolId });
    return rows.length;
  });
}

/**
 * With catchup off, an auto-scheduled run still waiting when a newer slot of its schedule is due
 * is skipped (CANCELLED "Skipped"): after downtime only the latest slot runs, not the backlog.
 */
async function skipSupersededRuns(pool: pg.Pool, now: Date): Promise<number> {
  const { rowCount } = await pool.query(
    `WITH superseded AS (
       SELECT fr.id FROM "FlowRun" fr JOIN "Deployment" d ON d.id = fr."deploymentId"
        WHERE NOT d.catchup AND fr."autoScheduled" AND fr."stateType" = 'SCHEDULED' AND fr."expectedStartTime" < $1
          AND EXISTS (SELECT 1 FROM "FlowRun" newer WHERE newer."scheduleId" = fr."scheduleId" AND newer."autoScheduled"
                        AND newer."expectedStartTime" > fr."expectedStartTime" AND newer."expectedStartTime" <= $1)
        LIMIT 1000 FOR UPDATE OF fr SKIP LOCKED
     ),
     skipped AS (
       UPDATE "FlowRun" fr SET "stateType" = 'CANCELLED', "stateName" = 'Skipped', "stateTimestamp" = $1, "endTime" = $1,
              "stateMessage" = 'skipped: a newer slot is due and the deployment does not catch up', "updatedAt" = $1
         FROM superseded WHERE fr.id = superseded.id
       RETURNING fr.id, fr."workspaceId"
     )
     INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
     SELECT gen_random_uuid(), "workspaceId", id, 'CANCELLED', 'Skipped', $1, 'skipped: a newer slot is due and the deployment does not catch up', '{}'::jsonb FROM skipped`,
    [now],
  );
  return rowCount ?? 0;
}

/**
 * Deployments whose collision strategy is cancel-new: a due run that finds the deployment at its
 * concurrency limit is cancelled rather than left waiting for a slot.
 */
export async function cancelCollidingRuns(pool: pg.Pool, now = new Date()): Promise<number> {
  const message = "cancelled: the deployment was at its concurrency limit (collision strategy cancel-new)";
  const { rowCount } = await pool.query(
    `WITH colliding AS (
       SELECT fr.id FROM "FlowRun" fr JOIN "Deployment" d ON d.id = fr."deploymentId"
        WHERE d."collisionStrategy" = 'CANCEL_NEW' AND d."concurrencyLimit" IS NOT NULL
          AND fr."stateType" = 'SCHEDULED' AND fr."nextScheduledTime" <= $1
          AND (SELECT count(*) FROM "FlowRun" a WHERE a."deploymentId" = d.id AND a."stateType" IN ('PENDING', 'RUNNING', 'CANCELLING')) >= d."concurrencyLimit"
        LIMIT 1000 FOR UPDATE OF fr SKIP LOCKED
     ),
     cancelled AS (
       UPDATE "FlowRun" fr SET "stateType" = 'CANCELLED', "stateName" = 'Cancelled', "stateTimestamp" = $1, "endTime" = $1, "stateMessage" = $2, "updatedAt" = $1
         FROM colliding WHERE fr.id = colliding.id
       RETURNING fr.id, fr."workspaceId"
     )
     INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
     SELECT gen_random_uuid(), "workspaceId", id, 'CANCELLED', 'Cancelled', $1, $2, '{}'::jsonb FROM cancelled`,
    [now, message],
  );
  return rowCount ?? 0;
}

export interface BackfillResult {
  slots: number;
  created: number;
  existing: number;
}

/**
 * Creates one run per schedule slot in [from, to) for a deployment, each carrying its partition
 * key (the slot time, ISO-8601 UTC) in the run and as the `partitionKey` parameter. Repeating a
 * backfill creates nothing new; slots the scheduler already created keep their runs.
 */
export async function backfillDeployment(
  pool: pg.Pool,
  workspaceId: string,
  deploymentId: string,
  from: Date,
  to: Date,
  maxSlots = 10_000,
): Promise<BackfillResult> {
  const { rows } = await pool.query<ScheduleRow>(
    `SELECT s.id, s."workspaceId", s."deploymentId", d."flowId", s.kind, s.cron, s."intervalSeconds", s."anchorDate", s.rrule, s.timezone,
            s.parameters, s."scheduledThrough", d.catchup, d.parameters AS "deploymentParameters", d.tags, d."workPoolId", d."workQueueId", d."currentVersionId"
       FROM "DeploymentSchedule" s JOIN "Deployment" d ON d.id = s."deploymentId"
      WHERE s."deploymentId" = $1 AND s."workspaceId" = $2 ORDER BY s."createdAt"`,
    [deploymentId, workspaceId],
  );
  const runs: NewRun[] = [];
  for (const schedule of rows) {
    for (const slot of slotsBetween(specOf(schedule), from, to, maxSlots - runs.length)) runs.push({ schedule, slot });
  }
  let created = 0;
  for (let i = 0; i < runs.length; i += 1_000)
    created += await insertRuns(pool, runs.slice(i, i + 1_000), new Date(), {
      autoScheduled: false,
      partitionParameter: true,
    });
  return { slots: runs.length, created, existing: runs.length - created };
}

/** SCHEDULED runs this late are renamed Late (still claimable), so dashboards show the backlog. */
export async function markLateRuns(pool: pg.Pool, lateAfterSeconds: number, now = new Date()): Promise<number> {
  let total = 0;
  // Batches of 1,000 keep each transaction short; a backlog takes a few batches.
  for (let batch = 0; batch < 50; batch++) {
    const marked = await markLateBatch(pool, lateAfterSeconds, now);
    total += marked;
    if (marked < 1_000) break;
  }
  return total;
}

async function markLateBatch(pool: pg.Pool, lateAfterSeconds: number, now: Date): Promise<number> {
  const { rowCount } = await pool.query(
    `WITH late AS (
       SELECT id FROM "FlowRun" WHERE "stateType" = 'SCHEDULED' AND "stateName" = 'Scheduled'
          AND "nextScheduledTime" < $1::timestamptz - make_interval(secs => $2::int)
        LIMIT 1000 FOR UPDATE SKIP LOCKED
     ),
     marked AS (
       UPDATE "FlowRun" fr SET "stateName" = 'Late', "stateTimestamp" = $1, "updatedAt" = $1 FROM late WHERE fr.id = late.id
       RETURNING fr.id, fr."workspaceId"
     )
     INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, details)
     SELECT gen_random_uuid(), "workspaceId", id, 'SCHEDULED', 'Late', $1, '{}'::jsonb FROM marked`,
    [now, lateAfterSeconds],
  );
  return rowCount ?? 0;
}

export interface RetentionPolicy {
  /** Finished flow runs (with their task runs, states, logs, artifacts) older than this go. */
  flowRunDays: number;
  /** Log lines older than this go, even for runs that are kept. */
  logDays: number;
}

/** Deletes what the retention policy no longer keeps, in bounded batches. */
export async function pruneByRetention(
  pool: pg.Pool,
  policy: RetentionPolicy,
  now = new Date(),
): Promise<{ flowRuns: number; logs: number }> {
  const runs = await pool.query(
    `DELETE FROM "FlowRun" WHERE id IN (
       SELECT id FROM "FlowRun" WHERE "stateType" IN ('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')
          AND COALESCE("endTime", "stateTimestamp") < $1::timestamptz - make_interval(days => $2::int)
        LIMIT 1000)`,
    [now, policy.flowRunDays],
  );
  const logs = await pool.query(
    `DELETE FROM "Log" WHERE id IN (SELECT id FROM "Log" WHERE timestamp < $1::timestamptz - make_interval(days => $2::int) LIMIT 10000)`,
    [now, policy.logDays],
  );
  return { flowRuns: runs.rowCount ?? 0, logs: logs.rowCount ?? 0 };
}
