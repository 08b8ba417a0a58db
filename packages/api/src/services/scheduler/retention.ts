// The retention loop: deletes what the retention policy no longer keeps, in bounded batches.
// Deleting is not a state change: only finished runs go, with their task runs, states, logs and
// artifacts (the foreign keys cascade).
import { pruneAuditEvents } from "../audit/queries.ts";
import type { Resources } from "../resources.ts";
import { TERMINAL_STATES_SQL } from "../run-state/rows.ts";

export interface RetentionPolicy {
  /** Finished flow runs (with their task runs, states, logs, artifacts) older than this go. */
  flowRunDays: number;
  /** Log lines older than this go, even for runs that are kept. */
  logDays: number;
  /** Audit log entries older than this go (the only way they ever leave; see the AuditEvent trigger). */
  auditDays: number;
}

export async function pruneByRetention(
  res: Resources,
  policy: RetentionPolicy,
  now = new Date(),
): Promise<{ flowRuns: number; logs: number; auditEvents: number }> {
  const runs = await res.pool.query(
    `DELETE FROM "FlowRun" WHERE id IN (
       SELECT id FROM "FlowRun" WHERE "stateType" IN ${TERMINAL_STATES_SQL}
          AND COALESCE("endTime", "stateTimestamp") < $1::timestamptz - make_interval(days => $2::int)
        LIMIT 1000)`,
    [now, policy.flowRunDays],
  );
  const logs = await res.pool.query(
    `DELETE FROM "Log" WHERE id IN (SELECT id FROM "Log" WHERE timestamp < $1::timestamptz - make_interval(days => $2::int) LIMIT 10000)`,
    [now, policy.logDays],
  );
  const auditEvents = await pruneAuditEvents(res, policy.auditDays, now);
  return { flowRuns: runs.rowCount ?? 0, logs: logs.rowCount ?? 0, auditEvents };
}
