import { z } from "zod";
import { listTaskRuns, proposeTaskRunState, taskRunHistory } from "../services/task-runs.ts";
import { readProcedure, router, runWriteProcedure } from "../trpc.ts";
import { id, stateInput } from "./schemas.ts";

export const taskRunsRouter = router({
  /** A flow run's task runs in start order, for the timeline (see listTaskRuns). */
  list: readProcedure
    .input(z.object({ flowRunId: id, limit: z.number().int().min(1).max(20_000).default(5_000), after: id.optional() }))
    .query(({ ctx, input }) => listTaskRuns(ctx.services.resources, ctx.workspaceId, input)),

  history: readProcedure
    .input(z.object({ id }))
    .query(({ ctx, input }) => taskRunHistory(ctx.services.resources, ctx.workspaceId, input.id)),

  /** One orchestrated proposal (the SDK reports task states in batches through ingest.batch). */
  setState: runWriteProcedure
    .input(z.object({ id, state: stateInput }))
    .mutation(({ ctx, input }) =>
      proposeTaskRunState(ctx.services.resources, ctx.workspaceId, input.id, input.state, ctx.runScope),
    ),
});
