// Work pools and their queues: what workers poll, with the numbers the dashboard shows per pool.
import { defaultBaseJobTemplate, validateBaseJobTemplate } from "@flowplane/core";
import { ApiError, notFound } from "../errors.ts";
import type { Resources } from "./resources.ts";
import { ACTIVE_STATES_SQL } from "./run-state/rows.ts";

export const POOL_TYPES = ["process", "docker", "ecs", "kubernetes"] as const;
export type PoolType = (typeof POOL_TYPES)[number];
const toDbType = (t: PoolType) => t.toUpperCase() as "PROCESS" | "DOCKER" | "ECS" | "KUBERNETES";

const poolSelect = {
  id: true,
  name: true,
  type: true,
  description: true,
  baseJobTemplate: true,
  concurrencyLimit: true,
  paused: true,
  createdAt: true,
  queues: {
    select: { id: true, name: true, priority: true, concurrencyLimit: true, paused: true },
    orderBy: { priority: "asc" as const },
  },
} as const;

async function poolStats(res: Resources, workPoolId: string) {
  const { rows } = await res.pool.query<{
    scheduled: number;
    late: number;
    active: number;
    workers_online: number;
    workers: number;
  }>(
    `SELECT (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" = 'SCHEDULED' AND "nextScheduledTime" <= now())::int AS scheduled,
            (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" = 'SCHEDULED' AND "stateName" = 'Late')::int AS late,
            (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" IN ${ACTIVE_STATES_SQL})::int AS active,
            (SELECT count(*) FROM "Worker" WHERE "workPoolId" = $1 AND status = 'ONLINE')::int AS workers_online,
            (SELECT count(*) FROM "Worker" WHERE "workPoolId" = $1)::int AS workers`,
    [workPoolId],
  );
  const r = rows[0]!;
  return {
    queueDepth: r.scheduled,
    lateRuns: r.late,
    activeRuns: r.active,
    workersOnline: r.workers_online,
    workers: r.workers,
  };
}

function present<P extends { type: string; createdAt: Date }>(p: P) {
  return { ...p, type: p.type.toLowerCase(), createdAt: p.createdAt.toISOString() };
}

function checkTemplate(template: unknown): void {
  const check = validateBaseJobTemplate(template);
  if (check.ok) return;
  const first = check.errors[0];
  throw new ApiError("INVALID_INPUT", `baseJobTemplate.${first?.path ?? ""}: ${first?.message ?? "invalid"}`, {
    path: `baseJobTemplate.${first?.path ?? ""}`,
  });
}

export async function createWorkPool(
  res: Resources,
  workspaceId: string,
  input: {
    name: string;
    type: PoolType;
    description?: string | undefined;
    concurrencyLimit?: number | null | undefined;
    baseJobTemplate?: unknown;
  },
) {
  const template = input.baseJobTemplate ?? defaultBaseJobTemplate(input.type);
  checkTemplate(template);
  const exists = await res.prisma.workPool.findUnique({
    where: { workspaceId_name: { workspaceId, name: input.name } },
    select: { id: true },
  });
  if (exists) throw new ApiError("CONFLICT", `name: work pool "${input.name}" already exists`, { path: "name" });
  const created = await res.prisma.workPool.create({
    data: {
      workspaceId,
      name: input.name,
      type: toDbType(input.type),
      description: input.description ?? null,
      concurrencyLimit: input.concurrencyLimit ?? null,
      baseJobTemplate: template as object,
      // Every pool has a default queue, so deployments that name no queue still have one.
      queues: { create: { workspaceId, name: "default", priority: 1 } },
    },
    select: poolSelect,
  });
  return present(created);
}

export async function listWorkPools(res: Resources, workspaceId: string) {
  const pools = await res.prisma.workPool.findMany({
    where: { workspaceId },
    orderBy: { id: "desc" },
    select: poolSelect,
  });
  return Promise.all(pools.map(async (p) => ({ ...present(p), ...(await poolStats(res, p.id)) })));
}

export async function getWorkPool(res: Resources, workspaceId: string, name: string) {
  const p = await res.prisma.workPool.findUnique({
    where: { workspaceId_name: { workspaceId, name } },
    select: poolSelect,
  });
  if (!p) throw notFound("work pool", name);
  return { ...present(p), ...(await poolStats(res, p.id)) };
}

