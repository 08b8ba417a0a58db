// The claim: one statement selects a pool's due SCHEDULED runs with FOR UPDATE SKIP LOCKED and
// moves them to PENDING for the calling worker, writing their PENDING states into the history.
// Concurrent claimers therefore never see the same run. Pools without limits claim fully in
// parallel, with one autocommit statement that also checks the pool. Concurrency limits (pool,
// queue, deployment) are counted inside the claiming statement; since two claimers could each
// count the same active runs, a pool that has any limit serialises its claims with a
// transaction-scoped advisory lock. The claimed runs' live-update events go out after the commit
// (EventPublisher explains why). The claim is the one state change decided in SQL: its WHERE is the
// rules' NoSecondClaim (only SCHEDULED runs), and its columns change through stateAssignments.
import { uuidv7, type RetryPolicy } from "@flowplane/core";
import { ApiError } from "../errors.ts";
import type { Resources } from "./resources.ts";
import { proposeForLockedRuns, rememberWrittenRuns, stateEvents } from "./run-state/changes.ts";
import { ACTIVE_STATES_SQL, RUN_COLUMNS } from "./run-state/rows.ts";
import { stateAssignments } from "./run-state/statements.ts";
import { inTransaction } from "./sql.ts";

export interface ClaimedRun {
  id: string;
  name: string;
  flowId: string;
  flowName: string;
  deploymentId: string | null;
  deploymentName: string | null;
  deploymentVersionId: string | null;
  entrypoint: string | null;
  path: string | null;
  /** The deployment's pull steps as written (the runner resolves and runs them); null: run in `path`. */
  pullSteps: Record<string, unknown>[] | null;
  /** The code version the pull steps fetch (recorded on the run by this claim). */
  codeVersion: string | null;
  parameters: Record<string, unknown>;
  runJobVariables: Record<string, unknown>;
  deploymentJobVariables: Record<string, unknown>;
  expectedStartTime: string;
  nextScheduledTime: string | null;
  partitionKey: string | null;
  workQueueName: string | null;
  /** Present it with every write for this attempt (states, heartbeats, infrastructure report). */
  claimToken: string;
  /** How often the run must heartbeat: a fraction of the server's run heartbeat timeout. */
  heartbeatIntervalSeconds: number;
  /**
   * How long the claim lasts before the run goes back to the queue unless it starts or the worker
   * extends it (workers.extendClaim) while its infrastructure is provisioning.
   */
  claimTimeoutSeconds: number;
}

/**
 * A claimed run as the worker receives it: with the attempt's run token, the only API credential
 * the worker passes to the run (auth/run-tokens.ts). The API signs it as it delivers the claim.
 */
export interface DeliveredRun extends ClaimedRun {
  runToken: string;
  runTokenExpiresAt: string;
}

/**
 * A run asked to cancel that this worker must stop: one it holds, or one held by an OFFLINE worker
 * of its pool whose infrastructure is known (the launching worker died or restarted under another
 * name; anyone of the pool can stop it from its id). The claim token is the run's current one.
 */
export interface CancelRequest {
  id: string;
  claimToken: string | null;
  /** Where the run's infrastructure is (RunningJob.id as reported), when it was reported. */
  infrastructureId: string | null;
}

export interface ClaimRequest {
  workspaceId: string;
  workPoolId: string;
  workerId: string;
  limit: number;
  prefetchSeconds: number;
  claimTimeoutSeconds: number;
  /** Told to the worker with each claimed run (see ClaimedRun). */
  heartbeatIntervalSeconds: number;
  /** Only these queues (by name); all of the pool's queues when empty. */
  queueNames?: string[];
}

export async function claimRuns(res: Resources, req: ClaimRequest): Promise<ClaimedRun[]> {
  if (req.limit <= 0) return [];
  return (await claimWork(res, req)).runs;
}

export interface ClaimedWork {
  runs: ClaimedRun[];
  /** Runs this worker holds that were asked to cancel (read by the same statement). */
  cancel: CancelRequest[];
}

