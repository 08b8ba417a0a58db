// The server's answer to a proposed state change: an ordered list of small pure rules, learned from
// Prefect's core_policy.py. The first rule with an opinion decides; if none has one, the proposal is
// accepted as is. Order matters: earlier rules guard later ones (e.g. a terminal run never reaches
// the retry rule), so reorder only with the table tests in rules.test.ts passing.

import { isTerminal, StateNames, type State, type StateDetails, type StateType } from "../states.ts";
import { normalizeState } from "./normalize.ts";
import { retryDelayMs } from "./retry.ts";
import type {
  OrchestrationContext,
  OrchestrationDecision,
  OrchestrationRule,
  ProposalOutcome,
  RuleName,
  RunKind,
} from "./types.ts";

const ALL_KINDS: readonly RunKind[] = ["flow", "task"];

/**
 * Clients resend a proposal when they lose the response, carrying the same transitionId. Answering
 * with the state already stored makes the resend a no-op instead of a second transition. Runs before
 * ForceOverride so that even an admin's resent request is not applied twice.
 */
export const DuplicateTransition: OrchestrationRule = {
  name: "DuplicateTransition",
  appliesTo: ALL_KINDS,
  decide({ current, proposed }) {
    if (!proposed.transitionId || current === null || current.transitionId !== proposed.transitionId) return undefined;
    return reject(current, false, "DuplicateTransition", "This run has already made this transition.");
  },
};

/** An admin may set any state (e.g. to unstick a run); nothing after this rule applies to them. */
export const ForceOverride: OrchestrationRule = {
  name: "ForceOverride",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    return ctx.force === true ? accept(ctx, "ForceOverride") : undefined;
  },
};

/**
 * Cancelling asks the worker that holds a run to stop its infrastructure. A run nobody holds
 * (SCHEDULED, including AwaitingRetry and Late) has nothing to stop, and no worker would ever move
 * it out of CANCELLING, where it would hold a concurrency slot for ever: it is cancelled at once.
 * Before ForceOverride, so an admin's forced CANCELLING cannot strand a run either.
 */
export const CancelUnheldRuns: OrchestrationRule = {
  name: "CancelUnheldRuns",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed } = ctx;
    if (proposed.type !== "CANCELLING" || current?.type !== "SCHEDULED") return undefined;
    const cancelled = replacementState(ctx, {
      type: "CANCELLED",
      name: StateNames.Cancelled,
      message: proposed.message ?? "cancelled before it started",
      details: {},
    });
    return reject(cancelled, true, "CancelUnheldRuns", "No worker holds this run, so it is cancelled at once.");
  },
};

/**
 * A finished run's outcome is its record: a late report from a zombie worker must not overwrite it.
 * Re-running is a deliberate act, so it takes an explicit SCHEDULED proposal with retryRequested.
 */
export const TerminalIsFinal: OrchestrationRule = {
  name: "TerminalIsFinal",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed } = ctx;
    if (current === null || !isTerminal(current.type)) return undefined;
    if (proposed.type === "SCHEDULED" && proposed.details?.retryRequested === true)
      return accept(ctx, "TerminalIsFinal");
    return abort(
      "TerminalIsFinal",
      `The run is already ${current.type}; a finished run only leaves it through an explicit retry ` +
        "(SCHEDULED with details.retryRequested).",
    );
  },
};

/**
 * Someone asked to cancel; the infrastructure is being torn down. A run that manages to finish in the
 * meantime is still recorded as cancelled (the user's intent wins), and it may not start anything new.
 */
export const CancellingOnlyToCancelled: OrchestrationRule = {
  name: "CancellingOnlyToCancelled",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed } = ctx;
    if (current?.type !== "CANCELLING") return undefined;
    if (proposed.type === "CANCELLED") return accept(ctx, "CancellingOnlyToCancelled");
    if (!isTerminal(proposed.type)) {
      return abort("CancellingOnlyToCancelled", `The run is being cancelled; it cannot move to ${proposed.type}.`);
    }
    const cancelled = replacementState(ctx, {
      type: "CANCELLED",
      name: StateNames.Cancelled,
      message: `The run was cancelled while it was finishing (it reported ${proposed.type}${suffix(proposed.message)}).`,
      details: carriedDetails(ctx),
    });
    return reject(cancelled, true, "CancellingOnlyToCancelled", "A cancelling run can only become CANCELLED.");
  },
};

/** Late is the late-runs service's label for a scheduled run past its start time, nothing else. */
export const LateOnlyFromScheduled: OrchestrationRule = {
  name: "LateOnlyFromScheduled",
  appliesTo: ALL_KINDS,
  decide({ current, proposed }) {
    if (proposed.type !== "SCHEDULED" || proposed.name !== StateNames.Late) return undefined;
    // Late → Late changes nothing: answered with the current state, no second history row.
    if (current?.type === "SCHEDULED" && current.name === StateNames.Late)
      return reject(current, false, "LateOnlyFromScheduled", "The run is already Late.");
    if (current?.type === "SCHEDULED") return undefined;
    return keepCurrent(current, "LateOnlyFromScheduled", "Only a SCHEDULED run can be marked Late.");
  },
};

