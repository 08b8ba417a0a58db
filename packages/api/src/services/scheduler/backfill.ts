// Backfills: one run per schedule slot of a window, each carrying its partition key.
import { slotsBetween } from "@flowplane/core";
import type { Resources } from "../resources.ts";
import { insertRuns, SCHEDULE_COLUMNS, specOf, type NewRun, type ScheduleRow } from "./schedule-rows.ts";

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
  res: Resources,
  workspaceId: string,
  deploymentId: string,
  from: Date,
  to: Date,
  maxSlots = 10_000,
): Promise<BackfillResult> {
  const { rows } = await res.pool.query<ScheduleRow>(
    `SELECT ${SCHEDULE_COLUMNS}
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
    created += await insertRuns(res, runs.slice(i, i + 1_000), new Date(), {
      autoScheduled: false,
      partitionParameter: true,
    });
  return { slots: runs.length, created, existing: runs.length - created };
}
