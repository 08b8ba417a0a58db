import { z } from "zod";
import { notFound } from "../errors.ts";
import { proposeTaskRunState } from "../services/task-runs.ts";
import { readProcedure, router, workerProcedure } from "../trpc.ts";
import { id, stateInput } from "./schemas.ts";

export const taskRunsRouter = router({
  /**
   * A flow run's task runs in start order, for the timeline. Compact rows (no parameters) so a run
   * with ten thousand task runs stays one fast response; `after` pages by id.
   */
  list: readProcedure
    .input(z.object({ flowRunId: id, limit: z.number().int().min(1).max(20_000).default(5_000), after: id.optional() }))
    .query(async ({ ctx, input }) => {
      const run = await ctx.db.flowRun.findFirst({
        where: { id: input.flowRunId, workspaceId: ctx.workspaceId },
        select: { id: true },
      });
      if (!run) throw notFound("flow run", input.flowRunId);
      const { rows } = await ctx.pool.query(
        `SELECT tr.id, tr.name, tr."taskKey", tr."dynamicKey", tr."stateType", tr."stateName", tr."stateMessage",
                tr."runCount", tr."startTime", tr."endTime", tr."createdAt", tr.tags, tr."inputTaskRunIds",
                sub.id AS "subflowRunId"
           FROM "TaskRun" tr
           LEFT JOIN "FlowRun" sub ON sub."parentTaskRunId" = tr.id
          WHERE tr."flowRunId" = $1 AND tr."workspaceId" = $2 AND ($3::uuid IS NULL OR tr.id > $3)
          ORDER BY tr.id LIMIT $4`,
        [run.id, ctx.workspaceId, input.after ?? null, input.limit],
      );
      return rows as {
        id: string;
        name: string;
        taskKey: string;
        dynamicKey: string;
        stateType: string;
        stateName: string;
        stateMessage: string | null;
        runCount: number;
        startTime: Date | null;
        endTime: Date | null;
        createdAt: Date;
        tags: string[];
        /** Task runs whose futures fed this one: the timeline's dependency edges. */
        inputTaskRunIds: string[];
        subflowRunId: string | null;
      }[];
    }),
  history: readProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    // Another workspace's task run is "not found", as flowRuns.history says, not an empty history.
    const run = await ctx.db.taskRun.findFirst({
      where: { id: input.id, workspaceId: ctx.workspaceId },
      select: { id: true },
    });
    if (!run) throw notFound("task run", input.id);
    const states = await ctx.db.state.findMany({
      where: { taskRunId: run.id, workspaceId: ctx.workspaceId },
      orderBy: [{ timestamp: "asc" }, { id: "asc" }],
      select: { id: true, type: true, name: true, timestamp: true, message: true, details: true },
    });
    return states.map((s) => ({ ...s, timestamp: s.timestamp.toISOString() }));
  }),
  /** One orchestrated proposal (the SDK reports task states in batches through ingest.batch). */
  setState: workerProcedure
    .input(z.object({ id, state: stateInput }))
    .mutation(({ ctx, input }) => proposeTaskRunState(ctx.pool, ctx.workspaceId, input.id, input.state)),
});