/**
 * PENDING is the claim: the worker that moves a run into it owns submitting the infrastructure. Two
 * workers racing for one run must not both win, so PENDING is reachable only from unclaimed states.
 * (Prefect also allows PENDING sub-state renames; Flowplane's claim is a single statement, so not needed.)
 */
export const NoSecondClaim: OrchestrationRule = {
  name: "NoSecondClaim",
  appliesTo: ALL_KINDS,
  decide({ current, proposed }) {
    if (proposed.type !== "PENDING") return undefined;
    if (current === null || current.type === "SCHEDULED" || current.type === "PAUSED") return undefined;
    return abort(
      "NoSecondClaim",
      `The run is already ${current.type}; it has been claimed and cannot be claimed again.`,
    );
  },
};

/**
 * The server's clock is the only one trusted to say a run may start: workers' clocks drift, and a
 * retry's delay would mean nothing if a client could start early.
 */
export const WaitForScheduledTime: OrchestrationRule = {
  name: "WaitForScheduledTime",
  appliesTo: ALL_KINDS,
  decide({ current, proposed, run, now }) {
    if (proposed.type !== "RUNNING") return undefined;
    if (current?.type !== "SCHEDULED" && current?.type !== "PENDING") return undefined;
    const startAt = run.nextScheduledTime;
    if (startAt === null) return undefined;
    const earlyMs = startAt.getTime() - now.getTime();
    if (earlyMs <= 0) return undefined;
    // Rounded up: waiting a fraction of a second too long is harmless, waking up early earns another WAIT.
    return {
      status: "WAIT",
      delaySeconds: Math.ceil(earlyMs / 1000),
      reason: `The run is scheduled to start at ${startAt.toISOString()}.`,
      rule: "WaitForScheduledTime",
    };
  },
};

/**
 * A task's work belongs to its flow run's attempt; once that flow run has stopped (or has not
 * started) nobody is waiting for the result, so its task runner should stop too.
 */
export const TaskNeedsRunningFlow: OrchestrationRule = {
  name: "TaskNeedsRunningFlow",
  appliesTo: ["task"],
  decide({ proposed, parentFlowRunState }) {
    if (proposed.type !== "RUNNING") return undefined;
    if (parentFlowRunState === undefined || parentFlowRunState === "RUNNING") return undefined;
    return abort(
      "TaskNeedsRunningFlow",
      `The enclosing flow run is ${parentFlowRunState ?? "not started"}; tasks run only while their flow run is RUNNING.`,
    );
  },
};

/**
 * A failure with retries left becomes AwaitingRetry at now + delay. Only failures of a RUNNING
 * attempt count: runCount grows only on entering RUNNING, so retrying failures from other states
 * (say, infrastructure that never starts from PENDING) could loop forever without using up retries.
 */
export const RetryFailedRuns: OrchestrationRule = {
  name: "RetryFailedRuns",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed, run, now } = ctx;
    if (proposed.type !== "FAILED" && proposed.type !== "CRASHED") return undefined;
    if (current?.type !== "RUNNING" || proposed.details?.noRetry === true) return undefined;
    const { runCount, retryPolicy } = run;
    if (runCount < 1 || runCount > retryPolicy.retries) return undefined;

    const retryAt = new Date(now.getTime() + retryDelayMs(retryPolicy, runCount, ctx.random));
    const awaitingRetry = replacementState(ctx, {
      type: "SCHEDULED",
      name: StateNames.AwaitingRetry,
      message: `Retry ${runCount} of ${retryPolicy.retries} after ${proposed.type}${suffix(proposed.message)}`,
      details: { ...carriedDetails(ctx), scheduledTime: retryAt.toISOString() },
    });
    return reject(
      awaitingRetry,
      true,
      "RetryFailedRuns",
      `Retry ${runCount} of ${retryPolicy.retries} scheduled for ${retryAt.toISOString()}.`,
    );
  },
};

const CACHE_HIT_FROM: readonly StateType[] = ["SCHEDULED", "PENDING", "RUNNING"];

/**
 * A cache hit finishes a run without executing it, so it may come before the run ever claims or
 * starts. Stated explicitly so a future rule inserted above cannot block it unnoticed.
 */
export const CachedCompletion: OrchestrationRule = {
  name: "CachedCompletion",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed } = ctx;
    if (proposed.type !== "COMPLETED" || proposed.name !== StateNames.Cached) return undefined;
    if (current !== null && !CACHE_HIT_FROM.includes(current.type)) return undefined;
    return accept(ctx, "CachedCompletion");
  },
};

