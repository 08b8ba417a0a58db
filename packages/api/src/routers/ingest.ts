import { z } from "zod";
import type { IngestBatch } from "@flowplane/core";
import { ingest, type IngestRejection } from "../services/ingestion.ts";
import { router, runWriteProcedure } from "../trpc.ts";
import { cacheKey, id, stateType } from "./schemas.ts";

const iso = z.iso.datetime({ offset: true });
const MAX_BATCH = 5_000;

// One schema per record. The batch's own shape is only "lists of at most MAX_BATCH things": each
// record is validated on its own, so a bad one is answered in `rejected` and costs only itself.
// Over-long log and state messages are not errors: the service truncates them.
const recordSchemas = {
  taskRuns: z.object({
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
  taskRunStates: z.object({
    id,
    taskRunId: id,
    type: stateType,
    name: z.string().min(1).max(100),
    timestamp: iso,
    message: z.string().nullish(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  logs: z.object({
    id,
    flowRunId: id,
    taskRunId: id.nullish(),
    name: z.string().max(200),
    level: z.number().int().min(0).max(100),
    message: z.string(),
    timestamp: iso,
  }),
  artifacts: z.object({
    id,
    flowRunId: id.nullish(),
    taskRunId: id.nullish(),
    key: z.string().max(200).nullish(),
    type: z.enum(["MARKDOWN", "TABLE", "LINK"]),
    description: z.string().max(2_000).nullish(),
    data: z.unknown(),
  }),
};
type Kind = keyof typeof recordSchemas;

/** Splits each list into the records that parse and a rejection naming each one that does not. */
function validateRecords(input: Partial<Record<Kind, unknown[]>>): { batch: IngestBatch; rejected: IngestRejection[] } {
  const rejected: IngestRejection[] = [];
  const pick = <K extends Kind>(kind: K): z.infer<(typeof recordSchemas)[K]>[] => {
    const accepted: z.infer<(typeof recordSchemas)[K]>[] = [];
    (input[kind] ?? []).forEach((record, index) => {
      const parsed = recordSchemas[kind].safeParse(record);
      if (parsed.success) {
        accepted.push(parsed.data as z.infer<(typeof recordSchemas)[K]>);
        return;
      }
      const issue = parsed.error.issues[0]!;
      const path = [kind, index, ...issue.path].join(".");
      const recordId = (record as { id?: unknown } | null)?.id;
      rejected.push({ path, id: typeof recordId === "string" ? recordId : null, message: `${path}: ${issue.message}` });
    });
    return accepted;
  };
  return {
    batch: {
      taskRuns: pick("taskRuns"),
      taskRunStates: pick("taskRunStates"),
      logs: pick("logs"),
      artifacts: pick("artifacts"),
    },
    rejected,
  };
}

export const ingestRouter = router({
  /**
   * What a running flow reports, many rows per request; re-sending a batch is harmless. Answers
   * how many rows of each kind were stored and, per record, why any was refused. A run token's
   * rows for runs outside its scope are not stored (the counts say so).
   */
  batch: runWriteProcedure
    .input(
      z.object({
        taskRuns: z.array(z.unknown()).max(MAX_BATCH).optional(),
        taskRunStates: z.array(z.unknown()).max(MAX_BATCH).optional(),
        logs: z.array(z.unknown()).max(MAX_BATCH).optional(),
        artifacts: z.array(z.unknown()).max(500).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { batch, rejected } = validateRecords(input);
      const stored = await ingest(ctx.services.resources, ctx.workspaceId, batch, {
        maxMessageChars: ctx.services.config.maxLogMessageChars,
        attempt: ctx.runScope,
      });
      return { ...stored, rejected };
    }),
});
