// Executes one flow call. Unlike task states, flow-run states are proposals the orchestrator
// answers, and the engine obeys the answer:
//   RUNNING   → ACCEPT: run · WAIT: sleep, propose again · REJECT: adopt the given state · ABORT: stop
//   FAILED    → ACCEPT: the run is over · REJECT to SCHEDULED "AwaitingRetry": sleep until its
//               scheduledTime, propose RUNNING "Retrying" and run the function again in-process
//   COMPLETED → the value is returned whatever the answer (the work is done)
// So the control plane (or LocalTracker in its place) decides flow retries.
import { StateNames, type State } from "@flowplane/core";
import { z } from "zod";
import { installConsoleCapture } from "../console-capture.ts";
import { currentScope, NEVER_ABORTED, runStorage, RunScope, type FlowRunShared } from "../context.ts";
import {
  AbortedRunError,
  errorMessage,
  FlowRunError,
  ParameterValidationError,
  TimeoutError,
  type ParameterIssue,
} from "../errors.ts";
import { uuidv7 } from "@flowplane/core";
import type { TaskFuture } from "../future.ts";
import type { FlowOptions, HookEvent } from "../options.ts";
import { tagsInScope } from "../tags.ts";
import { getTracker } from "../tracking/select.ts";
import type { FlowRunInfo, Tracker } from "../tracking/tracker.ts";
import { withRedaction } from "../tracking/redacting-tracker.ts";
import {
  AttemptTimeout,
  type EngineStateDetails,
  errorDetail,
  makeState,
  msUntil,
  sleep,
  sleepUntil,
} from "./common.ts";
import { hookForState, runHooks } from "./hooks.ts";
import { resolveReturned } from "./inputs.ts";

export interface FlowDefinition<Args extends unknown[], R> {
  readonly fn: (...args: Args) => R;
  readonly options: Readonly<FlowOptions>;
  readonly flowKey: string;
  readonly tags: string[];
  /** options.parameters as validated (see effectiveParameterSchema). */
  readonly parameterSchema?: z.ZodType;
}

/** What a flow call resolves to: a returned future (or array of futures) becomes its value. */
export type FlowValue<T> =
  T extends TaskFuture<infer U>
    ? U
    : T extends readonly unknown[]
      ? { [K in keyof T]: T[K] extends TaskFuture<infer U> ? U : T[K] }
      : T;

export interface RunFlowOptions {
  /** Run an existing flow run (a worker launched this process for it) instead of creating one. */
  flowRunId?: string;
  /** Record with this tracker instead of the process-wide one. Ignored for sub-flows. */
  tracker?: Tracker;
}

/**
 * How call arguments are recorded as the run's parameters: a flow taking one plain object records
 * that object (the usual shape, and what deployments pass); any other call records its arguments
 * by position ({"0": a, "1": b}). argsFromParameters is the inverse.
 */
export function parametersFromArgs(args: readonly unknown[]): Record<string, unknown> {
  if (args.length === 0) return {};
  if (args.length === 1 && isPlainObject(args[0])) return args[0];
  const params: Record<string, unknown> = {};
  args.forEach((a, i) => (params[String(i)] = a));
  return params;
}

export function argsFromParameters(params: Record<string, unknown>): unknown[] {
  const keys = Object.keys(params);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => params[k]);
  return keys.length === 0 ? [] : [params];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The parsed call arguments, or the issues that make them invalid. */
async function validateParameters<Args extends unknown[]>(
  schema: z.ZodType,
  args: Args,
): Promise<{ ok: true; args: Args } | { ok: false; issues: ParameterIssue[] }> {
  // No argument means "no parameters": the call signature allows it when every field is optional,
  // and a deployment run without parameters reaches here as an empty call (argsFromParameters({})).
  const parsed = await schema.safeParseAsync(args[0] === undefined ? {} : args[0]);
  if (parsed.success) return { ok: true, args: [parsed.data, ...args.slice(1)] as Args };
  const issues: ParameterIssue[] = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  return { ok: false, issues };
}

/**
 * The schema a flow validates with: a plain `z.object` refuses unknown keys (strict), so a
 * misspelt parameter is an error instead of being dropped. An object schema that says otherwise
 * (`.loose()`, `.catchall()`, `z.looseObject`) and any other schema are used as given.
 */
export function effectiveParameterSchema(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject && schema._zod.def.catchall === undefined) return schema.strict();
  return schema;
}