/** Pausing suspends work in progress, so only a started (or starting) run can pause. */
export const PauseResume: OrchestrationRule = {
  name: "PauseResume",
  appliesTo: ALL_KINDS,
  decide(ctx) {
    const { current, proposed } = ctx;
    if (proposed.type === "PAUSED") {
      if (current?.type === "RUNNING" || current?.type === "PENDING") return accept(ctx, "PauseResume");
      return keepCurrent(
        current,
        "PauseResume",
        `A ${current?.type ?? "new"} run cannot pause; only RUNNING or PENDING runs can.`,
      );
    }
    // Resuming in place (RUNNING) or handing the run back to a worker (SCHEDULED).
    if (current?.type === "PAUSED" && (proposed.type === "RUNNING" || proposed.type === "SCHEDULED")) {
      return accept(ctx, "PauseResume");
    }
    return undefined;
  },
};

/**
 * A second RUNNING for a running run means a second process believes it owns the run (a duplicate
 * submission). The one already running keeps it; the newcomer is shown the current state.
 */
export const AlreadyRunning: OrchestrationRule = {
  name: "AlreadyRunning",
  appliesTo: ALL_KINDS,
  decide({ current, proposed }) {
    if (proposed.type !== "RUNNING" || current?.type !== "RUNNING") return undefined;
    return keepCurrent(current, "AlreadyRunning", "The run is already RUNNING.");
  },
};

/** In priority order; the first rule that decides wins. */
export const ORCHESTRATION_RULES: readonly OrchestrationRule[] = [
  DuplicateTransition,
  CancelUnheldRuns,
  ForceOverride,
  TerminalIsFinal,
  CancellingOnlyToCancelled,
  LateOnlyFromScheduled,
  NoSecondClaim,
  WaitForScheduledTime,
  TaskNeedsRunningFlow,
  RetryFailedRuns,
  CachedCompletion,
  PauseResume,
  AlreadyRunning,
];

export function orchestrate(ctx: OrchestrationContext): OrchestrationDecision {
  for (const rule of ORCHESTRATION_RULES) {
    if (!rule.appliesTo.includes(ctx.kind)) continue;
    const decision = rule.decide(ctx);
    if (decision !== undefined) return decision;
  }
  return accept(ctx);
}

/**
 * The proposer's answer for a decision: the state the run is in afterwards (`current` when the
 * decision writes nothing).
 */
export function outcomeOf(decision: OrchestrationDecision, current: State): ProposalOutcome {
  switch (decision.status) {
    case "ACCEPT":
      return { decision: "ACCEPT", state: decision.state };
    case "REJECT":
      return { decision: "REJECT", state: decision.state, reason: decision.reason };
    case "WAIT":
      return { decision: "WAIT", state: current, reason: decision.reason, delaySeconds: decision.delaySeconds };
    case "ABORT":
      return { decision: "ABORT", state: current, reason: decision.reason };
    default: {
      const unreachable: never = decision;
      return unreachable;
    }
  }
}

function accept(ctx: OrchestrationContext, rule?: RuleName): OrchestrationDecision {
  const state = normalizeState(ctx.proposed, ctx.now);
  return rule === undefined ? { status: "ACCEPT", state } : { status: "ACCEPT", state, rule };
}

function reject(state: State, write: boolean, rule: RuleName, reason: string): OrchestrationDecision {
  return { status: "REJECT", state, write, reason, rule };
}

function abort(rule: RuleName, reason: string): OrchestrationDecision {
  return { status: "ABORT", reason, rule };
}

/** "Stay where you are"; a run with no state has nowhere to stay, so the proposal is refused outright. */
function keepCurrent(current: State | null, rule: RuleName, reason: string): OrchestrationDecision {
  return current === null ? abort(rule, reason) : reject(current, false, rule, reason);
}

/**
 * A state the server writes in place of the proposal. It keeps the proposal's transitionId: if the
 * client resends the same proposal, DuplicateTransition must answer with this state rather than
 * judge the resend afresh (a resent FAILED would otherwise be accepted from AwaitingRetry).
 */
function replacementState(
  ctx: OrchestrationContext,
  fields: { type: StateType; name: string; message: string; details: StateDetails },
): State {
  const state: State = { ...fields, timestamp: ctx.now.toISOString() };
  if (ctx.proposed.transitionId) state.transitionId = ctx.proposed.transitionId;
  return state;
}

/** Keep the reported result reference so the failure or final output stays inspectable. */
function carriedDetails({ proposed }: OrchestrationContext): StateDetails {
  const resultRef = proposed.details?.resultRef;
  return resultRef === undefined ? {} : { resultRef };
}

function suffix(message: string | undefined): string {
  return message ? `: ${message}` : "";
}
