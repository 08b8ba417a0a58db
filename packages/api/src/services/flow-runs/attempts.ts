// What the process running an attempt reports besides states: the retry policy of the flow code it
// runs, heartbeats, and (from the worker) where its infrastructure is.
import type { RetryPolicy } from "@flowplane/core";
import { ApiError, notFound } from "../../errors.ts";
import type { Resources } from "../resources.ts";

/**
 * The runner declares the retry policy of the flow code it is running; the server's retry rule
 * (for failures and for crashes it detects itself) uses it.
 */
export async function setFlowRunRetryPolicy(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  retryPolicy: RetryPolicy,
): Promise<{ ok: true }> {
  const updated = await res.prisma.flowRun.updateMany({
    where: { id: flowRunId, workspaceId },
    data: { retryPolicy: retryPolicy as object },
  });
  if (updated.count === 0) throw notFound("flow run", flowRunId);
  return { ok: true };
}

/** Records a flow run's heartbeat; says whether the run has been asked to cancel. */
export async function heartbeatFlowRun(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
): Promise<{ found: true; cancelRequested: boolean; stateType: string }> {
  const { rows } = await res.pool.query<{ stateType: string }>(
    `UPDATE "FlowRun" SET "heartbeatAt" = now() WHERE id = $1 AND "workspaceId" = $2 RETURNING "stateType"`,
    [flowRunId, workspaceId],
  );
  const stateType = rows[0]?.stateType;
  if (stateType === undefined) throw notFound("flow run", flowRunId);
  return { found: true, cancelRequested: stateType === "CANCELLING", stateType };
}

/** The worker says where a run's infrastructure is (pid, container, task ARN, job name). */
export async function reportInfrastructure(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  infrastructureId: string,
): Promise<{ ok: true }> {
  const updated = await res.prisma.flowRun.updateMany({
    where: { id: flowRunId, workspaceId },
    data: { infrastructureId },
  });
  if (updated.count === 0)
    throw new ApiError("NOT_FOUND", `flowRunId: flow run ${flowRunId} not found`, { path: "flowRunId" });
  return { ok: true };
}
