import { z } from "zod";
import { requireApiKey } from "../auth/principal.ts";
import { extendClaim, reportInfrastructure } from "../services/flow-runs/attempts.ts";
import { issueRunToken, runTokenClaimsFor } from "../auth/run-tokens.ts";
import type { DeliveredRun } from "../services/claims.ts";
import { findWorker, heartbeatWorker, infrastructureLocations, listWorkers, pollForWork } from "../services/workers.ts";
import { readProcedure, router, runHeartbeatIntervalSeconds, workerProcedure } from "../trpc.ts";
import { claimToken, name, proposerOf } from "./schemas.ts";

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
    .mutation(({ ctx, input }) =>
      heartbeatWorker(ctx.services.resources, ctx.workspaceId, requireApiKey(ctx.principal, "a worker"), input),
    ),

  /**
   * Long-poll: claims runs for the worker, or waits until there are some (see pollForWork). Each
   * claimed run comes with its attempt's run token, which the worker passes to the run instead of
   * its own key.
   */
  poll: workerProcedure
    .meta({ waitsForEvents: true })
    .input(
      z.object({
        workerId: z.uuid(),
        limit: z.number().int().min(0).max(100).default(1),
        waitMs: z.number().int().min(0).default(25_000),
        queueNames: z.array(z.string()).optional(),
      }),
    )
    .mutation(async ({ ctx, input, signal }) => {
      const apiKeyId = requireApiKey(ctx.principal, "a worker");
      const worker = await findWorker(ctx.services.resources, ctx.workspaceId, apiKeyId, input.workerId);
      const polled = await pollForWork(ctx.services.resources, ctx.services.events, {
        workspaceId: ctx.workspaceId,
        workPoolId: worker.workPoolId,
        workerId: worker.id,
        limit: input.limit,
        waitMs: Math.min(input.waitMs, ctx.services.config.longPollMaxMs),
        prefetchSeconds: ctx.services.config.prefetchSeconds,
        claimTimeoutSeconds: ctx.services.config.claimTimeoutSeconds,
        heartbeatIntervalSeconds: runHeartbeatIntervalSeconds(ctx.services.config.runHeartbeatTimeoutSeconds),
        ...(input.queueNames ? { queueNames: input.queueNames } : {}),
        // Ends the wait when the worker disconnects or the server shuts down.
        signal: AbortSignal.any([signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined)),
      });
      // The first token outlives the claim window: the infrastructure may take up to the claim
      // timeout to start (an image pull, a task provisioning), and a run claimed early waits for
      // its time; the run renews it from then on.
      const { config } = ctx.services;
      const firstTtlSeconds = Math.max(config.runTokenTtlSeconds, config.claimTimeoutSeconds + config.prefetchSeconds);
      const runs = await Promise.all(
        polled.runs.map(async (run): Promise<DeliveredRun> => {
          const { token, expiresAt } = await issueRunToken(
            ctx.services.tokens,
            runTokenClaimsFor(ctx.principal, { flowRunId: run.id, claimToken: run.claimToken }),
            firstTtlSeconds,
          );
          return { ...run, runToken: token, runTokenExpiresAt: expiresAt };
        }),
      );
      return { runs, cancel: polled.cancel };
    }),

  /** The worker says where a run's infrastructure is (pid, container, task ARN, job name). */
  reportInfrastructure: workerProcedure
    .input(z.object({ flowRunId: z.uuid(), infrastructureId: z.string().min(1).max(500), claimToken }))
    .mutation(({ ctx, input }) =>
      reportInfrastructure(
        ctx.services.resources,
        ctx.workspaceId,
        input.flowRunId,
        input.infrastructureId,
        proposerOf(ctx.principal, input.claimToken),
      ),
    ),

  /**
   * The run's infrastructure is still provisioning: its claim lasts another claim timeout. Answers
   * the run's state and whether its runner heartbeats.
   */
  extendClaim: workerProcedure.input(z.object({ flowRunId: z.uuid(), claimToken })).mutation(({ ctx, input }) =>
    extendClaim(
      ctx.services.resources,
      ctx.workspaceId,
      input.flowRunId,
      {
        claimTimeoutSeconds: ctx.services.config.claimTimeoutSeconds,
        runHeartbeatTimeoutSeconds: ctx.services.config.runHeartbeatTimeoutSeconds,
      },
      proposerOf(ctx.principal, input.claimToken),
    ),
  ),

  /**
   * Where the worker's pool ran its infrastructure lately (one infrastructure id per ECS cluster
   * and region, per Kubernetes namespace): where a restarted worker looks for orphaned jobs.
   */
  infrastructureLocations: workerProcedure.input(z.object({ workerId: z.uuid() })).query(async ({ ctx, input }) => {
    const apiKeyId = requireApiKey(ctx.principal, "a worker");
    const worker = await findWorker(ctx.services.resources, ctx.workspaceId, apiKeyId, input.workerId);
    // A week: orphans older than that whose location no run has used since are not looked for.
    return infrastructureLocations(ctx.services.resources, ctx.workspaceId, worker.workPoolId, 7);
  }),

  list: readProcedure
    .input(z.object({ workPoolName: z.string().optional() }))
    .query(({ ctx, input }) => listWorkers(ctx.services.resources, ctx.workspaceId, input.workPoolName)),
});
