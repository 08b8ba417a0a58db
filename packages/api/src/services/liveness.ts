// Built-in liveness: silent workers go OFFLINE, RUNNING runs whose heartbeat stopped become
// CRASHED (and the retry rule reschedules them when retries remain), and claims whose
// infrastructure never started go back to SCHEDULED. Each sweep is a bounded batch and safe to
// run on every replica at once (rows are taken with SKIP LOCKED).
import type { Resources } from "./resources.ts";
import { releaseExpiredClaims } from "./claims.ts";
import { proposeForLockedRuns } from "./run-state/changes.ts";
import { RUN_COLUMNS, type VersionedRun } from "./run-state/rows.ts";

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

export async function sweepLiveness(res: Resources, config: LivenessConfig, now = new Date()): Promise<SweepResult> {
  const offline = await res.pool.query(
    `UPDATE "Worker" SET status = 'OFFLINE'
      WHERE status = 'ONLINE' AND "lastHeartbeatAt" < $1::timestamptz - make_interval(secs => "heartbeatIntervalSeconds" * $2::int)`,
    [now, config.missedWorkerHeartbeats],
  );
  const crashed = await proposeForLockedRuns<VersionedRun & { heartbeatAt: Date }>(
    res,
    {
      text: `SELECT ${RUN_COLUMNS}, "heartbeatAt", xmin::text AS version FROM "FlowRun"
              WHERE "stateType" = 'RUNNING' AND "heartbeatAt" < $1::timestamptz - make_interval(secs => $2::int)
              ORDER BY "heartbeatAt" LIMIT 200 FOR UPDATE SKIP LOCKED`,
      values: [now, config.runHeartbeatTimeoutSeconds],
    },
    (run) => ({
      type: "CRASHED",
      message: `no heartbeat since ${run.heartbeatAt.toISOString()}: the process running the flow is gone`,
    }),
    now,
  );
  const released = await releaseExpiredClaims(res, now);
  return { workersOffline: offline.rowCount ?? 0, runsCrashed: crashed, claimsReleased: released };
}
