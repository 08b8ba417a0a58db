import { describe, expect, it } from "vitest";
import type { State, StateInput, StateType } from "../states.ts";
import { exponentialBackoff, type RetryPolicy } from "./retry.ts";
import {
  AlreadyRunning,
  CachedCompletion,
  CancellingOnlyToCancelled,
  DuplicateTransition,
  LateOnlyFromScheduled,
  NoSecondClaim,
  ORCHESTRATION_RULES,
  PauseResume,
  RetryFailedRuns,
  TaskNeedsRunningFlow,
  TerminalIsFinal,
  WaitForScheduledTime,
  orchestrate,
} from "./rules.ts";
import { RULE_NAMES, type OrchestrationContext, type OrchestrationDecision, type OrchestrationRule } from "./types.ts";

const NOW = new Date("2030-01-01T12:00:00.000Z");
const secondsFromNow = (s: number): Date => new Date(NOW.getTime() + s * 1000);

function state(type: StateType, extra: Partial<State> = {}): State {
  return {
    type,
    name: type.charAt(0) + type.slice(1).toLowerCase(),
    timestamp: "2030-01-01T11:00:00.000Z",
    details: {},
    ...extra,
  };
}

interface Given {
  kind?: "flow" | "task";
  current?: State | null;
  proposed: StateInput;
  runCount?: number;
  retryPolicy?: RetryPolicy;
  nextScheduledTime?: Date | null;
  parentFlowRunState?: StateType | null;
  force?: boolean;
  random?: () => number;
}

function context(g: Given): OrchestrationContext {
  const ctx: OrchestrationContext = {
    kind: g.kind ?? "flow",
    now: NOW,
    current: g.current ?? null,
    proposed: g.proposed,
    run: {
      runCount: g.runCount ?? 0,
      retryPolicy: g.retryPolicy ?? { retries: 0 },
      nextScheduledTime: g.nextScheduledTime ?? null,
    },
  };
  if ("parentFlowRunState" in g) ctx.parentFlowRunState = g.parentFlowRunState;
  if (g.force !== undefined) ctx.force = g.force;
  if (g.random !== undefined) ctx.random = g.random;
  return ctx;
}

interface Want {
  status: OrchestrationDecision["status"];
  /** null: accepted by default, no rule named. */
  rule: string | null;
  write?: boolean;
  /** The REJECT hands back the stored state unchanged. */
  keepsCurrent?: boolean;
  stateType?: StateType;
  stateName?: string;
  delaySeconds?: number;
}

interface Case {
  name: string;
  given: Given;
  want: Want;
}

function check(decision: OrchestrationDecision, want: Want, ctx: OrchestrationContext): void {
  expect(decision.status).toBe(want.status);
  expect(decision.rule ?? null).toBe(want.rule);
  if (decision.status === "REJECT") {
    if (want.write !== undefined) expect(decision.write).toBe(want.write);
    if (want.keepsCurrent) expect(decision.state).toBe(ctx.current);
  }
  if (decision.status === "ACCEPT" || decision.status === "REJECT") {
    if (want.stateType !== undefined) expect(decision.state.type).toBe(want.stateType);
    if (want.stateName !== undefined) expect(decision.state.name).toBe(want.stateName);
  }
  if (decision.status === "WAIT" && want.delaySeconds !== undefined)
    expect(decision.delaySeconds).toBe(want.delaySeconds);
}

const running = state("RUNNING", { transitionId: "t-run" });
const retrying: RetryPolicy = { retries: 2, retryDelaySeconds: 10 };

