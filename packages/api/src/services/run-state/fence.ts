// Claim fencing. A claim hands the worker a random token, stored on the run until the run is
// released (SCHEDULED: a retry, a reschedule, an expired claim) or claimed again. Every write for
// the claimed attempt (state proposals, heartbeats, the retry policy, the infrastructure report)
// carries it, so a second worker, or a zombie whose run was crashed and handed to another worker,
// cannot move the run: its writes are refused with CLAIM_SUPERSEDED, and a runner told so stops.
// A run token (auth/run-tokens.ts) presents its attempt's claim token on every write. The sub-flow
// runs its attempt creates carry that same token (they are never claimed: outside any pool), so
// one comparison decides both whether the attempt is current and whether the run is in its scope.
import { ApiError } from "../../errors.ts";
import type { RunRow } from "./rows.ts";

/** A run token's attempt: its flow run and the claim token it holds (see auth/run-tokens.ts). */
export interface RunAttempt {
  flowRunId: string;
  claimToken: string;
}

/** Who writes for a run, as far as fencing cares. Omitted for the server's own changes. */
export interface Proposer {
  /** The claim token the writer presents (from its claim), if any. */
  claimToken?: string | null | undefined;
  /**
   * A worker key: it may write only for the runs whose claim it holds, and for runs outside any
   * work pool (a flow called in a script, its sub-flows), which are never claimed. People's keys
   * (developer, admin) without a token act on runs as people do: through the rules, unfenced.
   */
  workerScoped: boolean;
  /**
   * The flow run of a run token. Its writes for any run that is neither this one nor a sub-flow
   * run of its attempt are FORBIDDEN (not superseded: the token's own attempt may well be current).
   */
  runTokenFor?: string;
}

/** The error refusing a write from someone who does not hold the run's current claim, or null. */
export function fenceRefusal(
  run: Pick<RunRow, "id" | "claimToken" | "workPoolId">,
  proposer: Proposer | undefined,
): ApiError | null {
  if (!proposer) return null;
  const presented = proposer.claimToken ?? null;
  if (proposer.runTokenFor !== undefined && presented !== null)
    return attemptRefusal(run, { flowRunId: proposer.runTokenFor, claimToken: presented });
  if (presented !== null) {
    if (presented === run.claimToken) return null;
    return superseded(
      `flow run ${run.id}: this attempt's claim is no longer the run's current one (the run was released, ` +
        "retried or claimed by another worker); stop working on it",
    );
  }
  if (!proposer.workerScoped) return null;
  if (run.claimToken !== null)
    return superseded(
      `flow run ${run.id} is held by a worker's claim; a worker key must present the claim token it received ` +
        "with the claim (claimToken)",
    );
  if (run.workPoolId !== null)
    return superseded(
      `flow run ${run.id} belongs to a work pool; a worker key may write for it only once it claims it`,
    );
  return null;
}

/**
 * Whether a run token's attempt may act on `run`: its own run while it holds the claim, and the
 * sub-flow runs it created (which carry its claim token). Its own run under another claim refuses
 * it as superseded (its runner stops); any other run is FORBIDDEN.
 */
export function attemptRefusal(run: Pick<RunRow, "id" | "claimToken">, attempt: RunAttempt): ApiError | null {
  if (run.claimToken === attempt.claimToken) return null;
  if (run.id === attempt.flowRunId)
    return superseded(
      `flow run ${run.id}: this run token's attempt is no longer the run's current one (the run was released, ` +
        "retried or claimed again); stop working on it",
    );
  return new ApiError(
    "FORBIDDEN",
    `flow run ${run.id} is not this run token's: it may act only on flow run ${attempt.flowRunId} ` +
      "and the sub-flow runs it created",
  );
}

function superseded(message: string): ApiError {
  return new ApiError("CLAIM_SUPERSEDED", message, { path: "claimToken" });
}
