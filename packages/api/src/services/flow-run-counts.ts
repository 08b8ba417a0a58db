// Run counts per state over time, for the runs chart. Counting FlowRun rows directly costs time in
// proportion to the runs in the window (half a second for 30 days at a million runs), so long
// windows read pre-aggregated hourly counts instead:
//
//   FlowRun ──statement triggers──▶ FlowRunCountDelta ──compaction──▶ FlowRunCountRollup
//
// The triggers (prisma/migrations/*_flow_run_counts) append +k/-k per (workspace, flow,
// deployment, hour, state) in the transaction that changes the runs; the delta table has no unique
// key, so concurrent state changes never wait on a shared counter row. Compaction folds the deltas
// into the rollup. A count reads rollup + pending deltas for the whole hours of the window and the
// FlowRun rows themselves for the partial hours at its edges, all in one statement (one snapshot),
// so the answer is exactly what a GROUP BY over FlowRun would say at that moment.
import type pg from "pg";
import type { StateType } from "@flowplane/core";
import type { Resources } from "./resources.ts";
import { inTransaction } from "./sql.ts";

export const HOUR_MS = 3_600_000;
/** Windows this short (or buckets under an hour) count FlowRun rows directly: few rows, any bucket width. */
export const RAW_MAX_SPAN_MS = 6 * HOUR_MS;
/** Runs without a deployment are counted under this id (see the migration). */
export const NO_DEPLOYMENT = "00000000-0000-0000-0000-000000000000";

export interface CountsFilter {
  states?: StateType[] | undefined;
  flowId?: string | undefined;
  flowName?: string | undefined;
  deploymentId?: string | undefined;
}

export interface BucketPlan {
  /** Start of bucket 0 (ms since epoch); runs are counted in [origin, to). */
  origin: number;
  bucketMs: number;
  buckets: number;
  /** Whether whole hours come from the rollup. */
  rollup: boolean;
}

/**
 * The chart's buckets for [from, to) split `buckets` ways. Long windows with buckets of an hour or
 * more use the hourly rollup, so the grid must put each hour in exactly one bucket: the width is
 * rounded up to whole hours and the start down to the hour (UTC), which can add a bucket at the
 * end. Short windows keep the width asked for and count raw rows.
 */
export function planBuckets(from: number, to: number, buckets: number): BucketPlan {
  const span = to - from;
  const width = Math.max(1, span / buckets);
  if (span <= RAW_MAX_SPAN_MS || width < HOUR_MS) return { origin: from, bucketMs: width, buckets, rollup: false };
  // The tolerance keeps a width that is a whole number of hours up to float error from rounding up.
  const bucketMs = Math.ceil(width / HOUR_MS - 1e-9) * HOUR_MS;
  const origin = Math.floor(from / HOUR_MS) * HOUR_MS;
  return { origin, bucketMs, buckets: Math.ceil((to - origin) / bucketMs), rollup: true };
}

export interface CountRow {
  bucket: number;
  stateType: StateType;
  n: number;
}

export interface FlowRunCounts {
  /** Start of bucket 0, the window's effective start. */
  from: string;
  to: string;
  bucketMs: number;
  buckets: number;
  rows: CountRow[];
}

