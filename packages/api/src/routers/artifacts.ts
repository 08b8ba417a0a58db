import { z } from "zod";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

export const artifactsRouter = router({
  list: readProcedure
    .input(
      z.object({
        flowRunId: id.optional(),
        key: z.string().optional(),
        limit: z.number().int().min(1).max(500).default(100),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.artifact.findMany({
        where: {
          workspaceId: ctx.workspaceId,
          ...(input.flowRunId ? { flowRunId: input.flowRunId } : {}),
          ...(input.key ? { key: input.key } : {}),
        },
        // Artifacts of one batch share createdAt (the insert's now()); their ids are the SDK's
        // UUIDv7s, made in creation order, so they break the tie.
        orderBy: input.flowRunId ? [{ createdAt: "asc" }, { id: "asc" }] : [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit,
        select: {
          id: true,
          flowRunId: true,
          taskRunId: true,
          key: true,
          type: true,
          description: true,
          data: true,
          createdAt: true,
        },
      });
      return rows.map((a) => ({ ...a, createdAt: a.createdAt.toISOString() }));
    }),
});
