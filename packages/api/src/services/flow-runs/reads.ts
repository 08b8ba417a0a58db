// Reading flow runs: one run, pages of runs with the list's filters, a run's state history. Every
// query is scoped to the caller's workspace and selects explicitly what it returns.
import type { StateType } from "@flowplane/core";
import type { Prisma } from "@flowplane/db";
import { notFound } from "../../errors.ts";
import type { Resources } from "../resources.ts";
import { attemptRefusal, type RunAttempt } from "../run-state/fence.ts";
import { stateHistory } from "../run-state/history.ts";

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
  codeVersion: true,
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
  codeVersion: string | null;
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
    codeVersion: r.codeVersion,
    createdAt: r.createdAt.toISOString(),
  };
}

export type FlowRunView = ReturnType<typeof presentFlowRun>;

/** One run; for a run token (`attempt`), only its own run or a sub-flow run of its attempt. */
export async function getFlowRun(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  attempt: RunAttempt | null = null,
): Promise<FlowRunView> {
  const row = await res.prisma.flowRun.findFirst({
    where: { id: flowRunId, workspaceId },
    select: { ...flowRunSelect, claimToken: true },
  });
  if (!row) throw notFound("flow run", flowRunId);
  const refusal = attempt && attemptRefusal(row, attempt);
  if (refusal) throw refusal;
  return presentFlowRun(row);
}

export interface FlowRunFilter {
  limit: number;
  cursor?: string | undefined;
  states?: StateType[] | undefined;
  flowId?: string | undefined;
  flowName?: string | undefined;
  deploymentId?: string | undefined;
  workPoolName?: string | undefined;
  tags?: string[] | undefined;
  parentFlowRunId?: string | undefined;
  /** Only runs expected to start in [from, to). */
  from?: string | undefined;
  to?: string | undefined;
}

/** A page of runs, newest first (by id, or by expected start when a time window is given). */
export async function listFlowRuns(res: Resources, workspaceId: string, input: FlowRunFilter): Promise<FlowRunView[]> {
  const db = res.prisma;
  // With a time window, runs are listed by expected start (newest first) so the index on
  // (workspace, expectedStartTime, id) finds the window directly; walking ids newest-first would
  // pass every run newer than the window first. The cursor stays an id either way.
  const byTime = Boolean(input.from || input.to);
  let cursor: Prisma.FlowRunWhereInput = {};
  if (input.cursor && !byTime) cursor = { id: { lt: input.cursor } };
  if (input.cursor && byTime) {
    const at = await db.flowRun.findFirst({
      where: { id: input.cursor, workspaceId },
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
  const rows = await db.flowRun.findMany({
    where: {
      workspaceId,
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
  return rows.map(presentFlowRun);
}

/** A run's state history, oldest first. */
export async function flowRunHistory(res: Resources, workspaceId: string, flowRunId: string) {
  const run = await res.prisma.flowRun.findFirst({ where: { id: flowRunId, workspaceId }, select: { id: true } });
  if (!run) throw notFound("flow run", flowRunId);
  return stateHistory(res, workspaceId, { flowRunId: run.id });
}