const cases: Case[] = [
  // a. DuplicateTransition
  {
    name: "resent transition is a no-op returning the stored state",
    given: { current: running, proposed: { type: "RUNNING", transitionId: "t-run" } },
    want: { status: "REJECT", rule: "DuplicateTransition", write: false, keepsCurrent: true },
  },
  {
    name: "resent transition is a no-op even under force",
    given: {
      current: state("COMPLETED", { transitionId: "t-1" }),
      proposed: { type: "FAILED", transitionId: "t-1" },
      force: true,
    },
    want: { status: "REJECT", rule: "DuplicateTransition", write: false, keepsCurrent: true },
  },
  {
    name: "a resend that would otherwise be aborted still gets the stored state",
    given: {
      current: state("COMPLETED", { transitionId: "t-1" }),
      proposed: { type: "COMPLETED", transitionId: "t-1" },
    },
    want: { status: "REJECT", rule: "DuplicateTransition", write: false, keepsCurrent: true },
  },
  {
    name: "a new transitionId is judged normally",
    given: { current: state("SCHEDULED", { transitionId: "t-1" }), proposed: { type: "PENDING", transitionId: "t-2" } },
    want: { status: "ACCEPT", rule: null, stateType: "PENDING" },
  },
  {
    name: "no transitionId on either side is not a duplicate",
    given: { current: state("RUNNING"), proposed: { type: "COMPLETED" } },
    want: { status: "ACCEPT", rule: null, stateType: "COMPLETED" },
  },
  {
    name: "a transitionId on the first state of a run is accepted",
    given: { current: null, proposed: { type: "SCHEDULED", transitionId: "t-1" } },
    want: { status: "ACCEPT", rule: null, stateType: "SCHEDULED" },
  },

  // b. ForceOverride
  {
    name: "force leaves a terminal state",
    given: { current: state("COMPLETED"), proposed: { type: "RUNNING" }, force: true },
    want: { status: "ACCEPT", rule: "ForceOverride", stateType: "RUNNING" },
  },
  {
    name: "force skips the retry rule",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 1, retryPolicy: retrying, force: true },
    want: { status: "ACCEPT", rule: "ForceOverride", stateType: "FAILED" },
  },
  {
    name: "force skips the scheduled-time wait",
    given: {
      current: state("SCHEDULED"),
      proposed: { type: "RUNNING" },
      nextScheduledTime: secondsFromNow(60),
      force: true,
    },
    want: { status: "ACCEPT", rule: "ForceOverride", stateType: "RUNNING" },
  },
  {
    name: "force: false changes nothing",
    given: { current: state("COMPLETED"), proposed: { type: "RUNNING" }, force: false },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },

  // c. TerminalIsFinal
  ...(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"] as const).map((type): Case => ({
    name: `${type} cannot start running again`,
    given: { current: state(type), proposed: { type: "RUNNING" } },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  })),
  {
    name: "a finished run cannot be claimed",
    given: { current: state("FAILED"), proposed: { type: "PENDING" } },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },
  {
    name: "a finished run cannot be rescheduled without an explicit retry",
    given: { current: state("CRASHED"), proposed: { type: "SCHEDULED" } },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },
  {
    name: "a late terminal report cannot overwrite the outcome",
    given: { current: state("COMPLETED"), proposed: { type: "FAILED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },
  {
    name: "an explicit retry reschedules a finished run",
    given: { current: state("FAILED"), proposed: { type: "SCHEDULED", details: { retryRequested: true } } },
    want: { status: "ACCEPT", rule: "TerminalIsFinal", stateType: "SCHEDULED", stateName: "Scheduled" },
  },
  {
    name: "retryRequested on a non-SCHEDULED proposal does not reopen the run",
    given: { current: state("CANCELLED"), proposed: { type: "RUNNING", details: { retryRequested: true } } },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },
  {
    name: "a cached completion does not replace a finished run",
    given: { current: state("FAILED"), proposed: { type: "COMPLETED", name: "Cached" } },
    want: { status: "ABORT", rule: "TerminalIsFinal" },
  },

  // d. CancellingOnlyToCancelled
  {
    name: "CANCELLING → CANCELLED",
    given: { current: state("CANCELLING"), proposed: { type: "CANCELLED" } },
    want: { status: "ACCEPT", rule: "CancellingOnlyToCancelled", stateType: "CANCELLED" },
  },
  {
    name: "finishing while cancelling is recorded as cancelled",
    given: { current: state("CANCELLING"), proposed: { type: "COMPLETED" } },
    want: {
      status: "REJECT",
      rule: "CancellingOnlyToCancelled",
      write: true,
      stateType: "CANCELLED",
      stateName: "Cancelled",
    },
  },
  {
    name: "failing while cancelling is cancelled, not retried",
    given: { current: state("CANCELLING"), proposed: { type: "FAILED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "REJECT", rule: "CancellingOnlyToCancelled", write: true, stateType: "CANCELLED" },
  },
  {
    name: "crashing while cancelling is cancelled",
    given: { current: state("CANCELLING"), proposed: { type: "CRASHED" } },
    want: { status: "REJECT", rule: "CancellingOnlyToCancelled", write: true, stateType: "CANCELLED" },
  },
  ...(["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"] as const).map((type): Case => ({
    name: `a cancelling run cannot move to ${type}`,
    given: { current: state("CANCELLING"), proposed: { type } },
    want: { status: "ABORT", rule: "CancellingOnlyToCancelled" },
  })),

  // e. LateOnlyFromScheduled
  {
    name: "SCHEDULED → Late",
    given: { current: state("SCHEDULED"), proposed: { type: "SCHEDULED", name: "Late" } },
    want: { status: "ACCEPT", rule: null, stateType: "SCHEDULED", stateName: "Late" },
  },
  {
    name: "a running run is not marked Late",
    given: { current: running, proposed: { type: "SCHEDULED", name: "Late" } },
    want: { status: "REJECT", rule: "LateOnlyFromScheduled", write: false, keepsCurrent: true },
  },
  {
    name: "a pending run is not marked Late",
    given: { current: state("PENDING"), proposed: { type: "SCHEDULED", name: "Late" } },
    want: { status: "REJECT", rule: "LateOnlyFromScheduled", write: false, keepsCurrent: true },
  },
  {
    name: "a run with no state cannot start as Late",
    given: { current: null, proposed: { type: "SCHEDULED", name: "Late" } },
    want: { status: "ABORT", rule: "LateOnlyFromScheduled" },
  },
  {
    name: "a pending run may go back to plain SCHEDULED (claim expired)",
    given: { current: state("PENDING"), proposed: { type: "SCHEDULED" } },
    want: { status: "ACCEPT", rule: null, stateType: "SCHEDULED" },
  },

  // f. NoSecondClaim
  ...([null, "SCHEDULED", "PAUSED"] as const).map((type): Case => ({
    name: `claim from ${type ?? "no state"}`,
    given: { current: type === null ? null : state(type), proposed: { type: "PENDING" } },
    want: { status: "ACCEPT", rule: null, stateType: "PENDING", stateName: "Pending" },
  })),
  {
    name: "Late runs can be claimed",
    given: { current: state("SCHEDULED", { name: "Late" }), proposed: { type: "PENDING" } },
    want: { status: "ACCEPT", rule: null, stateType: "PENDING" },
  },
  ...(["PENDING", "RUNNING"] as const).map((type): Case => ({
    name: `a ${type} run cannot be claimed again`,
    given: { current: state(type), proposed: { type: "PENDING" } },
    want: { status: "ABORT", rule: "NoSecondClaim" },
  })),

  // g. WaitForScheduledTime
  {
    name: "starting 90.2s early waits 91s",
    given: { current: state("SCHEDULED"), proposed: { type: "RUNNING" }, nextScheduledTime: secondsFromNow(90.2) },
    want: { status: "WAIT", rule: "WaitForScheduledTime", delaySeconds: 91 },
  },
  {
    name: "starting 1ms early from PENDING waits a full second",
    given: { current: state("PENDING"), proposed: { type: "RUNNING" }, nextScheduledTime: secondsFromNow(0.001) },
    want: { status: "WAIT", rule: "WaitForScheduledTime", delaySeconds: 1 },
  },
  {
    name: "starting exactly on time",
    given: { current: state("PENDING"), proposed: { type: "RUNNING" }, nextScheduledTime: NOW },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  {
    name: "starting after the scheduled time",
    given: { current: state("SCHEDULED"), proposed: { type: "RUNNING" }, nextScheduledTime: secondsFromNow(-300) },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  {
    name: "no scheduled time means start now",
    given: { current: state("SCHEDULED"), proposed: { type: "RUNNING" }, nextScheduledTime: null },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  {
    name: "resuming a paused run is not delayed by its old schedule",
    given: { current: state("PAUSED"), proposed: { type: "RUNNING" }, nextScheduledTime: secondsFromNow(60) },
    want: { status: "ACCEPT", rule: "PauseResume", stateType: "RUNNING" },
  },
  {
    name: "claiming early is fine; only RUNNING waits",
    given: { current: state("SCHEDULED"), proposed: { type: "PENDING" }, nextScheduledTime: secondsFromNow(60) },
    want: { status: "ACCEPT", rule: null, stateType: "PENDING" },
  },

  // h. TaskNeedsRunningFlow
  {
    name: "task runs inside a running flow run",
    given: { kind: "task", current: state("PENDING"), proposed: { type: "RUNNING" }, parentFlowRunState: "RUNNING" },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  ...(["COMPLETED", "CANCELLING", "PAUSED", "SCHEDULED", null] as const).map((parent): Case => ({
    name: `task cannot start while its flow run is ${parent ?? "without a state"}`,
    given: { kind: "task", current: state("PENDING"), proposed: { type: "RUNNING" }, parentFlowRunState: parent },
    want: { status: "ABORT", rule: "TaskNeedsRunningFlow" },
  })),
  {
    name: "a task with no enclosing flow run may start",
    given: { kind: "task", current: state("PENDING"), proposed: { type: "RUNNING" } },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  {
    name: "the parent check is for tasks only",
    given: { kind: "flow", current: state("PENDING"), proposed: { type: "RUNNING" }, parentFlowRunState: "COMPLETED" },
    want: { status: "ACCEPT", rule: null, stateType: "RUNNING" },
  },
  {
    name: "a task that is too early waits before the parent is checked",
    given: {
      kind: "task",
      current: state("SCHEDULED"),
      proposed: { type: "RUNNING" },
      parentFlowRunState: "PENDING",
      nextScheduledTime: secondsFromNow(5),
    },
    want: { status: "WAIT", rule: "WaitForScheduledTime", delaySeconds: 5 },
  },
  {
    name: "a task of a stopped flow run may still fail",
    given: { kind: "task", current: running, proposed: { type: "FAILED" }, parentFlowRunState: "CANCELLED" },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED" },
  },

  // i. RetryFailedRuns
  {
    name: "flow FAILED with retries left → AwaitingRetry",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 1, retryPolicy: retrying },
    want: {
      status: "REJECT",
      rule: "RetryFailedRuns",
      write: true,
      stateType: "SCHEDULED",
      stateName: "AwaitingRetry",
    },
  },
  {
    name: "the last retry (runCount = retries) is still granted",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 2, retryPolicy: retrying },
    want: { status: "REJECT", rule: "RetryFailedRuns", write: true, stateName: "AwaitingRetry" },
  },
  {
    name: "retries exhausted → FAILED is accepted",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 3, retryPolicy: retrying },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED", stateName: "Failed" },
  },
  {
    name: "no retry policy → FAILED is accepted",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 1 },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED" },
  },
  {
    name: "CRASHED is retried like FAILED",
    given: { current: running, proposed: { type: "CRASHED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "REJECT", rule: "RetryFailedRuns", write: true, stateName: "AwaitingRetry" },
  },
  {
    name: "task FAILED with retries left → AwaitingRetry",
    given: {
      kind: "task",
      current: running,
      proposed: { type: "FAILED" },
      runCount: 1,
      retryPolicy: retrying,
      parentFlowRunState: "RUNNING",
    },
    want: { status: "REJECT", rule: "RetryFailedRuns", write: true, stateName: "AwaitingRetry" },
  },
  {
    name: "noRetry keeps the failure",
    given: {
      current: running,
      proposed: { type: "FAILED", details: { noRetry: true } },
      runCount: 1,
      retryPolicy: retrying,
    },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED" },
  },
  {
    name: "a crash before RUNNING is not retried (it used no attempt)",
    given: { current: state("PENDING"), proposed: { type: "CRASHED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "ACCEPT", rule: null, stateType: "CRASHED" },
  },
  {
    name: "a paused run timing out is not retried",
    given: { current: state("PAUSED"), proposed: { type: "FAILED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED" },
  },
  {
    name: "runCount 0 never retries even with retries 0 (no 0 <= 0 loop)",
    given: { current: running, proposed: { type: "FAILED" }, runCount: 0, retryPolicy: { retries: 0 } },
    want: { status: "ACCEPT", rule: null, stateType: "FAILED" },
  },
  {
    name: "COMPLETED is never retried",
    given: { current: running, proposed: { type: "COMPLETED" }, runCount: 1, retryPolicy: retrying },
    want: { status: "ACCEPT", rule: null, stateType: "COMPLETED" },
  },

  // j. CachedCompletion
  ...([null, "SCHEDULED", "PENDING", "RUNNING"] as const).map((type): Case => ({
    name: `cache hit from ${type ?? "no state"}`,
    given: {
      current: type === null ? null : state(type),
      proposed: { type: "COMPLETED", name: "Cached" },
      nextScheduledTime: secondsFromNow(60),
    },
    want: { status: "ACCEPT", rule: "CachedCompletion", stateType: "COMPLETED", stateName: "Cached" },
  })),
  {
    name: "a cache hit for a task of a stopped flow run is still recorded",
    given: {
      kind: "task",
      current: state("PENDING"),
      proposed: { type: "COMPLETED", name: "Cached" },
      parentFlowRunState: "CANCELLED",
    },
    want: { status: "ACCEPT", rule: "CachedCompletion", stateName: "Cached" },
  },

  // k. PauseResume
  {
    name: "RUNNING → PAUSED",
    given: { current: running, proposed: { type: "PAUSED" } },
    want: { status: "ACCEPT", rule: "PauseResume", stateType: "PAUSED", stateName: "Paused" },
  },
  {
    name: "PENDING → PAUSED",
    given: { current: state("PENDING"), proposed: { type: "PAUSED" } },
    want: { status: "ACCEPT", rule: "PauseResume", stateType: "PAUSED" },
  },
  {
    name: "PAUSED → SCHEDULED (hand back to a worker)",
    given: { current: state("PAUSED"), proposed: { type: "SCHEDULED" } },
    want: { status: "ACCEPT", rule: "PauseResume", stateType: "SCHEDULED" },
  },
  ...(["SCHEDULED", "PAUSED"] as const).map((type): Case => ({
    name: `a ${type} run cannot pause`,
    given: { current: state(type), proposed: { type: "PAUSED" } },
    want: { status: "REJECT", rule: "PauseResume", write: false, keepsCurrent: true },
  })),
  {
    name: "a run with no state cannot pause",
    given: { current: null, proposed: { type: "PAUSED" } },
    want: { status: "ABORT", rule: "PauseResume" },
  },
  {
    name: "a paused run may be cancelled",
    given: { current: state("PAUSED"), proposed: { type: "CANCELLED" } },
    want: { status: "ACCEPT", rule: null, stateType: "CANCELLED" },
  },

  // l. AlreadyRunning
  {
    name: "a second RUNNING with another transitionId keeps the first",
    given: { current: running, proposed: { type: "RUNNING", transitionId: "t-other" } },
    want: { status: "REJECT", rule: "AlreadyRunning", write: false, keepsCurrent: true },
  },
  {
    name: "a second RUNNING without transitionIds keeps the first",
    given: { current: state("RUNNING"), proposed: { type: "RUNNING" } },
    want: { status: "REJECT", rule: "AlreadyRunning", write: false, keepsCurrent: true },
  },

  // Nothing objects
  {
    name: "RUNNING → COMPLETED is accepted by default",
    given: { current: running, proposed: { type: "COMPLETED", message: "ok" } },
    want: { status: "ACCEPT", rule: null, stateType: "COMPLETED", stateName: "Completed" },
  },
  {
    name: "a new run's first state is accepted",
    given: { current: null, proposed: { type: "SCHEDULED" } },
    want: { status: "ACCEPT", rule: null, stateType: "SCHEDULED", stateName: "Scheduled" },
  },
  {
    name: "RUNNING → CANCELLING",
    given: { current: running, proposed: { type: "CANCELLING" } },
    want: { status: "ACCEPT", rule: null, stateType: "CANCELLING" },
  },
  // CancelUnheldRuns: nobody holds these runs, so CANCELLING would strand them.
  ...(["Scheduled", "AwaitingRetry", "Late", "Resuming"] as const).map((name): Case => ({
    name: `CANCELLING for an unheld SCHEDULED/${name} run is written as CANCELLED`,
    given: { current: state("SCHEDULED", { name }), proposed: { type: "CANCELLING" } },
    want: { status: "REJECT", rule: "CancelUnheldRuns", write: true, stateType: "CANCELLED", stateName: "Cancelled" },
  })),
  {
    name: "a forced CANCELLING for an unheld run is written as CANCELLED too",
    given: { current: state("SCHEDULED"), proposed: { type: "CANCELLING" }, force: true },
    want: { status: "REJECT", rule: "CancelUnheldRuns", write: true, stateType: "CANCELLED" },
  },
  {
    name: "Late → Late writes nothing",
    given: { current: state("SCHEDULED", { name: "Late" }), proposed: { type: "SCHEDULED", name: "Late" } },
    want: { status: "REJECT", rule: "LateOnlyFromScheduled", write: false, keepsCurrent: true },
  },
];

describe("orchestrate", () => {
  it.each(cases)("$name", ({ given, want }) => {
    const ctx = context(given);
    check(orchestrate(ctx), want, ctx);
  });
});

describe("rules on their own", () => {
  // Rules shadowed by earlier ones in orchestrate still hold their line when used alone.
  const solo: { rule: OrchestrationRule; given: Given; status: OrchestrationDecision["status"] | undefined }[] = [
    {
      rule: DuplicateTransition,
      given: { current: running, proposed: { type: "COMPLETED", transitionId: "t-run" } },
      status: "REJECT",
    },
    { rule: TerminalIsFinal, given: { current: running, proposed: { type: "COMPLETED" } }, status: undefined },
    {
      rule: CancellingOnlyToCancelled,
      given: { current: running, proposed: { type: "CANCELLED" } },
      status: undefined,
    },
    { rule: LateOnlyFromScheduled, given: { current: running, proposed: { type: "SCHEDULED" } }, status: undefined },
    { rule: NoSecondClaim, given: { current: state("CANCELLING"), proposed: { type: "PENDING" } }, status: "ABORT" },
    { rule: NoSecondClaim, given: { current: state("COMPLETED"), proposed: { type: "PENDING" } }, status: "ABORT" },
    {
      rule: WaitForScheduledTime,
      given: { current: running, proposed: { type: "RUNNING" }, nextScheduledTime: secondsFromNow(9) },
      status: undefined,
    },
    {
      rule: TaskNeedsRunningFlow,
      given: { kind: "task", current: running, proposed: { type: "COMPLETED" }, parentFlowRunState: "FAILED" },
      status: undefined,
    },
    {
      rule: RetryFailedRuns,
      given: { current: running, proposed: { type: "CANCELLED" }, runCount: 1, retryPolicy: retrying },
      status: undefined,
    },
    {
      rule: CachedCompletion,
      given: { current: state("PAUSED"), proposed: { type: "COMPLETED", name: "Cached" } },
      status: undefined,
    },
    { rule: CachedCompletion, given: { current: running, proposed: { type: "COMPLETED" } }, status: undefined },
    { rule: PauseResume, given: { current: state("PAUSED"), proposed: { type: "FAILED" } }, status: undefined },
    { rule: AlreadyRunning, given: { current: state("PENDING"), proposed: { type: "RUNNING" } }, status: undefined },
  ];
  it.each(solo)("$rule.name: $given.current.type → $given.proposed.type", ({ rule, given, status }) => {
    expect(rule.decide(context(given))?.status).toBe(status);
  });
});

describe("rule order", () => {
  it("is the documented priority", () => {
    expect(ORCHESTRATION_RULES.map((r) => r.name)).toEqual([
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
    ]);
    expect(ORCHESTRATION_RULES.map((r) => r.name)).toEqual([...RULE_NAMES]);
  });

  it("only TaskNeedsRunningFlow is task-specific", () => {
    const taskOnly = ORCHESTRATION_RULES.filter((r) => !r.appliesTo.includes("flow")).map((r) => r.name);
    expect(taskOnly).toEqual(["TaskNeedsRunningFlow"]);
    expect(ORCHESTRATION_RULES.every((r) => r.appliesTo.includes("task"))).toBe(true);
  });
});

describe("retry state", () => {
  function retryOf(given: Given): State {
    const decision = orchestrate(context(given));
    if (decision.status !== "REJECT") throw new Error(`expected REJECT, got ${decision.status}`);
    return decision.state;
  }

  it("is stamped now and scheduled now + delay", () => {
    const s = retryOf({
      current: running,
      proposed: { type: "FAILED", message: "boom" },
      runCount: 1,
      retryPolicy: retrying,
    });
    expect(s.timestamp).toBe(NOW.toISOString());
    expect(s.details.scheduledTime).toBe(secondsFromNow(10).toISOString());
    expect(s.message).toBe("Retry 1 of 2 after FAILED: boom");
  });

  it("uses the list entry of this retry", () => {
    const policy: RetryPolicy = { retries: 3, retryDelaySeconds: [5, 30, 120] };
    const s = retryOf({ current: running, proposed: { type: "CRASHED" }, runCount: 2, retryPolicy: policy });
    expect(s.details.scheduledTime).toBe(secondsFromNow(30).toISOString());
    expect(s.message).toBe("Retry 2 of 3 after CRASHED");
  });

  it("uses exponential backoff", () => {
    const policy: RetryPolicy = { retries: 5, retryDelaySeconds: exponentialBackoff(3, 20) };
    expect(
      retryOf({ current: running, proposed: { type: "FAILED" }, runCount: 3, retryPolicy: policy }).details
        .scheduledTime,
    ).toBe(secondsFromNow(12).toISOString());
    expect(
      retryOf({ current: running, proposed: { type: "FAILED" }, runCount: 5, retryPolicy: policy }).details
        .scheduledTime,
    ).toBe(secondsFromNow(20).toISOString());
  });

  it("draws jitter from ctx.random", () => {
    const policy: RetryPolicy = { retries: 1, retryDelaySeconds: 100, retryJitterFactor: 0.2 };
    const s = retryOf({
      current: running,
      proposed: { type: "FAILED" },
      runCount: 1,
      retryPolicy: policy,
      random: () => 0,
    });
    expect(s.details.scheduledTime).toBe(secondsFromNow(80).toISOString());
  });

  it("keeps the result reference and the proposal's transitionId", () => {
    const s = retryOf({
      current: running,
      proposed: { type: "FAILED", transitionId: "t-fail", details: { resultRef: "results/abc" } },
      runCount: 1,
      retryPolicy: retrying,
    });
    expect(s.details.resultRef).toBe("results/abc");
    expect(s.transitionId).toBe("t-fail");
  });

  it("a resent FAILED after the retry was written is answered with AwaitingRetry, not accepted", () => {
    const failed: StateInput = { type: "FAILED", transitionId: "t-fail" };
    const awaiting = retryOf({ current: running, proposed: failed, runCount: 1, retryPolicy: retrying });
    const again = orchestrate(context({ current: awaiting, proposed: failed, runCount: 1, retryPolicy: retrying }));
    expect(again).toMatchObject({ status: "REJECT", rule: "DuplicateTransition", write: false, state: awaiting });
  });
});

describe("cancelled-while-finishing state", () => {
  it("keeps the reported message, the result reference and the transitionId", () => {
    const decision = orchestrate(
      context({
        current: state("CANCELLING"),
        proposed: { type: "COMPLETED", message: "all good", transitionId: "t-done", details: { resultRef: "r/1" } },
      }),
    );
    expect(decision).toMatchObject({
      status: "REJECT",
      write: true,
      state: {
        type: "CANCELLED",
        name: "Cancelled",
        timestamp: NOW.toISOString(),
        message: "The run was cancelled while it was finishing (it reported COMPLETED: all good).",
        transitionId: "t-done",
        details: { resultRef: "r/1" },
      },
    });
  });
});

describe("accepted state", () => {
  it("is the normalized proposal", () => {
    const decision = orchestrate(
      context({ current: running, proposed: { type: "COMPLETED", message: "ok", transitionId: "t-2" } }),
    );
    expect(decision).toEqual({
      status: "ACCEPT",
      state: {
        type: "COMPLETED",
        name: "Completed",
        timestamp: NOW.toISOString(),
        message: "ok",
        transitionId: "t-2",
        details: {},
      },
    });
  });

  it("keeps a timestamp the client supplied", () => {
    const decision = orchestrate(
      context({ current: running, proposed: { type: "COMPLETED", timestamp: "2030-01-01T11:59:59.000Z" } }),
    );
    expect(decision.status === "ACCEPT" && decision.state.timestamp).toBe("2030-01-01T11:59:59.000Z");
  });
});

describe("purity", () => {
  function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !(value instanceof Date)) {
      for (const v of Object.values(value)) deepFreeze(v);
      Object.freeze(value);
    }
    return value;
  }

  it.each(cases)("does not mutate the context: $name", ({ given }) => {
    const ctx = deepFreeze(context({ ...given, random: given.random ?? (() => 0.5) }));
    const snapshot = structuredClone({ ...ctx, random: undefined });
    orchestrate(ctx);
    expect({ ...ctx, random: undefined }).toEqual(snapshot);
  });

  it("gives the same answer twice", () => {
    const ctx = context({
      current: running,
      proposed: { type: "FAILED" },
      runCount: 1,
      retryPolicy: { ...retrying, retryJitterFactor: 0.5 },
      random: () => 0.25,
    });
    expect(orchestrate(ctx)).toEqual(orchestrate(ctx));
  });
});
