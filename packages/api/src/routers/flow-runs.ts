import { z } from "zod";
import { ApiError } from "../errors.ts";
import { countFlowRuns } from "../services/flow-run-counts.ts";
import type { ProposalOutcome } from "@flowplane/core";
import { createFlowRun } from "../services/flow-runs/create.ts";
import { flowRunHistory, getFlowRun, listFlowRuns } from "../services/flow-runs/reads.ts";
import { cancelFlowRun, retryFlowRun } from "../services/flow-runs/requests.ts";
import { setFlowRunRetryPolicy } from "../services/flow-runs/attempts.ts";
import { proposeFlowRunState } from "../services/run-state/changes.ts";
import { heartbeatFlowRun } from "../services/flow-runs/attempts.ts";
import {
  adminProcedure,
  developerProcedure,
  readProcedure,
  router,
  runReadProcedure,
  runWriteProcedure,
} from "../trpc.ts";
import {
  claimToken,
  id,
  jsonObject,
  page,
  pageInput,
  proposerOf,
  retryPolicy,
  stateInput,
  stateType,
} from "./schemas.ts";

/** Proposals per setStates call (one statement's worth of writes). */
const MAX_PROPOSALS = 500;

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
  /** Ad-hoc runs and sub-flow runs; a run token creates only sub-flow runs of its own run. */
  create: runWriteProcedure
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
      const created = await createFlowRun(ctx.services.resources, ctx.workspaceId, input, ctx.runScope);
      return getFlowRun(ctx.services.resources, ctx.workspaceId, created.id, ctx.runScope);
    }),

  /** One run; a run token reads only its own run and the sub-flow runs its attempt created. */
  get: runReadProcedure
    .input(z.object({ id }))
    .query(({ ctx, input }) => getFlowRun(ctx.services.resources, ctx.workspaceId, input.id, ctx.runScope)),

  list: readProcedure
    .input(listInput)
    .query(async ({ ctx, input }) =>
      page(await listFlowRuns(ctx.services.resources, ctx.workspaceId, input), input.limit),
    ),

  /** Proposes a state; the answer is the orchestration decision. `force` needs an admin key. */
  setState: runWriteProcedure.input(z.object({ id, state: stateInput, claimToken })).mutation(({ ctx, input }) =>
    proposeFlowRunState(ctx.services.resources, ctx.workspaceId, input.id, input.state, {
      proposer: proposerOf(ctx.principal, input.claimToken),
    }),
  ),
  /**
   * Proposes states for many runs in one call (a worker reporting the runs it holds, bulk changes):
   * each run is decided on its own, as by setState, and their writes share one statement. Answers
   * come in the proposals' order; a run that cannot be found answers an error in its place and the
   * others still apply.
   */
  setStates: runWriteProcedure
    .input(
      z.object({
        proposals: z
          .array(z.object({ id, state: stateInput, claimToken }))
          .min(1)
          .max(MAX_PROPOSALS),
      }),
    )
    .mutation(({ ctx, input }) =>
      Promise.all(
        input.proposals.map(
          async ({
            id,
            state,
            claimToken,
          }): Promise<ProposalOutcome | { error: { code: string; message: string } }> => {
            try {
              return await proposeFlowRunState(ctx.services.resources, ctx.workspaceId, id, state, {
                proposer: proposerOf(ctx.principal, claimToken),
              });
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
  setRetryPolicy: runWriteProcedure
    .input(z.object({ id, retryPolicy, claimToken }))
    .mutation(({ ctx, input }) =>
      setFlowRunRetryPolicy(
        ctx.services.resources,
        ctx.workspaceId,
        input.id,
        input.retryPolicy,
        proposerOf(ctx.principal, input.claimToken),
      ),
    ),

  /**
   * The running attempt is alive. Answers whether the run was asked to cancel; refused with
   * CLAIM_SUPERSEDED when the caller no longer holds the run's claim (its runner must stop).
   */
  heartbeat: runWriteProcedure
    .input(z.object({ id, claimToken }))
    .mutation(({ ctx, input }) =>
      heartbeatFlowRun(ctx.services.resources, ctx.workspaceId, input.id, proposerOf(ctx.principal, input.claimToken)),
    ),

  /** A run's state history, oldest first. */
  history: readProcedure
    .input(z.object({ id }))
    .query(({ ctx, input }) => flowRunHistory(ctx.services.resources, ctx.workspaceId, input.id)),

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
        ctx.services.resources,
        ctx.workspaceId,
        { from: new Date(input.from), to: new Date(input.to), buckets: input.buckets },
        { states: input.states, flowId: input.flowId, flowName: input.flowName, deploymentId: input.deploymentId },
      ),
    ),
});
