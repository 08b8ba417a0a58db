// Task runs: the timeline's list, a task run's history, and single proposals, orchestrated like
// flow-run proposals (including the rule that a task cannot start unless its flow run is RUNNING).
// The SDK's normal path for states is batched ingestion.
import {
  isTerminal,
  orchestrate,
  outcomeOf,
  uuidv7,
  type ProposalOutcome,
  type StateInput,
  type StateType,
} from "@flowplane/core";
import { notFound } from "../errors.ts";
import type { Resources } from "./resources.ts";
import { attemptRefusal, type RunAttempt } from "./run-state/fence.ts";
import { stateOfRow, type StateColumns } from "./run-state/rows.ts";
import { inTransaction } from "./sql.ts";
import { stateHistory } from "./run-state/history.ts";

export async function proposeTaskRunState(
  res: Resources,
  workspaceId: string,
  taskRunId: string,
  proposed: StateInput,
  /** A run token's attempt: only task runs of its own runs. */
  attempt: RunAttempt | null = null,
): Promise<ProposalOutcome> {
  const { outcome, flowRunId } = await inTransaction(res.pool, async (sql) => {
    const now = new Date();
    const { rows } = await sql.query<
      StateColumns & {
        id: string;
        flowRunId: string;
        runCount: number;
        flowStateType: StateType;
        flowClaimToken: string | null;
      }
    >(
      `SELECT tr.id, tr."flowRunId", tr."stateType", tr."stateName", tr."stateTimestamp", tr."stateMessage", tr."stateTransitionId",
              tr."runCount", fr."stateType" AS "flowStateType", fr."claimToken" AS "flowClaimToken"
         FROM "TaskRun" tr JOIN "FlowRun" fr ON fr.id = tr."flowRunId"
        WHERE tr.id = $1 AND tr."workspaceId" = $2 FOR UPDATE OF tr`,
      [taskRunId, workspaceId],
    );
    const run = rows[0];
    if (!run) throw notFound("task run", taskRunId);
    const refusal = attempt && attemptRefusal({ id: run.flowRunId, claimToken: run.flowClaimToken }, attempt);
    if (refusal) throw refusal;
    const decision = orchestrate({
      kind: "task",
      now,
      current: stateOfRow(run),
      proposed,
      run: { runCount: run.runCount, retryPolicy: { retries: 0 }, nextScheduledTime: null },
      parentFlowRunState: run.flowStateType,
    });
    const outcome = outcomeOf(decision, stateOfRow(run));
    const s = decision.status === "ACCEPT" || (decision.status === "REJECT" && decision.write) ? decision.state : null;
    if (s) {
      await sql.query(
        `WITH history AS (
           INSERT INTO "State" (id, "workspaceId", "taskRunId", type, name, timestamp, message, "transitionId", details)
           VALUES ($1, $2, $3, $4::"StateType", $5, $6, $7, $8, $9)
         )
         UPDATE "TaskRun" SET "stateType" = $4::"StateType", "stateName" = $5, "stateTimestamp" = $6, "stateMessage" = $7,
                "stateTransitionId" = $8, "runCount" = "runCount" + CASE WHEN $4 = 'RUNNING' THEN 1 ELSE 0 END,
                "startTime" = CASE WHEN $4 = 'RUNNING' THEN COALESCE("startTime", $6) ELSE "startTime" END,
                "endTime" = CASE WHEN $10 THEN $6 ELSE "endTime" END, "updatedAt" = $6
          WHERE id = $3`,
        [
          uuidv7(),
          workspaceId,
          run.id,
          s.type,
          s.name,
          new Date(s.timestamp),
          s.message ?? null,
          s.transitionId ?? null,
          JSON.stringify(s.details),
          isTerminal(s.type),
        ],
      );
    }
    return { outcome, flowRunId: s ? run.flowRunId : null };
  });
  if (flowRunId) res.publisher.publish([{ kind: "task_runs", workspaceId, flowRunIds: [flowRunId] }]);
  return outcome;
}

export interface TimelineTaskRun {
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
}

/**
 * A flow run's task runs in start order, for the timeline. Compact rows (no parameters) so a run
 * with ten thousand task runs stays one fast response; `after` pages by id.
 */
export async function listTaskRuns(
  res: Resources,
  workspaceId: string,
  input: { flowRunId: string; limit: number; after?: string | undefined },
): Promise<TimelineTaskRun[]> {
  const run = await res.prisma.flowRun.findFirst({
    where: { id: input.flowRunId, workspaceId },
    select: { id: true },
  });
  if (!run) throw notFound("flow run", input.flowRunId);
  const { rows } = await res.pool.query<TimelineTaskRun>(
    `SELECT tr.id, tr.name, tr."taskKey", tr."dynamicKey", tr."stateType", tr."stateName", tr."stateMessage",
            tr."runCount", tr."startTime", tr."endTime", tr."createdAt", tr.tags,
            tr."inputTaskRunIds", sub.id AS "subflowRunId"
       FROM "TaskRun" tr
       LEFT JOIN "FlowRun" sub ON sub."parentTaskRunId" = tr.id
      WHERE tr."flowRunId" = $1 AND tr."workspaceId" = $2 AND ($3::uuid IS NULL OR tr.id > $3)
      ORDER BY tr.id LIMIT $4`,
    [run.id, workspaceId, input.after ?? null, input.limit],
  );
  return rows;
}

/** A task run's state history, oldest first. */
export async function taskRunHistory(res: Resources, workspaceId: string, taskRunId: string) {
  // Another workspace's task run is "not found", as flowRuns.history says, not an empty history.
  const run = await res.prisma.taskRun.findFirst({ where: { id: taskRunId, workspaceId }, select: { id: true } });
  if (!run) throw notFound("task run", taskRunId);
  return stateHistory(res, workspaceId, { taskRunId: run.id });
}