/** Claims up to `req.limit` (> 0) runs for the worker, and reads which of its runs must stop. */
export async function claimWork(res: Resources, req: ClaimRequest): Promise<ClaimedWork> {
  const pool = res.pool;
  const now = new Date();
  // The parameters of both claim statements ($1 to $9). The history ids for the runs this claim
  // may take are generated here so they are uuidv7 like every other.
  const values = [
    req.workPoolId,
    now,
    req.prefetchSeconds,
    req.limit,
    req.workerId,
    req.claimTimeoutSeconds,
    req.queueNames ?? [],
    req.workspaceId,
    Array.from({ length: req.limit }, () => uuidv7()),
  ];
  // Pools without limits (the common case): one autocommit statement checks the pool and claims.
  const { rows } = await pool.query<
    ClaimRow & { found: boolean; paused: boolean; limited: boolean; cancel: CancelRequest[] }
  >({ name: "flowplane_claim_unlimited", text: UNLIMITED_CLAIM, values });
  const head = rows[0];
  if (!head) throw new ApiError("NOT_FOUND", `work pool ${req.workPoolId} not found`);
  const cancel = head.cancel;
  if (head.paused) return { runs: [], cancel };
  if (!head.limited) {
    const claimed = rows.filter((r) => r.id !== null);
    announce(res, req.workerId, claimed);
    return { runs: claimed.map((c) => toClaimedRun(c, req)), cancel };
  }
  // A limit applies: count active runs and claim under the pool's advisory lock.
  const claimed = await inTransaction(pool, async (sql) => {
    await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`claim:${req.workPoolId}`]);
    const limited = await sql.query<ClaimRow>(LIMITED_CLAIM, values);
    return limited.rows;
  });
  announce(res, req.workerId, claimed);
  return { runs: claimed.map((c) => toClaimedRun(c, req)), cancel };
}

/** A claimed run as the statement returns it: the worker's view plus the row as written (for RecentRuns). */
type ClaimRow = Omit<
  ClaimedRun,
  "expectedStartTime" | "nextScheduledTime" | "heartbeatIntervalSeconds" | "claimTimeoutSeconds"
> & {
  workspaceId: string;
  workPoolId: string;
  expectedStartTime: Date;
  nextScheduledTime: Date | null;
  rowStateTimestamp: Date;
  rowRunCount: number;
  rowRetryPolicy: RetryPolicy;
  rowVersion: string;
};

function toClaimedRun(
  row: ClaimRow & { found?: boolean; paused?: boolean; limited?: boolean; cancel?: CancelRequest[] },
  req: Pick<ClaimRequest, "heartbeatIntervalSeconds" | "claimTimeoutSeconds">,
): ClaimedRun {
  const {
    workspaceId: _workspace,
    workPoolId: _pool,
    found: _found,
    paused: _paused,
    limited: _limited,
    cancel: _cancel,
    rowStateTimestamp: _ts,
    rowRunCount: _count,
    rowRetryPolicy: _policy,
    rowVersion: _version,
    ...run
  } = row;
  return {
    ...run,
    heartbeatIntervalSeconds: req.heartbeatIntervalSeconds,
    claimTimeoutSeconds: req.claimTimeoutSeconds,
    expectedStartTime: new Date(run.expectedStartTime).toISOString(),
    nextScheduledTime: run.nextScheduledTime ? new Date(run.nextScheduledTime).toISOString() : null,
  };
}

/**
 * After the claim committed: remember the runs as written (the worker's RUNNING proposal then
 * skips its read) and send their live-update events.
 */
function announce(res: Resources, workerId: string, claimed: ClaimRow[]): void {
  rememberWrittenRuns(
    res,
    claimed.map((c) => ({
      id: c.id,
      workspaceId: c.workspaceId,
      stateType: "PENDING",
      stateName: "Pending",
      stateTimestamp: c.rowStateTimestamp,
      stateMessage: null,
      stateTransitionId: null,
      runCount: c.rowRunCount,
      retryPolicy: c.rowRetryPolicy,
      nextScheduledTime: c.nextScheduledTime,
      workPoolId: c.workPoolId,
      deploymentId: c.deploymentId,
      workerId,
      claimToken: c.claimToken,
      version: c.rowVersion,
    })),
  );
  res.publisher.publish(claimed.flatMap((c) => stateEvents({ ...c, workerId }, { type: "PENDING", name: "Pending" })));
}

