import { z } from "zod";
import type { Db } from "@flowplane/db";
import { ApiError, notFound } from "../errors.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { name } from "./schemas.ts";

async function poolId(db: Db, workspaceId: string, poolName: string): Promise<string> {
  const p = await db.workPool.findUnique({
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

export const workQueuesRouter = router({
  create: developerProcedure
    .input(
      z.object({
        workPoolName: z.string(),
        name,
        priority: z.number().int().min(1).max(1000).default(1),
        concurrencyLimit: z.number().int().min(0).nullish(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const workPoolId = await poolId(ctx.db, ctx.workspaceId, input.workPoolName);
      const exists = await ctx.db.workQueue.findFirst({
        where: { workspaceId: ctx.workspaceId, workPoolId, name: input.name },
        select: { id: true },
      });
      if (exists)
        throw new ApiError("CONFLICT", `name: queue "${input.name}" already exists in pool "${input.workPoolName}"`, {
          path: "name",
        });
      return ctx.db.workQueue.create({
        data: {
          workspaceId: ctx.workspaceId,
          workPoolId,
          name: input.name,
          priority: input.priority,
          concurrencyLimit: input.concurrencyLimit ?? null,
        },
        select: queueSelect,
      });
    }),
  list: readProcedure.input(z.object({ workPoolName: z.string() })).query(async ({ ctx, input }) => {
    const workPoolId = await poolId(ctx.db, ctx.workspaceId, input.workPoolName);
    return ctx.db.workQueue.findMany({
      where: { workspaceId: ctx.workspaceId, workPoolId },
      orderBy: { priority: "asc" },
      select: queueSelect,
    });
  }),
  update: developerProcedure
    .input(
      z.object({
        workPoolName: z.string(),
        name: z.string(),
        priority: z.number().int().min(1).max(1000).optional(),
        concurrencyLimit: z.number().int().min(0).nullish(),
        paused: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const workPoolId = await poolId(ctx.db, ctx.workspaceId, input.workPoolName);
      const q = await ctx.db.workQueue.findFirst({
        where: { workspaceId: ctx.workspaceId, workPoolId, name: input.name },
        select: { id: true },
      });
      if (!q) throw notFound("work queue", input.name);
      const updated = await ctx.db.workQueue.update({
        where: { id: q.id },
        data: {
          ...(input.priority !== undefined ? { priority: input.priority } : {}),
          ...(input.concurrencyLimit !== undefined ? { concurrencyLimit: input.concurrencyLimit } : {}),
          ...(input.paused !== undefined ? { paused: input.paused } : {}),
        },
        select: queueSelect,
      });
      if (input.paused === false)
        ctx.services.resources.publisher.publish([{ kind: "runs_ready", workspaceId: ctx.workspaceId, workPoolId }]);
      return updated;
    }),
  delete: developerProcedure
    .input(z.object({ workPoolName: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const workPoolId = await poolId(ctx.db, ctx.workspaceId, input.workPoolName);
      if (input.name === "default")
        throw new ApiError("PRECONDITION_FAILED", "name: the default queue cannot be deleted", { path: "name" });
      const deleted = await ctx.db.workQueue.deleteMany({
        where: { workspaceId: ctx.workspaceId, workPoolId, name: input.name },
      });
      if (deleted.count === 0) throw notFound("work queue", input.name);
      return { deleted: input.name };
    }),
});
