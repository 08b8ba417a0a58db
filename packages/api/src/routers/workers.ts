import { z } from "zod";
import { ApiError } from "../errors.ts";
import { heartbeatWorker, pollForWork } from "../services/workers.ts";
import { readProcedure, router, workerProcedure } from "../trpc.ts";
import { name } from "./schemas.ts";

export const workersRouter = router({
  /** Registers the worker (first call) and records that it is alive. */
  heartbeat: workerProcedure
    .input(
      z.object({
        workPoolName: z.string().min(1),
        workerName: name,
        heartbeatIntervalSeconds: z.number().int().min(1).max(3600).default(10),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .mutation(({ ctx, input }) => heartbeatWorker(ctx.services.resources, ctx.workspaceId, input)),

  /** Long-poll: claims runs for the worker, or waits until there are some (see pollForWork). */
  poll: workerProcedure
    .input(
      z.object({
        workerId: z.uuid(),
        limit: z.number().int().min(0).max(100).default(1),
        waitMs: z.number().int().min(0).default(25_000),
        queueNames: z.array(z.string()).optional(),
      }),
    )
    .mutation(async ({ ctx, input, signal }) => {
      const worker = await ctx.db.worker.findFirst({
        where: { id: input.workerId, workspaceId: ctx.workspaceId },
        select: { id: true, workPoolId: true },
      });
      if (!worker)
        throw new ApiError("NOT_FOUND", `workerId: worker ${input.workerId} not found; send a heartbeat first`, {
          path: "workerId",
        });
      return pollForWork(ctx.services.resources, ctx.services.events, {
        workspaceId: ctx.workspaceId,
        workPoolId: worker.workPoolId,
        workerId: worker.id,
        limit: input.limit,
        waitMs: Math.min(input.waitMs, ctx.services.config.longPollMaxMs),
        prefetchSeconds: ctx.services.config.prefetchSeconds,
        claimTimeoutSeconds: ctx.services.config.claimTimeoutSeconds,
        ...(input.queueNames ? { queueNames: input.queueNames } : {}),
        // Ends the wait when the worker disconnects or the server shuts down.
        signal: AbortSignal.any([signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined)),
      });
    }),

  /** The worker says where a run's infrastructure is (pid, container, task ARN, job name). */
  reportInfrastructure: workerProcedure
    .input(z.object({ flowRunId: z.uuid(), infrastructureId: z.string().min(1).max(500) }))
    .mutation(async ({ ctx, input }) => {
      const updated = await ctx.db.flowRun.updateMany({
        where: { id: input.flowRunId, workspaceId: ctx.workspaceId },
        data: { infrastructureId: input.infrastructureId },
      });
      if (updated.count === 0)
        throw new ApiError("NOT_FOUND", `flowRunId: flow run ${input.flowRunId} not found`, { path: "flowRunId" });
      return { ok: true };
    }),

  list: readProcedure.input(z.object({ workPoolName: z.string().optional() })).query(async ({ ctx, input }) => {
    const rows = await ctx.db.worker.findMany({
      where: {
        workspaceId: ctx.workspaceId,
        ...(input.workPoolName ? { workPool: { name: input.workPoolName } } : {}),
      },
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
        _count: { select: { flowRuns: { where: { stateType: { in: ["PENDING", "RUNNING", "CANCELLING"] } } } } },
      },
    });
    return rows.map(({ workPool, _count, ...w }) => ({
      ...w,
      workPoolName: workPool.name,
      activeRuns: _count.flowRuns,
      lastHeartbeatAt: w.lastHeartbeatAt.toISOString(),
      createdAt: w.createdAt.toISOString(),
    }));
  }),
});
