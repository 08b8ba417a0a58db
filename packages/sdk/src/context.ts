// The run context: which flow run / task run the current async call chain belongs to. It rides on
// AsyncLocalStorage, so concurrent runs in one process (map, submit, sub-flows, two flows awaited
// together) never see each other's context, logs or prints.
import { AsyncLocalStorage } from "node:async_hooks";
import { MissingContextError } from "./errors.ts";
import { uuidv7 } from "@flowplane/core";
import { fallbackLogger, SinkLogger, type RunLogger } from "./logging.ts";
import type { TaskOptions } from "./options.ts";
import type { FlowRunInfo, Tracker } from "./tracking/tracker.ts";

export interface TaskRunInfo {
  id: string;
  name: string;
  /** 1 on the first attempt, 2 on the first retry… */
  runCount: number;
}

/** What flow and task code can learn about the run it executes in. */
export interface RunContext {
  readonly flowRun: FlowRunInfo;
  /** Present while a task runs; absent in the flow function's own body. */
  readonly taskRun: TaskRunInfo | undefined;
  /** Attempt number of the innermost run (task if in a task, else flow); 1 on the first try. */
  readonly attempt: number;
  readonly parameters: Record<string, unknown>;
  readonly scheduledTime: string | null;
  readonly partitionKey: string | null;
  /** Aborted when this run (or a run enclosing it) exceeds its timeout; reason is a TimeoutError. */
  readonly signal: AbortSignal;
  readonly logger: RunLogger;
}

/** State shared by everything executing under one flow run (across its in-process retries). */
export interface FlowRunShared {
  readonly tracker: Tracker;
  readonly flowName: string;
  /** Per task key call counters → dynamicKey. Never reset on retry: (flowRun, taskKey, dynamicKey) is unique. */
  readonly counters: Map<string, number>;
  /** Submitted task runs not yet settled; the flow waits for them before its final state. */
  readonly pending: Set<Promise<unknown>>;
  /**
   * Task run attempts executing now, by task run id, with what their stop hooks need — so a
   * process told to stop can run their onCancellation/onCrashed hooks (see stopActiveFlowRuns).
   */
  readonly running: Map<string, RunningTask>;
}

export interface RunningTask {
  /** The task's options (for its name and stop hooks). */
  readonly options: Readonly<TaskOptions<never[]>>;
  readonly scope: RunScope;
}

/** The signal of a run with no timeout anywhere above it: shared, so such runs allocate nothing. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

export class RunScope implements RunContext {
  private _logger: RunLogger | undefined;
  constructor(
    readonly shared: FlowRunShared,
    readonly flowRun: FlowRunInfo,
    readonly taskRun: TaskRunInfo | undefined,
    readonly attempt: number,
    readonly signal: AbortSignal,
    readonly logPrints: boolean,
  ) {}

  get parameters(): Record<string, unknown> {
    return this.flowRun.parameters;
  }
  get scheduledTime(): string | null {
    return this.flowRun.scheduledTime;
  }
  get partitionKey(): string | null {
    return this.flowRun.partitionKey;
  }
  get logger(): RunLogger {
    return (this._logger ??= new SinkLogger((level, message) => this.emitLog(level, message, false)));
  }

  emitLog(level: number, message: string, echoed: boolean): void {
    this.shared.tracker.log({
      id: uuidv7(),
      flowRunId: this.flowRun.id,
      ...(this.taskRun ? { taskRunId: this.taskRun.id } : {}),
      name: this.taskRun ? "flowplane.task_runs" : "flowplane.flow_runs",
      level,
      message,
      timestamp: new Date().toISOString(),
      ...(echoed ? { echoed: true } : {}),
    });
  }
}

export const runStorage = new AsyncLocalStorage<RunScope>();

export function currentScope(): RunScope | undefined {
  return runStorage.getStore();
}

/** The context of the flow or task run executing this code; throws outside any run. */
export function getRunContext(): RunContext {
  const scope = runStorage.getStore();
  if (scope === undefined) {
    throw new MissingContextError("getRunContext() was called outside a flow run");
  }
  return scope;
}

/**
 * A logger whose lines are recorded against the current flow run (and task run, inside a task).
 * Outside any run it logs to stderr, so helpers shared with plain scripts need no guard.
 */
export function getRunLogger(): RunLogger {
  return runStorage.getStore()?.logger ?? fallbackLogger();
}
