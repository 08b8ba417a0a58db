// Workers: registration by heartbeat, the long-poll that hands them runs, and what they must stop.
import { ApiError, notFound } from "../errors.ts";
import { ACTIVE_STATE_TYPES, uuidv7 } from "@flowplane/core";
import {
  cancelRequests,
  claimWork,
  nextDueTime,
  releaseUndeliveredClaims,
  type CancelRequest,
  type ClaimedRun,
} from "./claims.ts";
import type { EventBus } from "./events.ts";
import { ACTIVE_STATES_SQL } from "./run-state/rows.ts";
import type { Resources } from "./resources.ts";

export interface WorkerHeartbeat {
  workPoolName: string;
  workerName: string;
  heartbeatIntervalSeconds: number;
  metadata?: Record<string, unknown>;
}

export interface WorkerIdentity {
  workerId: string;
  workPoolId: string;
  workPoolType: string;
  baseJobTemplate: unknown;
  paused: boolean;
}

/**
 * Registers the worker on its first heartbeat and records that it is alive. A worker (pool and
 * name) belongs to the API key that registered it: another key, even of the same workspace,
 * cannot heartbeat or poll as it (that would let it receive the worker's claims). The insert and
 * the ownership check are one statement, so two keys racing for a new name cannot both win.
 */
export async function heartbeatWorker(
  res: Resources,
  workspaceId: string,
  apiKeyId: string,
  hb: WorkerHeartbeat,
): Promise<WorkerIdentity> {
  const pool = await res.prisma.workPool.findUnique({
    where: { workspaceId_name: { workspaceId, name: hb.workPoolName } },
    select: { id: true, type: true, baseJobTemplate: true, paused: true },
  });
  if (!pool) throw notFound("work pool", hb.workPoolName);
  const { rows } = await res.pool.query<{ id: string }>(
    `INSERT INTO "Worker" (id, "workspaceId", "workPoolId", name, "heartbeatIntervalSeconds", "lastHeartbeatAt", status, metadata, "apiKeyId", "createdAt")
     VALUES ($1, $2, $3, $4, $5, now(), 'ONLINE', COALESCE($6::jsonb, '{}'::jsonb), $7, now())
     ON CONFLICT ("workspaceId", "workPoolId", name) DO UPDATE
        SET "heartbeatIntervalSeconds" = EXCLUDED."heartbeatIntervalSeconds", "lastHeartbeatAt" = now(), status = 'ONLINE',
            metadata = COALESCE($6::jsonb, "Worker".metadata), "apiKeyId" = EXCLUDED."apiKeyId"
      WHERE "Worker"."apiKeyId" IS NULL OR "Worker"."apiKeyId" = EXCLUDED."apiKeyId"
     RETURNING id`,
    [
      uuidv7(),
      workspaceId,
      pool.id,
      hb.workerName,
      hb.heartbeatIntervalSeconds,
      hb.metadata ? JSON.stringify(hb.metadata) : null,
      apiKeyId,
    ],
  );
  const worker = rows[0];
  if (!worker)
    throw new ApiError(
      "FORBIDDEN",
      `workerName: worker "${hb.workerName}" of pool "${hb.workPoolName}" was registered with another API key; ` +
        "use that key or another worker name",
      { path: "workerName" },
    );
  return {
    workerId: worker.id,
    workPoolId: pool.id,
    workPoolType: pool.type,
    baseJobTemplate: pool.baseJobTemplate,
    paused: pool.paused,
  };
}

export interface PollResult {
  runs: ClaimedRun[];
  /** Runs this worker holds that were asked to cancel: stop their infrastructure. */
  cancel: CancelRequest[];
}

async function cancellationsFor(res: Resources, workerId: string): Promise<CancelRequest[]> {
  const { rows } = await res.pool.query<{ cancel: CancelRequest[] }>(`SELECT ${cancelRequests("$1::uuid")} AS cancel`, [
    workerId,
  ]);
  return rows[0]?.cancel ?? [];
}

/**
 * Claims up to `limit` runs for the worker; when there are none, waits (up to `waitMs`) until the
 * server is told a run became claimable in this pool, the earliest scheduled run comes due, or a
 * run of this worker is asked to cancel. We subscribe before claiming so that a run created between
 * the claim and the wait still wakes us.
 */
