import { z } from "zod";
import { listLogs } from "../services/logs.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

export const logsRouter = router({
  /** A run's logs oldest first; `after` (a log id) continues a tail. */
  list: readProcedure
    .input(
      z.object({
        flowRunId: id,
        taskRunId: id.optional(),
        minLevel: z.number().int().min(0).max(50).optional(),
        search: z.string().max(200).optional(),
        after: z.object({ timestamp: z.iso.datetime({ offset: true }), id }).optional(),
        limit: z.number().int().min(1).max(5_000).default(1_000),
      }),
    )
    .query(({ ctx, input }) => listLogs(ctx.services.resources, ctx.workspaceId, input)),
});
