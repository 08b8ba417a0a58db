// Requests people make of a run: cancel and retry. Both are proposals chosen under the run's
// current state, so they never act on a state that changed since the caller looked.
import { isTerminal, type ProposalOutcome } from "@flowplane/core";
import type { Resources } from "../resources.ts";
import { proposeFlowRunState } from "../run-state/changes.ts";

/** Requests cancellation: not-yet-started runs end CANCELLED at once, started ones go CANCELLING. */
export async function cancelFlowRun(res: Resources, workspaceId: string, flowRunId: string): Promise<ProposalOutcome> {
  // Chosen under the lock: a run claimed between a separate read and the proposal must go CANCELLING
  // (so its worker stops the infrastructure), not straight to CANCELLED.
  return proposeFlowRunState(res, workspaceId, flowRunId, ({ type }) =>
    type === "PENDING" || type === "RUNNING" || type === "PAUSED"
      ? { type: "CANCELLING", message: "cancel requested" }
      : { type: "CANCELLED", message: "cancelled before it started" },
  );
}

/**
 * Re-runs a finished run: a new attempt scheduled now. Only a finished run: the rules accept
 * SCHEDULED from RUNNING or PENDING (a pause hand-back, a released claim), so "retry" there would
 * free a live run for a second worker while the first still runs it. Only a deployment's run: a
 * run without one belongs to no work pool, so no worker would ever claim it and it would wait
 * SCHEDULED for ever.
 */
export async function retryFlowRun(res: Resources, workspaceId: string, flowRunId: string): Promise<ProposalOutcome> {
  return proposeFlowRunState(res, workspaceId, flowRunId, ({ type }, run) => {
    if (!isTerminal(type))
      return {
        abort: `The run is ${type}; only a finished run (COMPLETED, FAILED, CANCELLED, CRASHED) can be retried.`,
      };
    if (run.deploymentId === null || run.workPoolId === null)
      return {
        abort:
          "The run has no deployment (it was started by calling the flow in a script), so no worker can pick up a " +
          "retry; run the flow again instead.",
      };
    return {
      type: "SCHEDULED",
      name: "AwaitingRetry",
      message: "retry requested",
      details: { retryRequested: true, scheduledTime: new Date().toISOString() },
    };
  });
}