/**
 * The runs a worker must stop, as a JSON array of CancelRequest (`worker`: its parameter): its own
 * CANCELLING runs, and the CANCELLING runs of its pool's OFFLINE workers whose infrastructure id is
 * known. Without the second part a run whose worker died or came back under a new name would stay
 * CANCELLING (or be cancelled by the liveness sweep while its task kept running). Both parts read
 * the partial index on CANCELLING runs by worker, so the cost is a probe per offline worker of the
 * pool, never a scan of its runs.
 *
 * Where a job id names a host or an engine (a pid, a container id: see the worker's
 * `jobIdPrefix` metadata), an OFFLINE worker's run whose id starts with that worker's prefix goes
 * only to workers with the same prefix: another host could not stop it (its worker refuses, and
 * would hear of it on every poll). Any other id (no prefix known, an id from before ids named
 * their place, a pool whose ids name none) goes to every live worker of the pool, as before.
 */
export function cancelRequests(worker: string): string {
  const fields = `json_build_object('id', a.id, 'claimToken', a."claimToken", 'infrastructureId', a."infrastructureId")`;
  return `(SELECT COALESCE(json_agg(r.request), '[]'::json) FROM (
             SELECT ${fields} AS request FROM "FlowRun" a WHERE a."workerId" = ${worker} AND a."stateType" = 'CANCELLING'
             UNION ALL
             SELECT ${fields} FROM "Worker" me
               JOIN "Worker" h ON h."workPoolId" = me."workPoolId" AND h.status = 'OFFLINE' AND h.id <> me.id
               JOIN "FlowRun" a ON a."workerId" = h.id AND a."stateType" = 'CANCELLING' AND a."infrastructureId" IS NOT NULL
              WHERE me.id = ${worker}
                AND NOT COALESCE(starts_with(a."infrastructureId", h.metadata->>'jobIdPrefix')
                                 AND h.metadata->>'jobIdPrefix' IS DISTINCT FROM me.metadata->>'jobIdPrefix', false)
           ) r)`;
}

/** What a claim returns per run (the same for both claim statements). */
const CLAIMED_COLUMNS = `c.id, c.name, c."flowId", f.name AS "flowName", c."deploymentId", d.name AS "deploymentName", c."deploymentVersionId",
              d.entrypoint, d.path, d."pullSteps", c."codeVersion", c.parameters, c."jobVariables" AS "runJobVariables",
              COALESCE(d."jobVariables", '{}'::jsonb) AS "deploymentJobVariables",
              c."expectedStartTime", c."nextScheduledTime", c."partitionKey", q.name AS "workQueueName", c."claimToken", c."workPoolId", c."workspaceId",
              c."stateTimestamp" AS "rowStateTimestamp", c."runCount" AS "rowRunCount", c."retryPolicy" AS "rowRetryPolicy", c.version AS "rowVersion"`;

/**
 * Moves the chosen runs to PENDING for the worker, with their PENDING states in the history.
 * Parameters: $2 now, $5 worker, $6 claim timeout seconds, $9 history ids (one per run at most).
 */
const CLAIM_CHOSEN = `claimed AS (
         UPDATE "FlowRun" fr SET ${stateAssignments({
           type: `'PENDING'::"StateType"`,
           name: "'Pending'",
           // The claim's clock was read before its statement ran: a run created in between (its
           // SCHEDULED stamped later) must still show PENDING after SCHEDULED in its history.
           ts: `GREATEST($2::timestamptz, fr."stateTimestamp" + interval '1 millisecond')`,
           message: "NULL",
           transitionId: "NULL",
           terminal: "false",
           scheduledTime: "NULL",
           claim: { workerId: "$5", expiresAt: "$2::timestamptz + make_interval(secs => $6)" },
         })},
             -- The code this attempt runs: what the deployment's pull steps fetch as of this claim.
             "codeVersion" = (SELECT d."codeVersion" FROM "Deployment" d WHERE d.id = fr."deploymentId")
          FROM chosen WHERE fr.id = chosen.id
         RETURNING fr.*, fr.xmin::text AS version
       ),
       history AS (
         INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, details)
         SELECT ($9::uuid[])[row_number() OVER (ORDER BY c.id)], c."workspaceId", c.id, 'PENDING', 'Pending', c."stateTimestamp", jsonb_build_object('workerId', $5::text)
           FROM claimed c
       )`;

/**
 * The claim for a pool without concurrency limits, in one statement: it reads the pool (one row
 * even when nothing is claimed: found, paused, limited, and the worker's runs asked to cancel) and
 * claims only from an unpaused pool that has no limit; a limited pool's caller claims again with
 * LIMITED_CLAIM under the lock. With no limits to count, the due runs are taken in priority order
 * straight into the update (no over-fetch, no window functions).
 */
