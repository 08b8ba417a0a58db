// Every error the SDK throws at its callers. Each carries a `code` from a closed set so callers
// (and the runner that maps outcomes to exit codes) can switch exhaustively instead of matching
// messages.
import type { State } from "@flowplane/core";

export type FlowplaneErrorCode =
  | "TASK_RUN_FAILED"
  | "FLOW_RUN_FAILED"
  | "TIMEOUT"
  | "RESULT_TIMEOUT"
  | "PARAMETER_VALIDATION"
  | "ABORTED"
  | "NO_RUN_CONTEXT"
  | "INVALID_ARGUMENT";

export abstract class FlowplaneError extends Error {
  abstract readonly code: FlowplaneErrorCode;
}

/**
 * A task run ended FAILED after its retries (or its retry condition said stop).
 * `cause` is what the task function threw on its last attempt.
 */
export class TaskRunError extends FlowplaneError {
  readonly code = "TASK_RUN_FAILED";
  override readonly name = "TaskRunError";
  constructor(
    readonly taskRunId: string,
    readonly taskRunName: string,
    /** The final state (FAILED). */
    readonly state: State,
    cause: unknown,
  ) {
    super(`Task run '${taskRunName}' failed: ${state.message ?? "unknown error"}`, { cause });
  }
}

/**
 * A flow run ended FAILED (after the retries the orchestrator allowed). `cause` is what the flow
 * function threw on its last attempt — often a TaskRunError from one of its tasks.
 */
export class FlowRunError extends FlowplaneError {
  readonly code = "FLOW_RUN_FAILED";
  override readonly name = "FlowRunError";
  constructor(
    readonly flowRunId: string,
    readonly flowRunName: string,
    readonly flowName: string,
    /** The final state (FAILED, or CRASHED/CANCELLED if the orchestrator said so). */
    readonly state: State,
    cause: unknown,
  ) {
    super(`Flow run '${flowRunName}' of flow '${flowName}' ended ${state.type}: ${state.message ?? "unknown error"}`, {
      cause,
    });
  }
}

/**
 * A flow or task attempt exceeded `timeoutSeconds`. It is also the `reason` of the run's
 * `getRunContext().signal`, so code that observes the signal sees the same error.
 * The run itself ends FAILED with the state name "TimedOut".
 */
export class TimeoutError extends FlowplaneError {
  readonly code = "TIMEOUT";
  override readonly name = "TimeoutError";
  constructor(
    readonly runKind: "flow" | "task",
    readonly runId: string,
    readonly runName: string,
    readonly timeoutSeconds: number,
    /** The FAILED/TimedOut state recorded for the run. */
    readonly state: State,
  ) {
    super(`${runKind === "flow" ? "Flow" : "Task"} run '${runName}' timed out after ${timeoutSeconds}s`);
  }
}

/**
 * `future.result({ timeoutSeconds })` (or asCompleted) stopped waiting. Unlike TimeoutError this
 * says nothing about the task run, which keeps running and records its own final state.
 */
export class ResultTimeoutError extends FlowplaneError {
  readonly code = "RESULT_TIMEOUT";
  override readonly name = "ResultTimeoutError";
  constructor(
    readonly taskRunId: string,
    readonly timeoutSeconds: number,
    /** The task run's state when the wait gave up. */
    readonly state: State,
  ) {
    super(`Task run ${taskRunId} did not finish within ${timeoutSeconds}s (it is ${state.type})`);
  }
}

export interface ParameterIssue {
  /** Dotted path of the offending field ("" for the parameters object itself). */
  path: string;
  message: string;
}

/**
 * Flow parameters did not match the flow's `parameters` schema. The flow function did not run;
 * the flow run (and a sub-flow's stand-in task run) is recorded FAILED with this message.
 */
export class ParameterValidationError extends FlowplaneError {
  readonly code = "PARAMETER_VALIDATION";
  override readonly name = "ParameterValidationError";
  constructor(
    readonly flowName: string,
    readonly issues: readonly ParameterIssue[],
    /** The FAILED flow run recorded for the call. */
    readonly flowRunId?: string,
  ) {
    const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    super(`Invalid parameters for flow '${flowName}': ${detail}`);
  }
}

/**
 * The orchestrator refused to let the run start (ABORT, or it answered with a state the run cannot
 * execute from, such as CANCELLED). The flow function did not run.
 */
export class AbortedRunError extends FlowplaneError {
  readonly code = "ABORTED";
  override readonly name = "AbortedRunError";
  constructor(
    readonly flowRunId: string,
    readonly reason: string,
    /** The state the orchestrator reported, when it gave one. */
    readonly state?: State,
  ) {
    super(`Flow run ${flowRunId} was not started: ${reason}`);
  }
}

/** A run-scoped API (getRunContext) was called outside any flow or task run. */
export class MissingContextError extends FlowplaneError {
  readonly code = "NO_RUN_CONTEXT";
  override readonly name = "MissingContextError";
}

export class InvalidArgumentError extends FlowplaneError {
  readonly code = "INVALID_ARGUMENT";
  override readonly name = "InvalidArgumentError";
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
