/**
 * Orchestration: the server's pure answer to a proposed run-state change.
 *
 * ```ts
 * const decision = orchestrate({
 *   kind: "flow",
 *   now: new Date(),
 *   current: run.state,
 *   proposed: { type: "FAILED", message: "boom" },
 *   run: { runCount: 1, retryPolicy: { retries: 2, retryDelaySeconds: exponentialBackoff(10) }, nextScheduledTime: null },
 * });
 * // → { status: "REJECT", write: true, state: { type: "SCHEDULED", name: "AwaitingRetry", ... } }
 * ```
 */
export {
  RULE_NAMES,
  type OrchestrationContext,
  type OrchestrationDecision,
  type OrchestrationRule,
  type ProposalOutcome,
  type ProposalStatus,
  type RuleName,
  type RunKind,
} from "./types.ts";
export { ORCHESTRATION_RULES, orchestrate, outcomeOf } from "./rules.ts";
export { normalizeState } from "./normalize.ts";
export {
  MAX_RETRY_DELAY_SECONDS,
  exponentialBackoff,
  retryDelayMs,
  type RetryDelay,
  type RetryPolicy,
} from "./retry.ts";