const UNLIMITED_CLAIM = `WITH wp AS (
         SELECT p.id, p.paused,
                (p."concurrencyLimit" IS NOT NULL
                 OR EXISTS (SELECT 1 FROM "WorkQueue" q WHERE q."workPoolId" = p.id AND q."concurrencyLimit" IS NOT NULL)
                 OR EXISTS (SELECT 1 FROM "Deployment" d WHERE d."workPoolId" = p.id AND d."concurrencyLimit" IS NOT NULL)) AS limited,
                ${cancelRequests("$5")} AS cancel
           FROM "WorkPool" p WHERE p.id = $1 AND p."workspaceId" = $8
       ),
       ${dueRuns("$4", "AND EXISTS (SELECT 1 FROM wp WHERE NOT wp.paused AND NOT wp.limited)")},
       chosen AS (
         SELECT id FROM due ORDER BY priority, "nextScheduledTime", id LIMIT $4
       ),
       ${CLAIM_CHOSEN},
       runs AS (
         SELECT ${CLAIMED_COLUMNS}
           FROM claimed c
           JOIN "Flow" f ON f.id = c."flowId"
           LEFT JOIN "Deployment" d ON d.id = c."deploymentId"
           LEFT JOIN "WorkQueue" q ON q.id = c."workQueueId"
       )
       SELECT true AS found, wp.paused, wp.limited, wp.cancel, runs.*
         FROM wp LEFT JOIN runs ON true
        ORDER BY runs."nextScheduledTime", runs.id`;

/**
 * The CTEs `queues` (the pool's claimable queues) and `due` (up to `limit` due runs of each, and of
 * runs whose queue was deleted, locked with SKIP LOCKED). Walking the queues in priority order and
 * each queue's due runs in time order reads only the runs a claim can take from the due index
 * (pool, queue, time), however long the backlog; sorting the whole pool's backlog by the queues'
 * priority instead read and sorted every due run on every poll. `guard` is a condition every
 * queue must also meet. Parameters: $1 pool, $2 now, $3 prefetch seconds, $7 queue names.
 */
function dueRuns(limit: string, guard: string): string {
  const dueFilter = `fr."workPoolId" = $1 AND fr."stateType" = 'SCHEDULED' AND fr."nextScheduledTime" <= $2::timestamptz + make_interval(secs => $3)`;
  return `queues AS (
         SELECT q.id, q.priority FROM "WorkQueue" q
          WHERE q."workPoolId" = $1 AND NOT q.paused AND (cardinality($7::text[]) = 0 OR q.name = ANY($7::text[])) ${guard}
       ),
       queued AS (
         SELECT r.id, q.priority, r."nextScheduledTime"
           FROM queues q CROSS JOIN LATERAL (
             SELECT fr.id, fr."nextScheduledTime" FROM "FlowRun" fr
              WHERE ${dueFilter} AND fr."workQueueId" = q.id
              ORDER BY fr."nextScheduledTime", fr.id LIMIT ${limit}
              FOR UPDATE OF fr SKIP LOCKED
           ) r
       ),
       unqueued AS (
         SELECT fr.id, 2147483647 AS priority, fr."nextScheduledTime" FROM "FlowRun" fr
          WHERE ${dueFilter} AND fr."workQueueId" IS NULL AND cardinality($7::text[]) = 0 ${guard}
          ORDER BY fr."nextScheduledTime", fr.id LIMIT ${limit}
          FOR UPDATE OF fr SKIP LOCKED
       ),
       due AS (SELECT * FROM queued UNION ALL SELECT * FROM unqueued)`;
}

/**
 * The claim when a limit applies (run under the pool's advisory lock): over-fetch due runs, number
 * them per pool, queue and deployment, and keep those that fit under each limit.
 */