// Flow runs executing in this process, so stopActiveFlowRuns() can run their stop hooks when the
// process is told to stop (the runner receives SIGTERM from its infrastructure).
const activeFlowRuns = new Map<string, { options: Readonly<FlowOptions>; scope: RunScope }>();

/**
 * Runs the onCancellation (cancelled) or onCrashed (crashed) hooks of every flow run executing in
 * this process, for a process about to be stopped from outside. The runs' states are the
 * orchestrator's business (the worker reports them); this only gives user code its last word.
 */
export async function stopActiveFlowRuns(outcome: "cancelled" | "crashed", message: string): Promise<void> {
  const state =
    outcome === "cancelled"
      ? makeState("CANCELLED", StateNames.Cancelled, message)
      : makeState("CRASHED", StateNames.Crashed, message);
  const hook = outcome === "cancelled" ? "onCancellation" : "onCrashed";
  const runs = [...activeFlowRuns.values()];
  activeFlowRuns.clear();
  const stops: Promise<void>[] = [];
  for (const { options, scope } of runs) {
    // The task runs executing in the flow run first: they stop with it.
    for (const [taskRunId, task] of scope.shared.running) {
      const taskHooks = runHooks(hook, task.options, task.scope, {
        kind: "task",
        runId: taskRunId,
        runName: task.scope.taskRun?.name ?? taskRunId,
        state,
      });
      if (taskHooks !== undefined) stops.push(taskHooks);
    }
    scope.shared.running.clear();
    const flowHooks = runHooks(hook, options, scope, {
      kind: "flow",
      runId: scope.flowRun.id,
      runName: scope.flowRun.name,
      state,
    });
    if (flowHooks !== undefined) stops.push(flowHooks);
  }
  await Promise.all(stops);
}

export async function runFlow<Args extends unknown[], R>(
  def: FlowDefinition<Args, R>,
  args: Args,
  options: RunFlowOptions = {},
): Promise<FlowValue<Awaited<R>>> {
  const parent = currentScope();
  if (parent !== undefined) return runSubflow(def, args, parent);
  // Secret values the run resolves are replaced by *** in everything it records.
  const tracker = withRedaction(options.tracker ?? getTracker());
  try {
    return await execute(def, args, tracker, {
      flowRunId: options.flowRunId,
      parentSignal: NEVER_ABORTED,
      parentLogPrints: false,
    });
  } finally {
    // The outermost flow waits until its records are delivered, so a script that ends right after
    // the call loses nothing.
    await tracker.flush().catch(() => undefined);
  }
}

/**
 * A flow called inside a flow run: the parent records a task run standing for the call, and the
 * child is its own flow run (own retries, own timeout) linked through parentTaskRunId.
 */
async function runSubflow<Args extends unknown[], R>(
  def: FlowDefinition<Args, R>,
  args: Args,
  parent: RunScope,
): Promise<FlowValue<Awaited<R>>> {
  if (parent.signal.aborted) throw parent.signal.reason;
  const { shared, flowRun } = parent;
  const { tracker } = shared;
  const index = shared.counters.get(def.flowKey) ?? 0;
  shared.counters.set(def.flowKey, index + 1);
  const id = uuidv7();
  const createdAt = new Date().toISOString();
  tracker.recordTaskRun({
    id,
    flowRunId: flowRun.id,
    name: `${def.options.name}-${index}`,
    taskKey: def.flowKey,
    dynamicKey: String(index),
    tags: tagsInScope(def.tags),
    isSubflow: true,
    createdAt,
  });
  tracker.recordTaskRunState(id, { type: "PENDING", name: StateNames.Pending, timestamp: createdAt });
  tracker.recordTaskRunState(id, makeState("RUNNING", StateNames.Running));
  try {
    const value = await execute(def, args, tracker, {
      parentTaskRunId: id,
      parentSignal: parent.signal,
      parentLogPrints: parent.logPrints,
    });
    tracker.recordTaskRunState(id, makeState("COMPLETED", StateNames.Completed));
    return value;
  } catch (err) {
    // Mirror the child's final state so the parent's timeline shows why the call failed.
    const childState =
      err instanceof FlowRunError || err instanceof TimeoutError || err instanceof AbortedRunError
        ? err.state
        : undefined;
    tracker.recordTaskRunState(
      id,
      childState !== undefined
        ? makeState(childState.type, childState.name, childState.message ?? undefined)
        : makeState("FAILED", StateNames.Failed, errorMessage(err)),
    );
    throw err;
  }
}