export async function updateWorkPool(
  res: Resources,
  workspaceId: string,
  input: {
    name: string;
    paused?: boolean | undefined;
    concurrencyLimit?: number | null | undefined;
    description?: string | undefined;
    baseJobTemplate?: unknown;
  },
) {
  const p = await res.prisma.workPool.findUnique({
    where: { workspaceId_name: { workspaceId, name: input.name } },
    select: { id: true },
  });
  if (!p) throw notFound("work pool", input.name);
  if (input.baseJobTemplate !== undefined) checkTemplate(input.baseJobTemplate);
  const updated = await res.prisma.workPool.update({
    where: { id: p.id },
    // Prisma leaves a field given as undefined as it is: only what the input names changes.
    data: {
      paused: input.paused,
      concurrencyLimit: input.concurrencyLimit,
      description: input.description,
      baseJobTemplate: input.baseJobTemplate as object | undefined,
    },
    select: poolSelect,
  });
  // Resuming a pool makes its waiting runs claimable: wake the workers.
  if (input.paused === false) res.publisher.publish([{ kind: "runs_ready", workspaceId, workPoolId: p.id }]);
  return present(updated);
}

export async function deleteWorkPool(res: Resources, workspaceId: string, name: string) {
  const deleted = await res.prisma.workPool.deleteMany({ where: { workspaceId, name } });
  if (deleted.count === 0) throw notFound("work pool", name);
  return { deleted: name };
}

// Queues.

async function poolId(res: Resources, workspaceId: string, poolName: string): Promise<string> {
  const p = await res.prisma.workPool.findUnique({
    where: { workspaceId_name: { workspaceId, name: poolName } },
    select: { id: true },
  });
  if (!p) throw new ApiError("NOT_FOUND", `workPoolName: work pool "${poolName}" not found`, { path: "workPoolName" });
  return p.id;
}

const queueSelect = {
  id: true,
  name: true,
  priority: true,
  concurrencyLimit: true,
  paused: true,
  workPoolId: true,
} as const;

export async function createWorkQueue(
  res: Resources,
  workspaceId: string,
  input: { workPoolName: string; name: string; priority: number; concurrencyLimit?: number | null | undefined },
) {
  const workPoolId = await poolId(res, workspaceId, input.workPoolName);
  const exists = await res.prisma.workQueue.findFirst({
    where: { workspaceId, workPoolId, name: input.name },
    select: { id: true },
  });
  if (exists)
    throw new ApiError("CONFLICT", `name: queue "${input.name}" already exists in pool "${input.workPoolName}"`, {
      path: "name",
    });
  return res.prisma.workQueue.create({
    data: {
      workspaceId,
      workPoolId,
      name: input.name,
      priority: input.priority,
      concurrencyLimit: input.concurrencyLimit ?? null,
    },
    select: queueSelect,
  });
}

export async function listWorkQueues(res: Resources, workspaceId: string, workPoolName: string) {
  const workPoolId = await poolId(res, workspaceId, workPoolName);
  return res.prisma.workQueue.findMany({
    where: { workspaceId, workPoolId },
    orderBy: { priority: "asc" },
    select: queueSelect,
  });
}

export async function updateWorkQueue(
  res: Resources,
  workspaceId: string,
  input: {
    workPoolName: string;
    name: string;
    priority?: number | undefined;
    concurrencyLimit?: number | null | undefined;
    paused?: boolean | undefined;
  },
) {
  const workPoolId = await poolId(res, workspaceId, input.workPoolName);
  const q = await res.prisma.workQueue.findFirst({
    where: { workspaceId, workPoolId, name: input.name },
    select: { id: true },
  });
  if (!q) throw notFound("work queue", input.name);
  const updated = await res.prisma.workQueue.update({
    where: { id: q.id },
    // Prisma leaves a field given as undefined as it is: only what the input names changes.
    data: { priority: input.priority, concurrencyLimit: input.concurrencyLimit, paused: input.paused },
    select: queueSelect,
  });
  if (input.paused === false) res.publisher.publish([{ kind: "runs_ready", workspaceId, workPoolId }]);
  return updated;
}

export async function deleteWorkQueue(res: Resources, workspaceId: string, workPoolName: string, name: string) {
  const workPoolId = await poolId(res, workspaceId, workPoolName);
  if (name === "default")
    throw new ApiError("PRECONDITION_FAILED", "name: the default queue cannot be deleted", { path: "name" });
  const deleted = await res.prisma.workQueue.deleteMany({ where: { workspaceId, workPoolId, name } });
  if (deleted.count === 0) throw notFound("work queue", name);
  return { deleted: name };
}
