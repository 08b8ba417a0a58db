import { z } from "zod";
import { notFound } from "../errors.ts";
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
    .query(async ({ ctx, input }) => {
      const run = await ctx.db.flowRun.findFirst({
        where: { id: input.flowRunId, workspaceId: ctx.workspaceId },
        select: { id: true },
      });
      if (!run) throw notFound("flow run", input.flowRunId);
      const { rows } = await ctx.pool.query<{
        id: string;
        taskRunId: string | null;
        name: string;
        level: number;
        message: string;
        timestamp: Date;
      }>(
        `SELECT id, "taskRunId", name, level, message, timestamp FROM "Log"
          WHERE "flowRunId" = $1 AND "workspaceId" = $2
            AND ($3::uuid IS NULL OR "taskRunId" = $3)
            AND ($4::int IS NULL OR level >= $4)
            AND ($5::text IS NULL OR message ILIKE '%' || $5 || '%')
            AND ($6::timestamptz IS NULL OR (timestamp, id) > ($6, $7::uuid))
          ORDER BY timestamp, id LIMIT $8`,
        [
          run.id,
          ctx.workspaceId,
          input.taskRunId ?? null,
          input.minLevel ?? null,
          input.search ?? null,
          input.after?.timestamp ?? null,
          input.after?.id ?? null,
          input.limit,
        ],
      );
      return rows.map((r) => ({ ...r, timestamp: r.timestamp.toISOString() }));
    }),
});
