import { z } from "zod";
import { defaultBaseJobTemplate, validateBaseJobTemplate } from "@flowplane/core";
import type { Database } from "@flowplane/db";
import { ApiError, notFound } from "../errors.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { name } from "./schemas.ts";

const POOL_TYPES = ["process", "docker", "ecs", "kubernetes"] as const;
const toDbType = (t: (typeof POOL_TYPES)[number]) => t.toUpperCase() as "PROCESS" | "DOCKER" | "ECS" | "KUBERNETES";

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

async function poolStats(pool: Database["pool"], workPoolId: string) {
  const { rows } = await pool.query<{
    scheduled: number;
    late: number;
    active: number;
    workers_online: number;
    workers: number;
  }>(
    `SELECT (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" = 'SCHEDULED' AND "nextScheduledTime" <= now())::int AS scheduled,
            (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" = 'SCHEDULED' AND "stateName" = 'Late')::int AS late,
            (SELECT count(*) FROM "FlowRun" WHERE "workPoolId" = $1 AND "stateType" IN ('PENDING','RUNNING','CANCELLING'))::int AS active,
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

export const workPoolsRouter = router({
  create: developerProcedure
    .input(
      z.object({
        name,
        type: z.enum(POOL_TYPES),
        description: z.string().max(2000).optional(),
        concurrencyLimit: z.number().int().min(0).nullish(),
        baseJobTemplate: z.unknown().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const template = input.baseJobTemplate ?? defaultBaseJobTemplate(input.type);
      const check = validateBaseJobTemplate(template);
      if (!check.ok) {
        const first = check.errors[0];
        throw new ApiError("INVALID_INPUT", `baseJobTemplate.${first?.path ?? ""}: ${first?.message ?? "invalid"}`, {
          path: `baseJobTemplate.${first?.path ?? ""}`,
        });
      }
      const exists = await ctx.db.workPool.findUnique({
        where: { workspaceId_name: { workspaceId: ctx.workspaceId, name: input.name } },
        select: { id: true },
      });
      if (exists) throw new ApiError("CONFLICT", `name: work pool "${input.name}" already exists`, { path: "name" });
      const created = await ctx.db.workPool.create({
        data: {
          workspaceId: ctx.workspaceId,
          name: input.name,
          type: toDbType(input.type),
          description: input.description ?? null,
          concurrencyLimit: input.concurrencyLimit ?? null,
          baseJobTemplate: template as object,
          // Every pool has a default queue, so deployments that name no queue still have one.
          queues: { create: { workspaceId: ctx.workspaceId, name: "default", priority: 1 } },
        },
        select: poolSelect,
      });
      return present(created);
    }),
  list: readProcedure.query(async ({ ctx }) => {
    const pools = await ctx.db.workPool.findMany({
      where: { workspaceId: ctx.workspaceId },
      orderBy: { id: "desc" },
      select: poolSelect,
    });
    return Promise.all(pools.map(async (p) => ({ ...present(p), ...(await poolStats(ctx.pool, p.id)) })));
  }),
  get: readProcedure.input(z.object({ name: z.string() })).query(async ({ ctx, input }) => {
    const p = await ctx.db.workPool.findUnique({
      where: { workspaceId_name: { workspaceId: ctx.workspaceId, name: input.name } },
      select: poolSelect,
    });
    if (!p) throw notFound("work pool", input.name);
    return { ...present(p), ...(await poolStats(ctx.pool, p.id)) };
  }),
  update: developerProcedure
    .input(
      z.object({
        name: z.string(),
        paused: z.boolean().optional(),
        concurrencyLimit: z.number().int().min(0).nullish(),
        description: z.string().max(2000).optional(),
        baseJobTemplate: z.unknown().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const p = await ctx.db.workPool.findUnique({
        where: { workspaceId_name: { workspaceId: ctx.workspaceId, name: input.name } },
        select: { id: true },
      });
      if (!p) throw notFound("work pool", input.name);
      if (input.baseJobTemplate !== undefined) {
        const check = validateBaseJobTemplate(input.baseJobTemplate);
        if (!check.ok)
          throw new ApiError("INVALID_INPUT", `baseJobTemplate.${check.errors[0]?.path}: ${check.errors[0]?.message}`, {
            path: `baseJobTemplate.${check.errors[0]?.path}`,
          });
      }
      const updated = await ctx.db.workPool.update({
        where: { id: p.id },
        data: {
          ...(input.paused !== undefined ? { paused: input.paused } : {}),
          ...(input.concurrencyLimit !== undefined ? { concurrencyLimit: input.concurrencyLimit } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.baseJobTemplate !== undefined ? { baseJobTemplate: input.baseJobTemplate as object } : {}),
        },
        select: poolSelect,
      });
      // Resuming a pool makes its waiting runs claimable: wake the workers.
      if (input.paused === false)
        ctx.services.resources.publisher.publish([
          { kind: "runs_ready", workspaceId: ctx.workspaceId, workPoolId: p.id },
        ]);
      return present(updated);
    }),
  delete: developerProcedure.input(z.object({ name: z.string() })).mutation(async ({ ctx, input }) => {
    const deleted = await ctx.db.workPool.deleteMany({ where: { workspaceId: ctx.workspaceId, name: input.name } });
    if (deleted.count === 0) throw notFound("work pool", input.name);
    return { deleted: input.name };
  }),
});
