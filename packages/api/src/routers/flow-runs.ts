import { z } from "zod";
import type { Db } from "@flowplane/db";
import { ApiError, notFound } from "../errors.ts";
import { countFlowRuns } from "../services/flow-run-counts.ts";
import type { ProposalOutcome } from "@flowplane/core";
import { createFlowRun } from "../services/flow-runs/create.ts";
import { cancelFlowRun, retryFlowRun } from "../services/flow-runs/requests.ts";
import { proposeFlowRunState } from "../services/run-state/changes.ts";
import { heartbeatFlowRun } from "../services/liveness.ts";
import { adminProcedure, developerProcedure, readProcedure, router, workerProcedure } from "../trpc.ts";
import { id, jsonObject, page, pageInput, retryPolicy, stateInput, stateType } from "./schemas.ts";

/** Proposals per setStates call (one statement's worth of writes). */
const MAX_PROPOSALS = 500;

const flowRunSelect = {
  id: true,
  name: true,
  flowId: true,
  flow: { select: { name: true } },
  deploymentId: true,
  deployment: { select: { name: true } },
  deploymentVersion: { select: { version: true } },
  workPoolId: true,
  workPool: { select: { name: true } },
  workQueue: { select: { name: true } },
  workerId: true,
  worker: { select: { name: true } },
  parentTaskRunId: true,
  parentTaskRun: { select: { flowRunId: true } },
  stateType: true,
  stateName: true,
  stateTimestamp: true,
  stateMessage: true,
  parameters: true,
  tags: true,
  expectedStartTime: true,
  nextScheduledTime: true,
  startTime: true,
  endTime: true,
  runCount: true,
  partitionKey: true,
  infrastructureId: true,
  createdAt: true,
} as const;

type FlowRunRow = {
  id: string;
  name: string;
  flowId: string;
  flow: { name: string };
  deploymentId: string | null;
  deployment: { name: string } | null;
  deploymentVersion: { version: number } | null;
  workPoolId: string | null;
  workPool: { name: string } | null;
  workQueue: { name: string } | null;
  workerId: string | null;
  worker: { name: string } | null;
  parentTaskRunId: string | null;
  parentTaskRun: { flowRunId: string } | null;
  stateType: string;
  stateName: string;
  stateTimestamp: Date;
  stateMessage: string | null;
  parameters: unknown;
  tags: string[];
  expectedStartTime: Date;
  nextScheduledTime: Date | null;
  startTime: Date | null;
  endTime: Date | null;
  runCount: number;
  partitionKey: string | null;
  infrastructureId: string | null;
  createdAt: Date;
};

/** The API's flow-run shape: ids with the names they refer to, ISO times. */
export function presentFlowRun(r: FlowRunRow) {
  return {
    id: r.id,
    name: r.name,
    flowId: r.flowId,
    flowName: r.flow.name,
    deploymentId: r.deploymentId,
    deploymentName: r.deployment?.name ?? null,
    deploymentVersion: r.deploymentVersion?.version ?? null,
    workPoolId: r.workPoolId,
    workPoolName: r.workPool?.name ?? null,
    workQueueName: r.workQueue?.name ?? null,
    workerId: r.workerId,
    workerName: r.worker?.name ?? null,
    parentTaskRunId: r.parentTaskRunId,
    parentFlowRunId: r.parentTaskRun?.flowRunId ?? null,
    state: { type: r.stateType, name: r.stateName, timestamp: r.stateTimestamp.toISOString(), message: r.stateMessage },
    parameters: r.parameters as Record<string, unknown>,
    tags: r.tags,
    expectedStartTime: r.expectedStartTime.toISOString(),
    nextScheduledTime: r.nextScheduledTime?.toISOString() ?? null,
    startTime: r.startTime?.toISOString() ?? null,
    endTime: r.endTime?.toISOString() ?? null,
    durationMs: r.startTime ? (r.endTime ?? new Date()).getTime() - r.startTime.getTime() : null,
    runCount: r.runCount,
    partitionKey: r.partitionKey,
    infrastructureId: r.infrastructureId,
    createdAt: r.createdAt.toISOString(),
  };
}

