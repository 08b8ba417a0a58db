import { z } from "zod";
import { ingest } from "../services/ingestion.ts";
import { router, workerProcedure } from "../trpc.ts";
import { cacheKey, id, stateType } from "./schemas.ts";

const iso = z.iso.datetime({ offset: true });
const MAX_BATCH = 5_000;

export const ingestRouter = router({
  /** What a running flow reports, many rows per request; re-sending a batch is harmless. */
  batch: workerProcedure
    .input(
      z.object({
        taskRuns: z
          .array(
            z.object({
              id,
              flowRunId: id,
              name: z.string().min(1).max(200),
              taskKey: z.string().min(1).max(500),
              dynamicKey: z.string().max(100),
              tags: z.array(z.string().max(100)).max(50),
              cacheKey: cacheKey.nullish(),
              createdAt: iso,
              inputTaskRunIds: z.array(id).max(1_000).optional(),
            }),
          )
          .max(MAX_BATCH)
          .optional(),
        taskRunStates: z
          .array(
            z.object({
              id,
              taskRunId: id,
              type: stateType,
              name: z.string().min(1).max(100),
              timestamp: iso,
              message: z.string().max(10_000).nullish(),
              details: z.record(z.string(), z.unknown()).optional(),
            }),
          )
          .max(MAX_BATCH)
          .optional(),
        logs: z
          .array(
            z.object({
              id,
              flowRunId: id,
              taskRunId: id.nullish(),
              name: z.string().max(200),
              level: z.number().int().min(0).max(100),
              message: z.string().max(100_000),
              timestamp: iso,
            }),
          )
          .max(MAX_BATCH)
          .optional(),
        artifacts: z
          .array(
            z.object({
              id,
              flowRunId: id.nullish(),
              taskRunId: id.nullish(),
              key: z.string().max(200).nullish(),
              type: z.enum(["MARKDOWN", "TABLE", "LINK"]),
              description: z.string().max(2_000).nullish(),
              data: z.unknown(),
            }),
          )
          .max(500)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => ingest(ctx.services.resources, ctx.workspaceId, input)),
});
