// Built-in liveness: no run waits for ever. Silent workers go OFFLINE; RUNNING runs whose
// heartbeat stopped become CRASHED (and the retry rule reschedules them when retries remain);
// claims whose infrastructure never started go back to SCHEDULED; runs held by a worker that went
// offline are resolved (a claimed run is released, a cancelling one with nothing to stop is
// cancelled: nothing else would ever move them); a PAUSED run whose pause timeout passed fails. Each sweep is a bounded
// batch and safe to run on every replica at once (rows are taken with SKIP LOCKED).
import type { Resources } from "./resources.ts";
import { releaseExpiredClaims } from "./claims.ts";
import { proposeForLockedRuns } from "./run-state/changes.ts";
import { RUN_COLUMNS, runColumns, type VersionedRun } from "./run-state/rows.ts";

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
  /** Runs whose holder went offline or whose pause timed out, moved on. */
  runsResolved: number;
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
  const resolved =
    (await resolveOrphanedRuns(res, now, config.runHeartbeatTimeoutSeconds)) + (await failExpiredPauses(res, now));
  return {
    workersOffline: offline.rowCount ?? 0,
    runsCrashed: crashed,
    claimsReleased: released,
    runsResolved: resolved,
  };
}

/**
 * Runs held by a worker that is OFFLINE: a PENDING claim goes back to the queue at once (rather
 * than after the claim timeout) and a CANCELLING run with no known infrastructure is cancelled
 * (nothing is left to stop). A CANCELLING run whose infrastructure id is known stays CANCELLING:
 * a live worker of its pool stops that infrastructure and then cancels it (claims.cancelRequests),
 * so a task outliving its worker is never reported cancelled while it runs — until its runner has
 * been silent for the run heartbeat timeout (since its last heartbeat, or since the cancel when it
 * never sent one): then nothing of it runs any more (as a silent RUNNING run is taken to have
 * crashed), and it is cancelled. Without that, a run whose job is on a host or engine no live worker
 * of the pool can reach (a pid, a container id) would stay CANCELLING for ever. RUNNING runs are
 * left to the heartbeat timeout: their process may outlive its worker for a moment and still report.
 */
function resolveOrphanedRuns(res: Resources, now: Date, silentSeconds: number): Promise<number> {
  return proposeForLockedRuns<VersionedRun & { silent: boolean }>(
    res,
    {
      text: `SELECT ${runColumns("fr")}, fr.xmin::text AS version, fr."infrastructureId" IS NOT NULL AS silent
               FROM "FlowRun" fr JOIN "Worker" w ON w.id = fr."workerId"
              WHERE (fr."stateType" = 'PENDING'
                     OR (fr."stateType" = 'CANCELLING'
                         AND (fr."infrastructureId" IS NULL
                              OR GREATEST(fr."heartbeatAt", fr."stateTimestamp") < $1::timestamptz - make_interval(secs => $2::int))))
                AND w.status = 'OFFLINE'
              LIMIT 200 FOR UPDATE OF fr SKIP LOCKED`,
      values: [now, silentSeconds],
    },
    (run) =>
      run.stateType === "PENDING"
        ? {
            type: "SCHEDULED",
            message: "the worker that claimed the run went offline before it started; rescheduled",
            details: { scheduledTime: now.toISOString() },
          }
        : {
            type: "CANCELLED",
            message: run.silent
              ? `cancelled: the worker that held the run went offline and its runner has been silent for ${silentSeconds} s`
              : "cancelled: the worker that held the run went offline",
          },
    now,
  );
}

/** A PAUSED run whose pause timeout (details.pauseTimeout of its PAUSED state) has passed fails. */
function failExpiredPauses(res: Resources, now: Date): Promise<number> {
  return proposeForLockedRuns(
    res,
    {
      text: `SELECT ${runColumns("fr")}, fr.xmin::text AS version
               FROM "FlowRun" fr
              WHERE fr."stateType" = 'PAUSED'
                AND (SELECT (s.details->>'pauseTimeout')::timestamptz FROM "State" s
                      WHERE s."flowRunId" = fr.id ORDER BY s.timestamp DESC, s.id DESC LIMIT 1) < $1
              LIMIT 200 FOR UPDATE OF fr SKIP LOCKED`,
      values: [now],
    },
    () => ({ type: "FAILED", message: "the pause timed out before the run was resumed", details: { noRetry: true } }),
    now,
  );
}