interface ExecuteOptions {
  flowRunId?: string | undefined;
  parentTaskRunId?: string;
  parentSignal: AbortSignal;
  /** A sub-flow prints into the run log when its caller does, unless it says otherwise. */
  parentLogPrints: boolean;
}

async function execute<Args extends unknown[], R>(
  def: FlowDefinition<Args, R>,
  args: Args,
  tracker: Tracker,
  exec: ExecuteOptions,
): Promise<FlowValue<Awaited<R>>> {
  const { options } = def;
  const retries = options.retries ?? 0;
  let callArgs = args;
  let invalid: ParameterIssue[] | undefined;
  if (def.parameterSchema !== undefined) {
    const validation = await validateParameters(def.parameterSchema, args);
    if (validation.ok) callArgs = validation.args;
    else invalid = validation.issues;
  }
  const parameters = parametersFromArgs(callArgs);
  let flowRunName: string | undefined;
  let nameError: unknown;
  try {
    flowRunName = typeof options.flowRunName === "function" ? options.flowRunName(parameters) : options.flowRunName;
  } catch (err) {
    nameError = err;
  }
  const start = await tracker.startFlowRun({
    ...(exec.flowRunId !== undefined ? { flowRunId: exec.flowRunId } : {}),
    ...(exec.parentTaskRunId !== undefined ? { parentTaskRunId: exec.parentTaskRunId } : {}),
    ...(options.version !== undefined ? { flowVersion: options.version } : {}),
    ...(flowRunName !== undefined ? { flowRunName } : {}),
    flowName: options.name,
    parameters,
    tags: tagsInScope(def.tags),
    retryPolicy: {
      retries,
      ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
      ...(options.retryJitterFactor !== undefined ? { retryJitterFactor: options.retryJitterFactor } : {}),
    },
  });
  if (invalid !== undefined || nameError !== undefined) {
    // The call itself is wrong, so no attempt could succeed: record the run FAILED (noRetry) with
    // the reason, so a bad call is visible where runs are watched, then tell the caller.
    const error = invalid !== undefined ? new ParameterValidationError(options.name, invalid, start.id) : nameError;
    const message = invalid !== undefined ? errorMessage(error) : `flowRunName failed: ${errorMessage(nameError)}`;
    const answer = await tracker.proposeFlowRunState(
      start.id,
      makeState("FAILED", StateNames.Failed, message, { noRetry: true }),
    );
    if (invalid !== undefined) throw error;
    const final =
      answer.status === "ACCEPT" || answer.status === "REJECT"
        ? answer.state
        : makeState("FAILED", StateNames.Failed, message);
    throw new FlowRunError(start.id, start.name, options.name, final, nameError);
  }
  const shared: FlowRunShared = {
    tracker,
    flowName: options.name,
    counters: new Map(),
    pending: new Set(),
    running: new Map(),
  };
  const logPrints = options.logPrints ?? exec.parentLogPrints;
  if (logPrints) installConsoleCapture();
  const timeoutSeconds = options.timeoutSeconds;

  const hookEvent = (state: State, error?: unknown): Omit<HookEvent, "name"> => ({
    kind: "flow",
    runId: start.id,
    runName: start.name,
    state,
    ...(error !== undefined ? { error } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    let running: State;
    try {
      running = await acquireRunning(tracker, start.id, attempt === 1 ? StateNames.Running : StateNames.Retrying);
    } catch (err) {
      // Told not to run, e.g. cancelled while waiting: the run's end hooks still apply.
      const hook = err instanceof AbortedRunError && err.state !== undefined ? hookForState(err.state) : undefined;
      if (hook === "onCancellation" || hook === "onCrashed") {
        const flowRun: FlowRunInfo = { ...start, runCount: start.runCount + attempt - 1 };
        const scope = new RunScope(shared, flowRun, undefined, flowRun.runCount, exec.parentSignal, logPrints);
        await runHooks(hook, options, scope, hookEvent((err as AbortedRunError).state!, err));
      }
      throw err;
    }
    const flowRun: FlowRunInfo = { ...start, runCount: start.runCount + attempt };
    // Before the timeout starts, as for tasks: a slow hook must not eat the attempt's time.
    await runHooks(
      "onRunning",
      options,
      new RunScope(shared, flowRun, undefined, flowRun.runCount, exec.parentSignal, logPrints),
      hookEvent(running),
    );

    const timeout = new AttemptTimeout("flow", start.id, start.name, timeoutSeconds, exec.parentSignal);
    const signal = timeout.signal;
    const scope = new RunScope(shared, flowRun, undefined, flowRun.runCount, signal, logPrints);
    activeFlowRuns.set(start.id, { options, scope });

    let outcome: { ok: true; value: FlowValue<Awaited<R>> } | { ok: false; error: unknown };
    try {
      const pending = runStorage.run(scope, async () => resolveReturned(await def.fn(...callArgs)));
      outcome = {
        ok: true,
        value: (await timeout.race(pending)) as FlowValue<Awaited<R>>,
      };
    } catch (error) {
      outcome = { ok: false, error };
    }
    timeout.clear();
    activeFlowRuns.delete(start.id);
    // Submitted task runs report into this flow run; let them finish first so its final state is
    // the last thing recorded for it. A timed-out run does not wait: its work may be what hangs.
    if (shared.pending.size > 0 && !signal.aborted) await Promise.allSettled([...shared.pending]);

    if (outcome.ok) {
      const answer = await tracker.proposeFlowRunState(start.id, makeState("COMPLETED", StateNames.Completed));
      if (answer.status !== "ACCEPT") {
        scope.logger.warn(
          `Orchestrator answered ${answer.status} to COMPLETED: ${"reason" in answer ? answer.reason : ""}`,
        );
      }
      const completed = answer.status === "ACCEPT" ? answer.state : makeState("COMPLETED", StateNames.Completed);
      await runHooks("onCompletion", options, scope, hookEvent(completed));
      return outcome.value;
    }

    const error = outcome.error;
    const timedOut = timeout.firedAs(error);
    let noRetry = exec.parentSignal.aborted;
    if (!noRetry && options.retryCondition !== undefined && flowRun.runCount <= retries) {
      try {
        noRetry = !(await options.retryCondition(error));
      } catch (conditionError) {
        scope.logger.error(`retryCondition threw; not retrying: ${errorDetail(conditionError)}`);
        noRetry = true;
      }
    }
    scope.logger.error(`Flow run failed: ${errorDetail(error)}`);
    const details: EngineStateDetails = noRetry ? { noRetry: true } : {};
    const proposed = timedOut
      ? { ...timeout.state!, details }
      : makeState("FAILED", StateNames.Failed, errorMessage(error), details);
    const answer = await tracker.proposeFlowRunState(start.id, proposed);
    if (answer.status === "REJECT" && answer.state.type === "SCHEDULED") {
      const at = answer.state.details.scheduledTime;
      scope.logger.info(`Retrying in ${(msUntil(at) / 1000).toFixed(2)}s (${answer.state.name})`);
      if (at !== undefined) await sleepUntil(at);
      continue;
    }
    const final: State = answer.status === "ACCEPT" || answer.status === "REJECT" ? answer.state : proposed;
    const endHook = hookForState(final);
    if (endHook !== undefined) await runHooks(endHook, options, scope, hookEvent(final, error));
    if (timedOut) throw new TimeoutError("flow", start.id, start.name, timeoutSeconds!, final);
    throw new FlowRunError(start.id, start.name, options.name, final, error);
  }
}

/** Proposes RUNNING until the orchestrator lets the run start (returns the RUNNING state), or refuses for good. */
async function acquireRunning(tracker: Tracker, flowRunId: string, name: string): Promise<State> {
  for (;;) {
    const answer = await tracker.proposeFlowRunState(flowRunId, makeState("RUNNING", name));
    switch (answer.status) {
      case "ACCEPT":
        return answer.state;
      case "WAIT":
        await sleep(answer.delaySeconds * 1000);
        continue;
      case "ABORT":
        throw new AbortedRunError(flowRunId, answer.reason);
      case "REJECT": {
        // Adopt the state the orchestrator answered with. Only "not yet" states lead to another
        // attempt; RUNNING means another process already runs this flow run (a duplicate
        // submission), and anything else (terminal, CANCELLING) means it must not run at all.
        const adopted = answer.state;
        if (adopted.type === "SCHEDULED" || adopted.type === "PENDING" || adopted.type === "PAUSED") {
          if (adopted.details.scheduledTime !== undefined) await sleepUntil(adopted.details.scheduledTime);
          else await sleep(1000);
          continue;
        }
        throw new AbortedRunError(flowRunId, `${answer.reason} (run is ${adopted.type})`, adopted);
      }
      default: {
        const unreachable: never = answer;
        throw new Error(`unknown proposal answer ${JSON.stringify(unreachable)}`);
      }
    }
  }
}
