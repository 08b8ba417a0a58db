// The schedules loop: turns deployment schedules into SCHEDULED flow runs ahead of time, and with
// catchup off skips the overdue runs a newer slot supersedes.
import { nextSlots } from "@flowplane/core";
import type { Resources } from "../resources.ts";
import { proposeForLockedRuns } from "../run-state/changes.ts";
import { runColumns } from "../run-state/rows.ts";
import { cancelCollidingRuns } from "./collisions.ts";
import { insertRuns, SCHEDULE_COLUMNS, specOf, type NewRun, type ScheduleRow } from "./schedule-rows.ts";

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
  res: Resources,
  config: SchedulerConfig = defaultSchedulerConfig,
  now = new Date(),
): Promise<ScheduleResult> {
  const horizon = new Date(now.getTime() + config.horizonSeconds * 1000);
  const result: ScheduleResult = { schedules: 0, runsCreated: 0, runsSkipped: 0, runsCancelled: 0 };
  let afterId = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const { rows } = await res.pool.query<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS}
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
    result.runsCreated += await insertRuns(res, runs, now, { autoScheduled: true });
    await res.pool.query(
      `UPDATE "DeploymentSchedule" s SET "scheduledThrough" = v.t FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, t) WHERE s.id = v.id`,
      [[...through.keys()], [...through.values()]],
    );
  }
  result.runsSkipped = await skipSupersededRuns(res, now);
  result.runsCancelled = await cancelCollidingRuns(res, now);
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

const SKIPPED_MESSAGE = "skipped: a newer slot is due and the deployment does not catch up";

/**
 * With catchup off, an auto-scheduled run still waiting when a newer slot of its schedule is due
 * is skipped (CANCELLED "Skipped"): after downtime only the latest slot runs, not the backlog.
 */
function skipSupersededRuns(res: Resources, now: Date): Promise<number> {
  return proposeForLockedRuns(
    res,
    {
      text: `SELECT ${runColumns("fr")}, fr.xmin::text AS version
               FROM "FlowRun" fr JOIN "Deployment" d ON d.id = fr."deploymentId"
              WHERE NOT d.catchup AND fr."autoScheduled" AND fr."stateType" = 'SCHEDULED' AND fr."expectedStartTime" < $1
                AND EXISTS (SELECT 1 FROM "FlowRun" newer WHERE newer."scheduleId" = fr."scheduleId" AND newer."autoScheduled"
                              AND newer."expectedStartTime" > fr."expectedStartTime" AND newer."expectedStartTime" <= $1)
              LIMIT 1000 FOR UPDATE OF fr SKIP LOCKED`,
      values: [now],
    },
    () => ({ type: "CANCELLED", name: "Skipped", message: SKIPPED_MESSAGE }),
    now,
  );
}
