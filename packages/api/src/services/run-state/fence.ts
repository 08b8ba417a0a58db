// Claim fencing. A claim hands the worker a random token, stored on the run until the run is
// released (SCHEDULED: a retry, a reschedule, an expired claim) or claimed again. Every write for
// the claimed attempt (state proposals, heartbeats, the retry policy, the infrastructure report)
// carries it, so a second worker, or a zombie whose run was crashed and handed to another worker,
// cannot move the run: its writes are refused with CLAIM_SUPERSEDED, and a runner told so stops.
import { ApiError } from "../../errors.ts";
import type { RunRow } from "./rows.ts";

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
}

/** The error refusing a write from someone who does not hold the run's current claim, or null. */
export function fenceRefusal(
  run: Pick<RunRow, "id" | "claimToken" | "workPoolId">,
  proposer: Proposer | undefined,
): ApiError | null {
  if (!proposer) return null;
  const presented = proposer.claimToken ?? null;
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

function superseded(message: string): ApiError {
  return new ApiError("CLAIM_SUPERSEDED", message, { path: "claimToken" });
}