export async function countFlowRuns(
  res: Pick<Resources, "pool">,
  workspaceId: string,
  window: { from: Date; to: Date; buckets: number },
  filter: CountsFilter = {},
): Promise<FlowRunCounts> {
  const to = window.to.getTime();
  const plan = planBuckets(window.from.getTime(), to, window.buckets);
  const params: unknown[] = [workspaceId];
  const param = (value: unknown) => `$${params.push(value)}`;

  // The same filters on FlowRun and on the count tables: both carry the filtered columns.
  const conditions: string[] = [];
  if (filter.states?.length) conditions.push(`"stateType" = ANY(${param(filter.states)}::"StateType"[])`);
  if (filter.flowId) conditions.push(`"flowId" = ${param(filter.flowId)}::uuid`);
  if (filter.flowName)
    conditions.push(`"flowId" = (SELECT id FROM "Flow" WHERE "workspaceId" = $1 AND name = ${param(filter.flowName)})`);
  if (filter.deploymentId) conditions.push(`"deploymentId" = ${param(filter.deploymentId)}::uuid`);
  const where = conditions.map((c) => ` AND ${c}`).join("");

  // The window's runs through the time index, then the filters. OFFSET 0 keeps the planner from
  // pushing the filters down: it would otherwise walk every run of a flow (its idempotency-key
  // index) over all time and drop those outside the window, 80 ms instead of 7 for a day at a
  // million runs. Raw windows are short, so the time range is the bound worth relying on.
  const raw = (lo: number, hi: number) =>
    `SELECT t, "stateType", 1 AS n FROM (
       SELECT "expectedStartTime" AS t, "stateType", "flowId", "deploymentId" FROM "FlowRun"
        WHERE "workspaceId" = $1 AND "expectedStartTime" >= ${param(new Date(lo))}::timestamptz AND "expectedStartTime" < ${param(new Date(hi))}::timestamptz OFFSET 0) r
      WHERE true${where}`;
  const branches: string[] = [];
  // Whole hours of the window from the count tables, the partial hours at either end from FlowRun.
  const firstHour = Math.ceil(plan.origin / HOUR_MS) * HOUR_MS;
  const lastHour = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (plan.rollup && firstHour < lastHour) {
    const lo = param(new Date(firstHour));
    const hi = param(new Date(lastHour));
    const hours = ["FlowRunCountRollup", "FlowRunCountDelta"].map(
      (table) =>
        `SELECT bucket, "stateType", n FROM "${table}" WHERE "workspaceId" = $1 AND bucket >= ${lo}::timestamptz AND bucket < ${hi}::timestamptz${where}`,
    );
    // Summed per hour first: the bucket arithmetic below then runs once per hour and state, not per
    // flow and deployment too.
    branches.push(
      `SELECT bucket AS t, "stateType", sum(n)::int AS n FROM (${hours.join(" UNION ALL ")}) h GROUP BY 1, 2`,
    );
    if (plan.origin < firstHour) branches.push(raw(plan.origin, firstHour));
    if (lastHour < to) branches.push(raw(lastHour, to));
  } else if (plan.origin < to) {
    branches.push(raw(plan.origin, to));
  }

  let rows: CountRow[] = [];
  if (branches.length > 0) {
    const origin = param(new Date(plan.origin));
    const width = param(plan.bucketMs);
    ({ rows } = await res.pool.query<CountRow>(
      // Whole milliseconds since the origin (rounding away float error), divided as the dashboard
      // divides them; float8 because numeric arithmetic per raw row is measurably slower.
      `SELECT floor(round(date_part('epoch', t - ${origin}::timestamptz) * 1000) / ${width}::float8)::int AS bucket, "stateType", sum(n)::int AS n
         FROM (${branches.join("\n UNION ALL ")}) c
        GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`,
      params,
    ));
  }
  return {
    from: new Date(plan.origin).toISOString(),
    to: new Date(to).toISOString(),
    bucketMs: plan.bucketMs,
    buckets: plan.buckets,
    rows,
  };
}

export interface CompactionResult {
  /** Another replica was compacting; this pass did nothing. */
  skipped: boolean;
  /** Delta rows folded into the rollup. */
  deltas: number;
  /** Rollup rows removed because their count reached zero. */
  removed: number;
}

/**
 * Folds every committed delta into the rollup and removes rollup rows that reached zero (runs
 * deleted, or moved to another state or hour). One replica at a time: without the lock two passes
 * would be correct (each delta row is deleted by one of them) but would queue on the same rollup
 * rows and could deadlock upserting them in different orders; skipping is cheaper than waiting.
 * Deltas of transactions still open are invisible here and wait for the next pass; readers see
 * either the deltas or the rollup they became, never both, since both change in this transaction.
 */
export async function compactFlowRunCounts(pool: pg.Pool): Promise<CompactionResult> {
  return inTransaction(pool, async (client) => {
    const { rows: lock } = await client.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtextextended('flowplane:flow-run-counts', 0)) AS ok`,
    );
    if (!lock[0]?.ok) return { skipped: true, deltas: 0, removed: 0 };
    const { rows } = await client.query<{ deltas: number; zero: string[] }>(
      `WITH moved AS (
         DELETE FROM "FlowRunCountDelta" RETURNING "workspaceId", "flowId", "deploymentId", bucket, "stateType", n
       ), summed AS (
         SELECT "workspaceId", "flowId", "deploymentId", bucket, "stateType", sum(n)::int AS n
           FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
       ), merged AS (
         INSERT INTO "FlowRunCountRollup" AS r ("workspaceId", "flowId", "deploymentId", bucket, "stateType", n)
         SELECT "workspaceId", "flowId", "deploymentId", bucket, "stateType", n FROM summed
         ON CONFLICT ("workspaceId", bucket, "flowId", "deploymentId", "stateType") DO UPDATE SET n = r.n + excluded.n
         RETURNING r.id, r.n
       )
       SELECT (SELECT count(*) FROM moved)::int AS deltas,
              COALESCE((SELECT array_agg(id) FROM merged WHERE n = 0), '{}') AS zero`,
    );
    const { deltas = 0, zero = [] } = rows[0] ?? {};
    // A separate statement: one statement cannot update a row and then delete it.
    const removed =
      zero.length > 0
        ? ((await client.query(`DELETE FROM "FlowRunCountRollup" WHERE id = ANY($1::uuid[]) AND n = 0`, [zero]))
            .rowCount ?? 0)
        : 0;
    return { skipped: false, deltas, removed };
  });
}
