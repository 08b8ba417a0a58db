// What the schedule loops share: a schedule as they read it, and the insert of runs for slots.
// Every run they create carries the idempotency key of its (deployment, schedule, slot), so
// several replicas scheduling at once — or a backfill over slots the scheduler already covered —
// never create a second run for a slot: the unique index drops them.
import { partitionKeyFor, scheduleSlotKey, uuidv7, type ScheduleSpec } from "@flowplane/core";
import type { FlowplaneEvent } from "../events.ts";
import type { Resources } from "../resources.ts";
import { generateRunName } from "../run-names.ts";

export interface ScheduleRow {
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

/** The columns of a ScheduleRow, from `"DeploymentSchedule" s JOIN "Deployment" d`. */
export const SCHEDULE_COLUMNS = `s.id, s."workspaceId", s."deploymentId", d."flowId", s.kind, s.cron, s."intervalSeconds", s."anchorDate", s.rrule, s.timezone,
            s.parameters, s."scheduledThrough", d.catchup, d.parameters AS "deploymentParameters", d.tags, d."workPoolId", d."workQueueId", d."currentVersionId"`;

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

export interface NewRun {
  schedule: ScheduleRow;
  slot: Date;
}

/**
 * Inserts SCHEDULED runs for slots in one statement (runs and their first history rows); returns
 * how many were new (existing slot keys are left alone). Their events go out after the commit.
 */
export async function insertRuns(
  res: Resources,
  runs: NewRun[],
  now: Date,
  options: { autoScheduled: boolean; partitionParameter?: boolean },
): Promise<number> {
  if (runs.length === 0) return 0;
  const { rows } = await res.pool.query<{
    id: string;
    workspaceId: string;
    workPoolId: string | null;
    deploymentId: string;
  }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[], $9::uuid[],
                            $10::jsonb[], $11::jsonb[], $12::timestamptz[], $13::text[], $14::text[], $17::uuid[])
         AS u(id, workspace_id, flow_id, name, deployment_id, version_id, schedule_id, pool_id, queue_id, parameters, tags, slot, slot_key, partition_key, state_id)
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
       RETURNING id, "workspaceId", "workPoolId", "deploymentId", "expectedStartTime"
     ),
     history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, details)
       SELECT u.state_id, i."workspaceId", i.id, 'SCHEDULED', 'Scheduled', $15, jsonb_build_object('scheduledTime', i."expectedStartTime")
         FROM inserted i JOIN input u ON u.id = i.id
     )
     SELECT id, "workspaceId", "workPoolId", "deploymentId" FROM inserted`,
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
      runs.map(() => uuidv7()),
    ],
  );
  // Dashboards show the new runs; waiting workers recompute when the next run is due.
  const events: FlowplaneEvent[] = rows.map((r) => ({
    kind: "flow_run",
    workspaceId: r.workspaceId,
    flowRunId: r.id,
    stateType: "SCHEDULED",
    stateName: "Scheduled",
    workPoolId: r.workPoolId,
    deploymentId: r.deploymentId,
  }));
  const pools = new Map(rows.filter((r) => r.workPoolId).map((r) => [r.workPoolId!, r.workspaceId]));
  for (const [workPoolId, workspaceId] of pools) events.push({ kind: "runs_ready", workspaceId, workPoolId });
  res.publisher.publish(events);
  return rows.length;
}
