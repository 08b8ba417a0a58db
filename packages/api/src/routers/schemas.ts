// Input schemas shared by several routers.
import { createHash } from "node:crypto";
import { z } from "zod";
import { boundedCacheKey, STATE_TYPES } from "@flowplane/core";
import type { Principal } from "../auth/authenticator.ts";
import type { Proposer } from "../services/run-state/fence.ts";

export const id = z.uuid();
export const name = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.\- ]*$/, "use letters, digits, spaces, '.', '_' and '-'");
export const jsonObject = z.record(z.string(), z.unknown());
/** Most runs at once (pools, queues); null lifts the limit. */
export const concurrencyLimit = z.number().int().min(0).nullish();
/** A queue's priority: lower is served first. */
export const queuePriority = z.number().int().min(1).max(1000);
export const stateType = z.enum(STATE_TYPES);

/** A cache key, bounded as core's boundedCacheKey says (a long one is stored as its SHA-256). */
export const cacheKey = z
  .string()
  .transform((key) => boundedCacheKey(key, (text) => createHash("sha256").update(text).digest("hex")));

export const stateInput = z.object({
  type: stateType,
  name: z.string().min(1).max(100).optional(),
  message: z.string().max(10_000).optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  transitionId: z.string().min(1).max(100).optional(),
  details: z
    .object({
      scheduledTime: z.iso.datetime({ offset: true }).optional(),
      cacheKey: cacheKey.optional(),
      cacheExpiration: z.iso.datetime({ offset: true }).optional(),
      retryRequested: z.boolean().optional(),
      noRetry: z.boolean().optional(),
      pauseTimeout: z.iso.datetime({ offset: true }).optional(),
      resultRef: z.string().max(2000).optional(),
    })
    .optional(),
});

export const retryPolicy = z.object({
  retries: z.number().int().min(0).max(1000),
  retryDelaySeconds: z
    .union([
      z.number().min(0),
      z.array(z.number().min(0)).min(1),
      z.object({
        kind: z.literal("exponential"),
        baseSeconds: z.number().min(0),
        maxSeconds: z.number().min(0).optional(),
      }),
    ])
    .optional(),
  retryJitterFactor: z.number().min(0).max(10).optional(),
});

export const pageInput = {
  limit: z.number().int().min(1).max(500).default(50),
  cursor: id.optional(),
};

/** Cursor pages: newest first, `nextCursor` is the last id when more may follow. */
export function page<T extends { id: string }>(items: T[], limit: number): { items: T[]; nextCursor: string | null } {
  return { items, nextCursor: items.length === limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** The claim token a worker received with a claim; every write for the claimed attempt carries it. */
export const claimToken = z.uuid().optional();

/**
 * Who writes, for claim fencing: worker keys are bound to the claims they hold; a run token to its
 * own attempt, whatever claim token the input names.
 */
export function proposerOf(principal: Principal, token: string | undefined): Proposer {
  if (principal.run)
    return { workerScoped: true, claimToken: principal.run.claimToken, runTokenFor: principal.run.flowRunId };
  return { workerScoped: principal.scope === "WORKER", claimToken: token ?? null };
}