export type FlowRunView = ReturnType<typeof presentFlowRun>;

export async function getFlowRun(db: Db, workspaceId: string, flowRunId: string): Promise<FlowRunView> {
  const row = await db.flowRun.findFirst({ where: { id: flowRunId, workspaceId }, select: flowRunSelect });
  if (!row) throw notFound("flow run", flowRunId);
  return presentFlowRun(row);
}

const listInput = z.object({
  ...pageInput,
  states: z.array(stateType).optional(),
  flowId: id.optional(),
  flowName: z.string().optional(),
  deploymentId: id.optional(),
  workPoolName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  parentFlowRunId: id.optional(),
  /** Only runs expected to start in [from, to). */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const flowRunsRouter = router({
  create: workerProcedure
    .input(
      z.object({
        flowName: z.string().min(1).max(200),
        name: z.string().min(1).max(200).optional(),
        parameters: jsonObject.optional(),
        tags: z.array(z.string().max(100)).max(50).optional(),
        parentTaskRunId: id.optional(),
        idempotencyKey: z.string().min(1).max(500).optional(),
        retryPolicy: retryPolicy.optional(),
        state: stateInput.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const created = await createFlowRun(ctx.services.resources, ctx.workspaceId, input);
      return getFlowRun(ctx.db, ctx.workspaceId, created.id);
    }),

  get: readProcedure.input(z.object({ id })).query(({ ctx, input }) => getFlowRun(ctx.db, ctx.workspaceId, input.id)),

  list: readProcedure.input(listInput).query(async ({ ctx, input }) => {
    // With a time window, runs are listed by expected start (newest first) so the index on
    // (workspace, expectedStartTime, id) finds the window directly; walking ids newest-first would
    // pass every run newer than the window first. The cursor stays an id either way.
    const byTime = Boolean(input.from || input.to);
    let cursor: object = {};
    if (input.cursor && !byTime) cursor = { id: { lt: input.cursor } };
    if (input.cursor && byTime) {
      const at = await ctx.db.flowRun.findFirst({
        where: { id: input.cursor, workspaceId: ctx.workspaceId },
        select: { expectedStartTime: true },
      });
      if (!at) throw notFound("flow run", input.cursor);
      cursor = {
        OR: [
          { expectedStartTime: { lt: at.expectedStartTime } },
          { expectedStartTime: at.expectedStartTime, id: { lt: input.cursor } },
        ],
      };
    }
    const rows = await ctx.db.flowRun.findMany({
      where: {
        workspaceId: ctx.workspaceId,
        ...cursor,
        ...(input.states?.length ? { stateType: { in: input.states } } : {}),
        ...(input.flowId ? { flowId: input.flowId } : {}),
        ...(input.flowName ? { flow: { name: input.flowName } } : {}),
        ...(input.deploymentId ? { deploymentId: input.deploymentId } : {}),
        ...(input.workPoolName ? { workPool: { name: input.workPoolName } } : {}),
        ...(input.tags?.length ? { tags: { hasEvery: input.tags } } : {}),
        ...(input.parentFlowRunId ? { parentTaskRun: { flowRunId: input.parentFlowRunId } } : {}),
        ...(input.from || input.to
          ? {
              expectedStartTime: {
                ...(input.from ? { gte: new Date(input.from) } : {}),
                ...(input.to ? { lt: new Date(input.to) } : {}),
              },
            }
          : {}),
      },
      orderBy: byTime ? [{ expectedStartTime: "desc" }, { id: "desc" }] : { id: "desc" },
      take: input.limit,
      select: flowRunSelect,
    });
    return page(rows.map(presentFlowRun), input.limit);
  }),

  /** Proposes a state; the answer is the orchestration decision. `force` needs an admin key. */
  setState: workerProcedure
    .input(z.object({ id, state: stateInput }))
    .mutation(({ ctx, input }) => proposeFlowRunState(ctx.services.resources, ctx.workspaceId, input.id, input.state)),
  /**
   * Proposes states for many runs in one call (a worker reporting the runs it holds, bulk changes):
   * each run is decided on its own, as by setState, and their writes share one statement. Answers
   * come in the proposals' order; a run that cannot be found answers an error in its place and the
   * others still apply.
   */
  setStates: workerProcedure
    .input(
      z.object({
        proposals: z
          .array(z.object({ id, state: stateInput }))
          .min(1)
          .max(MAX_PROPOSALS),
      }),
    )
    .mutation(({ ctx, input }) =>
      Promise.all(
        input.proposals.map(
          async ({ id, state }): Promise<ProposalOutcome | { error: { code: string; message: string } }> => {
            try {
              return await proposeFlowRunState(ctx.services.resources, ctx.workspaceId, id, state);
            } catch (err) {
              // Positional answers: the message need not (and does not) repeat the run's id.
              if (err instanceof ApiError)
                return {
                  error: {
                    code: err.apiCode,
                    message: err.apiCode === "NOT_FOUND" ? "flow run not found" : err.message,
                  },
                };
              throw err;
            }
          },
        ),
      ),
    ),
  forceState: adminProcedure
    .input(z.object({ id, state: stateInput }))
    .mutation(({ ctx, input }) =>
      proposeFlowRunState(ctx.services.resources, ctx.workspaceId, input.id, input.state, { force: true }),
    ),

  cancel: developerProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => cancelFlowRun(ctx.services.resources, ctx.workspaceId, input.id)),
  retry: developerProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => retryFlowRun(ctx.services.resources, ctx.workspaceId, input.id)),

  /**
   * The runner declares the retry policy of the flow code it is running; the server's retry rule
   * (for failures and for crashes it detects itself) uses it.
   */
  setRetryPolicy: workerProcedure.input(z.object({ id, retryPolicy })).mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.flowRun.updateMany({
      where: { id: input.id, workspaceId: ctx.workspaceId },
      data: { retryPolicy: input.retryPolicy },
    });
    if (updated.count === 0) throw notFound("flow run", input.id);
    return { ok: true };
  }),

  heartbeat: workerProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    const hb = await heartbeatFlowRun(ctx.services.resources, ctx.workspaceId, input.id);
    if (!hb.found) throw notFound("flow run", input.id);
    return hb;
  }),

  /** A run's state history, oldest first. */
  history: readProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const run = await ctx.db.flowRun.findFirst({
      where: { id: input.id, workspaceId: ctx.workspaceId },
      select: { id: true },
    });
    if (!run) throw notFound("flow run", input.id);
    const states = await ctx.db.state.findMany({
      where: { flowRunId: run.id, workspaceId: ctx.workspaceId },
      orderBy: [{ timestamp: "asc" }, { id: "asc" }],
      select: { id: true, type: true, name: true, timestamp: true, message: true, details: true },
    });
    return states.map((s) => ({ ...s, timestamp: s.timestamp.toISOString() }));
  }),

  /**
   * Run counts per state in time buckets, for the runs chart, with the list's state, flow and
   * deployment filters (tags, work pool and parent are not among the counted dimensions). Windows
   * over six hours with buckets of an hour or more are snapped to whole hours (see planBuckets):
   * the answer's `from`, `bucketMs` and `buckets` are the grid actually used.
   */
  counts: readProcedure
    .input(
      z.object({
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
        buckets: z.number().int().min(1).max(200).default(30),
        states: z.array(stateType).optional(),
        flowId: id.optional(),
        flowName: z.string().optional(),
        deploymentId: id.optional(),
      }),
    )
    .query(({ ctx, input }) =>
      countFlowRuns(
        ctx.pool,
        ctx.workspaceId,
        { from: new Date(input.from), to: new Date(input.to), buckets: input.buckets },
        { states: input.states, flowId: input.flowId, flowName: input.flowName, deploymentId: input.deploymentId },
      ),
    ),
});