const LIMITED_CLAIM = `WITH ${dueRuns("$4 * 4", "")},
       candidates AS (
         SELECT due.id, fr."deploymentId", fr."workQueueId", due."nextScheduledTime", due.priority
           FROM due JOIN "FlowRun" fr ON fr.id = due.id
          ORDER BY due.priority, due."nextScheduledTime", due.id
          LIMIT $4 * 4
       ),
       numbered AS (
         SELECT c.*,
                row_number() OVER (ORDER BY c.priority, c."nextScheduledTime", c.id) AS pool_n,
                row_number() OVER (PARTITION BY c."workQueueId" ORDER BY c."nextScheduledTime", c.id) AS queue_n,
                row_number() OVER (PARTITION BY c."deploymentId" ORDER BY c."nextScheduledTime", c.id) AS deployment_n
           FROM candidates c
       ),
       chosen AS (
         SELECT n.id
           FROM numbered n
           JOIN "WorkPool" p ON p.id = $1 AND p."workspaceId" = $8
           LEFT JOIN "WorkQueue" q ON q.id = n."workQueueId"
           LEFT JOIN "Deployment" d ON d.id = n."deploymentId"
          WHERE NOT p.paused
            AND (p."concurrencyLimit" IS NULL OR n.pool_n + (
                   SELECT count(*) FROM "FlowRun" a WHERE a."workPoolId" = $1 AND a."stateType" IN ${ACTIVE_STATES_SQL}) <= p."concurrencyLimit")
            AND (q."concurrencyLimit" IS NULL OR n.queue_n + (
                   SELECT count(*) FROM "FlowRun" a WHERE a."workPoolId" = $1 AND a."workQueueId" = q.id AND a."stateType" IN ${ACTIVE_STATES_SQL}) <= q."concurrencyLimit")
            AND (d."concurrencyLimit" IS NULL OR n.deployment_n + (
                   SELECT count(*) FROM "FlowRun" a WHERE a."deploymentId" = d.id AND a."stateType" IN ${ACTIVE_STATES_SQL}) <= d."concurrencyLimit")
          ORDER BY n.pool_n
          LIMIT $4
       ),
       ${CLAIM_CHOSEN}
       SELECT ${CLAIMED_COLUMNS}
         FROM claimed c
         JOIN "Flow" f ON f.id = c."flowId"
         LEFT JOIN "Deployment" d ON d.id = c."deploymentId"
         LEFT JOIN "WorkQueue" q ON q.id = c."workQueueId"
        ORDER BY c."nextScheduledTime", c.id`;

/** When the pool's next SCHEDULED run becomes due, or null if none is waiting. */
export async function nextDueTime(res: Resources, workPoolId: string): Promise<Date | null> {
  const { rows } = await res.pool.query<{ next: Date | null }>(
    // Per queue, so each minimum is the first entry of the due index (pool, queue, time).
    `SELECT min(n) AS next FROM (
       SELECT (SELECT min(fr."nextScheduledTime") FROM "FlowRun" fr WHERE fr."workPoolId" = $1 AND fr."workQueueId" = q.id AND fr."stateType" = 'SCHEDULED') AS n
         FROM "WorkQueue" q WHERE q."workPoolId" = $1
       UNION ALL
       SELECT min("nextScheduledTime") FROM "FlowRun" WHERE "workPoolId" = $1 AND "workQueueId" IS NULL AND "stateType" = 'SCHEDULED'
     ) m`,
    [workPoolId],
  );
  return rows[0]?.next ?? null;
}

/** Claims whose infrastructure never reported RUNNING go back to SCHEDULED for another worker. */
export function releaseExpiredClaims(res: Resources, now = new Date()): Promise<number> {
  return releaseClaims(res, { expiredBefore: now }, "claim expired before the run started; rescheduled", now);
}

/** Claims a worker never received (its long-poll was gone when they were made) go back at once. */
export function releaseUndeliveredClaims(res: Resources, workerId: string, flowRunIds: string[]): Promise<number> {
  return releaseClaims(res, { workerId, flowRunIds }, "claim not delivered to the worker; rescheduled");
}

/** Proposes SCHEDULED (claimable now) for PENDING runs whose claim is void. */
function releaseClaims(
  res: Resources,
  which: { expiredBefore: Date } | { workerId: string; flowRunIds: string[] },
  message: string,
  now = new Date(),
): Promise<number> {
  const [filter, values] =
    "expiredBefore" in which
      ? [`"claimExpiresAt" < $1`, [which.expiredBefore]]
      : [`"workerId" = $1 AND id = ANY($2::uuid[])`, [which.workerId, which.flowRunIds]];
  return proposeForLockedRuns(
    res,
    {
      text: `SELECT ${RUN_COLUMNS}, xmin::text AS version FROM "FlowRun" WHERE "stateType" = 'PENDING' AND ${filter}
              ORDER BY "claimExpiresAt" LIMIT 500 FOR UPDATE SKIP LOCKED`,
      values,
    },
    () => ({ type: "SCHEDULED", message, details: { scheduledTime: now.toISOString() } }),
    now,
  );
}
