// What the processes running an attempt report besides states: the retry policy of the flow code
// the runner runs, heartbeats, and (from the worker) where the infrastructure is. Each write is
// fenced like a state proposal (run-state/fence.ts): only the holder of the run's current claim
// may make it.
import { isTerminal, type RetryPolicy, type StateType } from "@flowplane/core";
import { ApiError, notFound } from "../../errors.ts";
import type { Resources } from "../resources.ts";
import { attemptRefusal, fenceRefusal, type Proposer, type RunAttempt } from "../run-state/fence.ts";

/**
 * Runs `set` (an UPDATE's SET list, parameters from $4) on the run if `proposer` may write for
 * it, answering the run's state type after the write. The fence is checked on a read and the
 * update applies only if the claim is still the one checked, so a claim changing in between
 * cannot let a stale writer through.
 */
async function fencedUpdate(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  proposer: Proposer,
  set: string,
  values: unknown[],
  notFoundError: () => ApiError = () => notFound("flow run", flowRunId),
): Promise<{ stateType: string; heartbeatAt: Date | null }> {
  for (;;) {
    const { rows } = await res.pool.query<{ id: string; claimToken: string | null; workPoolId: string | null }>(
      `SELECT id, "claimToken", "workPoolId" FROM "FlowRun" WHERE id = $1 AND "workspaceId" = $2`,
      [flowRunId, workspaceId],
    );
    const run = rows[0];
    if (!run) throw notFoundError();
    const refusal = fenceRefusal(run, proposer);
    if (refusal) throw refusal;
    const updated = await res.pool.query<{ stateType: string; heartbeatAt: Date | null }>(
      `UPDATE "FlowRun" SET ${set} WHERE id = $1 AND "workspaceId" = $2 AND "claimToken" IS NOT DISTINCT FROM $3::uuid
       RETURNING "stateType", "heartbeatAt"`,
      [flowRunId, workspaceId, run.claimToken, ...values],
    );
    const row = updated.rows[0];
    if (row !== undefined) return row;
    // The run was claimed or released between the read and the write: check again.
  }
}

/**
 * The runner declares the retry policy of the flow code it is running; the server's retry rule
 * (for failures and for crashes it detects itself) uses it.
 */
export async function setFlowRunRetryPolicy(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  retryPolicy: RetryPolicy,
  proposer: Proposer,
): Promise<{ ok: true }> {
  await fencedUpdate(res, workspaceId, flowRunId, proposer, `"retryPolicy" = $4::jsonb`, [JSON.stringify(retryPolicy)]);
  return { ok: true };
}

/** Records a flow run's heartbeat; says whether the run has been asked to cancel. */
export async function heartbeatFlowRun(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  proposer: Proposer,
): Promise<{ found: true; cancelRequested: boolean; stateType: string }> {
  const { stateType } = await fencedUpdate(res, workspaceId, flowRunId, proposer, `"heartbeatAt" = now()`, []);
  return { found: true, cancelRequested: stateType === "CANCELLING", stateType };
}

/** The worker says where a run's infrastructure is (pid, container, task ARN, job name). */
export async function reportInfrastructure(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  infrastructureId: string,
  proposer: Proposer,
): Promise<{ ok: true }> {
  await fencedUpdate(
    res,
    workspaceId,
    flowRunId,
    proposer,
    `"infrastructureId" = $4`,
    [infrastructureId],
    () => new ApiError("NOT_FOUND", `flowRunId: flow run ${flowRunId} not found`, { path: "flowRunId" }),
  );
  return { ok: true };
}

/**
 * The worker says the run's infrastructure is still provisioning (a Fargate task pulling its image,
 * a pod waiting for a node): the claim of a PENDING run is pushed `claimTimeoutSeconds` ahead, so
 * a slow start is not mistaken for one that never started and handed to a second worker. Fenced
 * like every write for the attempt; once the run has left PENDING nothing changes. Answers the
 * run's state type (the worker stops extending once it is not PENDING) and whether its runner has
 * heartbeated within `runHeartbeatTimeoutSeconds` (a worker that lost sight of the infrastructure
 * keeps a run whose runner still reports).
 */
export async function extendClaim(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  timeouts: { claimTimeoutSeconds: number; runHeartbeatTimeoutSeconds: number },
  proposer: Proposer,
): Promise<{ stateType: string; runnerAlive: boolean }> {
  const { stateType, heartbeatAt } = await fencedUpdate(
    res,
    workspaceId,
    flowRunId,
    proposer,
    `"claimExpiresAt" = CASE WHEN "stateType" = 'PENDING' THEN now() + make_interval(secs => $4::int) ELSE "claimExpiresAt" END`,
    [timeouts.claimTimeoutSeconds],
    () => new ApiError("NOT_FOUND", `flowRunId: flow run ${flowRunId} not found`, { path: "flowRunId" }),
  );
  const runnerAlive =
    heartbeatAt !== null && heartbeatAt.getTime() > Date.now() - timeouts.runHeartbeatTimeoutSeconds * 1000;
  return { stateType, runnerAlive };
}

/**
 * Before a run token is renewed: its attempt still holds its run's claim and the run has not
 * ended. A token is never renewed for a superseded attempt (CLAIM_SUPERSEDED), so one that leaked
 * from it dies within one lifetime.
 */
export async function assertAttemptCurrent(res: Resources, workspaceId: string, attempt: RunAttempt): Promise<void> {
  const { rows } = await res.pool.query<{ id: string; claimToken: string | null; stateType: StateType }>(
    `SELECT id, "claimToken", "stateType" FROM "FlowRun" WHERE id = $1 AND "workspaceId" = $2`,
    [attempt.flowRunId, workspaceId],
  );
  const run = rows[0];
  if (!run) throw notFound("flow run", attempt.flowRunId);
  const refusal = attemptRefusal(run, attempt);
  if (refusal) throw refusal;
  if (isTerminal(run.stateType))
    throw new ApiError(
      "PRECONDITION_FAILED",
      `flow run ${run.id} has ended (${run.stateType}); its token is not renewed`,
    );
}
