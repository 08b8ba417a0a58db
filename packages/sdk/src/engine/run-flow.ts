// Executes one flow call. Unlike task states, flow-run states are proposals the orchestrator
// answers, and the engine obeys the answer:
//   RUNNING   → ACCEPT: run · WAIT: sleep, propose again · REJECT: adopt the given state · ABORT: stop
//   FAILED    → ACCEPT: the run is over · REJECT to SCHEDULED "AwaitingRetry": sleep until its
//               scheduledTime, propose RUNNING "Retrying" and run the function again in-process
//   COMPLETED → the value is returned whatever the answer (the work is done)
// So the control plane (or LocalTracker in its place) decides flow retries.
import { StateNames, type State } from "@flowplane/core";
import type { z } from "zod";
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
import type { FlowOptions } from "../options.ts";
import { getTracker } from "../tracking/select.ts";
import type { FlowRunInfo, Tracker } from "../tracking/tracker.ts";
import { withRedaction } from "../tracking/redacting-tracker.ts";
import {
  combineSignals,
  errorDetail,
  makeState,
  msUntil,
  raceSignal,
  sleep,
  sleepUntil,
  type EngineState,
  type EngineStateDetails,
} from "./common.ts";

export interface FlowDefinition<Args extends unknown[], R> {
  readonly fn: (...args: Args) => R;
  readonly options: Readonly<FlowOptions>;
  readonly flowKey: string;
  readonly tags: string[];
}

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

async function validateParameters<Args extends unknown[]>(
  flowName: string,
  schema: z.ZodType,
  args: Args,
): Promise<Args> {
  // No argument means "no parameters": the call signature allows it when every field is optional,
  // and a deployment run without parameters reaches here as an empty call (argsFromParameters({})).
  const parsed = await schema.safeParseAsync(args[0] === undefined ? {} : args[0]);
  if (parsed.success) return [parsed.data, ...args.slice(1)] as Args;
  const issues: ParameterIssue[] = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  throw new ParameterValidationError(flowName, issues);
}

export async function runFlow<Args extends unknown[], R>(
  def: FlowDefinition<Args, R>,
  args: Args,
  options: RunFlowOptions = {},
): Promise<Awaited<R>> {
  const callArgs = def.options.parameters
    ? await validateParameters(def.options.name, def.options.parameters, args)
    : args;
  const parent = currentScope();
  if (parent !== undefined) return runSubflow(def, callArgs, parent);
  // Secret values the run resolves are replaced by *** in everything it records.
  const tracker = withRedaction(options.tracker ?? getTracker());
  try {
    return await execute(def, callArgs, tracker, {
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
): Promise<Awaited<R>> {
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
    tags: def.tags,
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
    const childState = err instanceof FlowRunError || err instanceof TimeoutError ? err.state : undefined;
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
): Promise<Awaited<R>> {
  const { options } = def;
  const retries = options.retries ?? 0;
  const start = await tracker.startFlowRun({
    ...(exec.flowRunId !== undefined ? { flowRunId: exec.flowRunId } : {}),
    ...(exec.parentTaskRunId !== undefined ? { parentTaskRunId: exec.parentTaskRunId } : {}),
    ...(options.version !== undefined ? { flowVersion: options.version } : {}),
    flowName: options.name,
    parameters: parametersFromArgs(args),
    tags: def.tags,
    retryPolicy: {
      retries,
      ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
      ...(options.retryJitterFactor !== undefined ? { retryJitterFactor: options.retryJitterFactor } : {}),
    },
  });
  const shared: FlowRunShared = { tracker, flowName: options.name, counters: new Map(), pending: new Set() };
  const logPrints = options.logPrints ?? exec.parentLogPrints;
  if (logPrints) installConsoleCapture();
  const timeoutSeconds = options.timeoutSeconds;

  for (let attempt = 1; ; attempt++) {
    await acquireRunning(tracker, start.id, attempt === 1 ? StateNames.Running : StateNames.Retrying);
    const flowRun: FlowRunInfo = { ...start, runCount: start.runCount + attempt };

    let timer: ReturnType<typeof setTimeout> | undefined;
    let signal = exec.parentSignal;
    const timeout: { reason?: TimeoutError; state?: EngineState } = {};
    if (timeoutSeconds !== undefined) {
      const controller = new AbortController();
      signal = combineSignals(exec.parentSignal, controller.signal);
      timer = setTimeout(() => {
        timeout.state = makeState(
          "FAILED",
          StateNames.TimedOut,
          `Flow run '${start.name}' timed out after ${timeoutSeconds}s`,
        );
        timeout.reason = new TimeoutError("flow", start.id, start.name, timeoutSeconds, timeout.state);
        controller.abort(timeout.reason);
      }, timeoutSeconds * 1000);
    }
    const scope = new RunScope(shared, flowRun, undefined, flowRun.runCount, signal, logPrints);

    let outcome: { ok: true; value: Awaited<R> } | { ok: false; error: unknown };
    try {
      const pending = runStorage.run(scope, def.fn, ...args);
      outcome = { ok: true, value: await (timer === undefined ? pending : raceSignal(pending, signal)) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    clearTimeout(timer);
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
      return outcome.value;
    }

    const error = outcome.error;
    const timedOut = timeout.reason !== undefined && error === timeout.reason;
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
    if (timedOut) throw new TimeoutError("flow", start.id, start.name, timeoutSeconds!, final);
    throw new FlowRunError(start.id, start.name, options.name, final, error);
  }
}

/** Proposes RUNNING until the orchestrator lets the run start, or refuses for good. */
async function acquireRunning(tracker: Tracker, flowRunId: string, name: string): Promise<void> {
  for (;;) {
    const answer = await tracker.proposeFlowRunState(flowRunId, makeState("RUNNING", name));
    switch (answer.status) {
      case "ACCEPT":
        return;
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