export async function pollForWork(
  res: Resources,
  events: EventBus,
  req: {
    workspaceId: string;
    workPoolId: string;
    workerId: string;
    limit: number;
    waitMs: number;
    prefetchSeconds: number;
    claimTimeoutSeconds: number;
    heartbeatIntervalSeconds: number;
    queueNames?: string[];
    signal?: AbortSignal;
  },
): Promise<PollResult> {
  const deadline = Date.now() + req.waitMs;
  for (;;) {
    if (req.signal?.aborted) return { runs: [], cancel: [] };
    let woken = false;
    const unsubscribe = events.subscribe((e) => {
      if (
        (e.kind === "runs_ready" && e.workPoolId === req.workPoolId) ||
        (e.kind === "cancel_requested" && e.workerId === req.workerId)
      )
        woken = true;
    });
    try {
      // One statement claims and reads the cancellations (a worker with no free slot only reads).
      const { runs, cancel } =
        req.limit > 0 ? await claimWork(res, req) : { runs: [], cancel: await cancellationsFor(res, req.workerId) };
      if (req.signal?.aborted && runs.length > 0) {
        // The worker hung up while we claimed: nobody will run these, so release them now rather
        // than after the claim timeout.
        await releaseUndeliveredClaims(
          res,
          req.workerId,
          runs.map((r) => r.id),
        );
        return { runs: [], cancel };
      }
      const remaining = deadline - Date.now();
      if (runs.length > 0 || cancel.length > 0 || remaining <= 0 || req.signal?.aborted) return { runs, cancel };
      if (woken) continue;
      const due = await nextDueTime(res, req.workPoolId);
      // A run made claimable while we looked: claim again rather than wait.
      if (woken) continue;
      const untilDue = due ? due.getTime() - req.prefetchSeconds * 1000 - Date.now() : Number.POSITIVE_INFINITY;
      if (untilDue <= 0 && req.limit > 0) {
        // Due runs exist but none could be claimed (limits, or a paused queue): don't spin.
        await events.waitFor(
          (e) =>
            (e.kind === "flow_run" && e.workPoolId === req.workPoolId) ||
            (e.kind === "cancel_requested" && e.workerId === req.workerId),
          Math.min(remaining, 1_000),
          req.signal,
        );
        continue;
      }
      await events.waitFor(
        (e) =>
          (e.kind === "runs_ready" && e.workPoolId === req.workPoolId) ||
          (e.kind === "cancel_requested" && e.workerId === req.workerId),
        Math.min(remaining, Math.max(untilDue, 0)),
        req.signal,
      );
    } finally {
      unsubscribe();
    }
  }
}

/**
 * The worker a poll names: it must exist in the caller's workspace (it registers by heartbeat) and
 * have been registered with the caller's key.
 */
export async function findWorker(
  res: Resources,
  workspaceId: string,
  apiKeyId: string,
  workerId: string,
): Promise<{ id: string; workPoolId: string }> {
  const worker = await res.prisma.worker.findFirst({
    where: { id: workerId, workspaceId },
    select: { id: true, workPoolId: true, apiKeyId: true },
  });
  if (!worker)
    throw new ApiError("NOT_FOUND", `workerId: worker ${workerId} not found; send a heartbeat first`, {
      path: "workerId",
    });
  if (worker.apiKeyId !== apiKeyId)
    throw new ApiError("FORBIDDEN", `workerId: worker ${workerId} was registered with another API key`, {
      path: "workerId",
    });
  return { id: worker.id, workPoolId: worker.workPoolId };
}

/** Workers newest heartbeat first, with how many runs each holds. */
export async function listWorkers(res: Resources, workspaceId: string, workPoolName?: string) {
  const rows = await res.prisma.worker.findMany({
    where: { workspaceId, ...(workPoolName ? { workPool: { name: workPoolName } } : {}) },
    orderBy: { lastHeartbeatAt: "desc" },
    select: {
      id: true,
      name: true,
      status: true,
      lastHeartbeatAt: true,
      heartbeatIntervalSeconds: true,
      workPoolId: true,
      workPool: { select: { name: true } },
      createdAt: true,
      _count: { select: { flowRuns: { where: { stateType: { in: [...ACTIVE_STATE_TYPES] } } } } },
    },
  });
  return rows.map(({ workPool, _count, ...w }) => ({
    ...w,
    workPoolName: workPool.name,
    activeRuns: _count.flowRuns,
    lastHeartbeatAt: w.lastHeartbeatAt.toISOString(),
    createdAt: w.createdAt.toISOString(),
  }));
}

/**
 * Where the pool's runs had their infrastructure: one stored infrastructure id per location, a
 * location being the id up to its last "/" (a task ARN's region, account and cluster; a Kubernetes
 * Job's namespace). A restarted worker searches these for the jobs its name (or an OFFLINE worker)
 * left behind, besides the pool's default location: a deployment's or a run's job variables may
 * have sent them elsewhere. Runs that are live, or were due within `withinDays`, are read through
 * the pool's active-runs index and the workspace's time-window index, so the read stays small
 * however many runs the pool has had; ids without a "/" (pids, container ids) name no location.
 */
export async function infrastructureLocations(
  res: Resources,
  workspaceId: string,
  workPoolId: string,
  withinDays: number,
): Promise<string[]> {
  const { rows } = await res.pool.query<{ infrastructureId: string }>(
    `SELECT DISTINCT ON (location) "infrastructureId"
       FROM (SELECT "infrastructureId", regexp_replace("infrastructureId", '/[^/]*$', '') AS location, "expectedStartTime"
               FROM "FlowRun"
              WHERE "workspaceId" = $1 AND "workPoolId" = $2 AND "infrastructureId" LIKE '%/%'
                AND ("expectedStartTime" > now() - make_interval(days => $3)
                     OR "stateType" IN ${ACTIVE_STATES_SQL})) runs
      ORDER BY location, "expectedStartTime" DESC
      LIMIT 100`,
    [workspaceId, workPoolId, withinDays],
  );
  return rows.map((r) => r.infrastructureId);
}
