// Built-in liveness: silent workers go OFFLINE, RUNNING runs whose heartbeat stopped become
// CRASHED (and the retry rule reschedules them when retries remain), and claims whose
// infrastructure never started go back to SCHEDULED. Each sweep is a bounded batch and safe to
// run on every replica at once (rows are taken with SKIP LOCKED or proposed under the row lock).
import type pg from "pg";
import { releaseExpiredClaims } from "./claims.ts";
import { proposeFlowRunState } from "./flow-runs.ts";

export interface LivenessConfig {
  /** A worker silent for this many of its heartbeat intervals goes offline. */
  missedWorkerHeartbeats: number;
  /** A RUNNING flow run with no heartbeat for this long is crashed. */
  runHeartbeatTimeoutSeconds: number;
}

export interface SweepResult {
  workersOffline: number;
  runsCrashed: number;
  claimsReleased: number;
}

export async function sweepLiveness(pool: pg.Pool, config: LivenessConfig, now = new Date()): Promise<SweepResult> {
  const offline = await pool.query(
    `UPDATE "Worker" SET status = 'OFFLINE'
      WHERE status = 'ONLINE' AND "lastHeartbeatAt" < $1::timestamptz - make_interval(secs => "heartbeatIntervalSeconds" * $2::int)`,
    [now, config.missedWorkerHeartbeats],
  );
  const silent = await pool.query<{ id: string; workspaceId: string; heartbeatAt: Date }>(
    `SELECT id, "workspaceId", "heartbeatAt" FROM "FlowRun"
      WHERE "stateType" = 'RUNNING' AND "heartbeatAt" < $1::timestamptz - make_interval(secs => $2::int)
      ORDER BY "heartbeatAt" LIMIT 200`,
    [now, config.runHeartbeatTimeoutSeconds],
  );
  let crashed = 0;
  for (const run of silent.rows) {
    const outcome = await proposeFlowRunState(pool, run.workspaceId, run.id, {
      type: "CRASHED",
      message: `no heartbeat since ${run.heartbeatAt.toISOString()}: the process running the flow is gone`,
    });
    if (outcome.decision === "ACCEPT" || outcome.decision === "REJECT") crashed++;
  }
  const released = await releaseExpiredClaims(pool, now);
  return { workersOffline: offline.rowCount ?? 0, runsCrashed: crashed, claimsReleased: released };
}

/** Records a flow run's heartbeat; says whether the run has been asked to cancel. */
export async function heartbeatFlowRun(
  pool: pg.Pool,
  workspaceId: string,
  flowRunId: string,
): Promise<{ found: boolean; cancelRequested: boolean; stateType: string | null }> {
  const { rows } = await pool.query<{ stateType: string }>(
    `UPDATE "FlowRun" SET "heartbeatAt" = now() WHERE id = $1 AND "workspaceId" = $2 RETURNING "stateType"`,
    [flowRunId, workspaceId],
  );
  const stateType = rows[0]?.stateType ?? null;
  return { found: stateType !== null, cancelRequested: stateType === "CANCELLING", stateType };
}
