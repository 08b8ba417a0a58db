import { z } from "zod";
import { createWorkQueue, deleteWorkQueue, listWorkQueues, updateWorkQueue } from "../services/work-pools.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { concurrencyLimit, name, queuePriority } from "./schemas.ts";

export const workQueuesRouter = router({
  create: developerProcedure
    .input(
      z.object({
        workPoolName: z.string(),
        name,
        priority: queuePriority.default(1),
        concurrencyLimit,
      }),
    )
    .mutation(({ ctx, input }) => createWorkQueue(ctx.services.resources, ctx.workspaceId, input)),
  list: readProcedure
    .input(z.object({ workPoolName: z.string() }))
    .query(({ ctx, input }) => listWorkQueues(ctx.services.resources, ctx.workspaceId, input.workPoolName)),
  update: developerProcedure
    .input(
      z.object({
        workPoolName: z.string(),
        name: z.string(),
        priority: queuePriority.optional(),
        concurrencyLimit,
        paused: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateWorkQueue(ctx.services.resources, ctx.workspaceId, input)),
  delete: developerProcedure
    .input(z.object({ workPoolName: z.string(), name: z.string() }))
    .mutation(({ ctx, input }) =>
      deleteWorkQueue(ctx.services.resources, ctx.workspaceId, input.workPoolName, input.name),
    ),
});
