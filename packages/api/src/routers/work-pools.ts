import { z } from "zod";
import {
  POOL_TYPES,
  createWorkPool,
  deleteWorkPool,
  getWorkPool,
  listWorkPools,
  updateWorkPool,
} from "../services/work-pools.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { concurrencyLimit, name } from "./schemas.ts";

export const workPoolsRouter = router({
  create: developerProcedure
    .input(
      z.object({
        name,
        type: z.enum(POOL_TYPES),
        description: z.string().max(2000).optional(),
        concurrencyLimit,
        baseJobTemplate: z.unknown().optional(),
      }),
    )
    .mutation(({ ctx, input }) => createWorkPool(ctx.services.resources, ctx.workspaceId, input)),
  list: readProcedure.query(({ ctx }) => listWorkPools(ctx.services.resources, ctx.workspaceId)),
  get: readProcedure
    .input(z.object({ name: z.string() }))
    .query(({ ctx, input }) => getWorkPool(ctx.services.resources, ctx.workspaceId, input.name)),
  update: developerProcedure
    .input(
      z.object({
        name: z.string(),
        paused: z.boolean().optional(),
        concurrencyLimit,
        description: z.string().max(2000).optional(),
        baseJobTemplate: z.unknown().optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateWorkPool(ctx.services.resources, ctx.workspaceId, input)),
  delete: developerProcedure
    .input(z.object({ name: z.string() }))
    .mutation(({ ctx, input }) => deleteWorkPool(ctx.services.resources, ctx.workspaceId, input.name)),
});
