import type { State, StateInput, StateType } from "../states.ts";
import type { RetryPolicy } from "./retry.ts";

export type RunKind = "flow" | "task";

/** Everything a rule may look at. Rules read time from `now` so they stay pure and testable. */
export interface OrchestrationContext {
  kind: RunKind;
  now: Date;
  /** null when the run has no state yet. */
  current: State | null;
  proposed: StateInput;
  run: {
    /** Attempts that have reached RUNNING so far. */
    runCount: number;
    /** `retries: 0` when the run has no retry policy. */
    retryPolicy: RetryPolicy;
    /** When the run may start. */
    nextScheduledTime: Date | null;
  };
  /**
   * Task runs only: the enclosing flow run's state type. Leave undefined for a task with no
   * enclosing flow run; null means the flow run exists but has no state yet (so it is not running).
   */
  parentFlowRunState?: StateType | null;
  /** Admin override: skip every rule except DuplicateTransition. */
  force?: boolean;
  /** Source of randomness for retry jitter; defaults to Math.random. */
  random?: () => number;
}

/** The rules' names, in their order (ORCHESTRATION_RULES); decisions say which rule decided. */
export const RULE_NAMES = [
  "DuplicateTransition",
  "CancelUnheldRuns",
  "ForceOverride",
  "TerminalIsFinal",
  "CancellingOnlyToCancelled",
  "LateOnlyFromScheduled",
  "NoSecondClaim",
  "WaitForScheduledTime",
  "TaskNeedsRunningFlow",
  "RetryFailedRuns",
  "CachedCompletion",
  "PauseResume",
  "AlreadyRunning",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export type OrchestrationDecision =
  /** Write `state`: the proposal normalized (name defaulted, timestamp = now if missing). */
  | { status: "ACCEPT"; state: State; rule?: RuleName }
  /** Adopt `state`. `write: true` means the server stores `state` instead of the proposal. */
  | { status: "REJECT"; state: State; write: boolean; reason: string; rule: RuleName }
  /** Write nothing; the client proposes again after `delaySeconds`. */
  | { status: "WAIT"; delaySeconds: number; reason: string; rule: RuleName }
  /** Write nothing; the client must stop driving this run. */
  | { status: "ABORT"; reason: string; rule: RuleName };

export type ProposalStatus = OrchestrationDecision["status"];

/**
 * The answer a proposer receives (over the API, for flow and task runs alike): the decision, the
 * state the run is in afterwards (the written state, or the current one when nothing was written),
 * and why.
 */
export interface ProposalOutcome {
  decision: ProposalStatus;
  state: State;
  reason?: string;
  delaySeconds?: number;
}

export interface OrchestrationRule {
  name: RuleName;
  appliesTo: readonly RunKind[];
  /** undefined passes the proposal on to the next rule. */
  decide(ctx: OrchestrationContext): OrchestrationDecision | undefined;
}
