// Executes one task call inside a flow run. Tasks retry in-process without asking anyone: every
// state is reported fire-and-forget through tracker.recordTaskRunState, so a trivial task costs a
// few object allocations and no I/O on the caller's path.
//
//   PENDING → RUNNING → COMPLETED
//   PENDING → RUNNING → SCHEDULED "AwaitingRetry" → RUNNING "Retrying" → … → COMPLETED | FAILED
//   PENDING → COMPLETED "Cached"                  (cache hit: the function does not run)
//   PENDING → FAILED                              (an upstream future failed: the function does not run)
//
// A task called outside any flow run is still a task run: it runs inside an implicit flow run
// named `task:<name>` (the control plane stores task runs under a flow run), with the task's own
// retries, timeout, caching, hooks and run context.
import { createHash } from "node:crypto";
import { boundedCacheKey, retryDelayMs, StateNames, type RetryPolicy, type State } from "@flowplane/core";
import { currentScope, runStorage, RunScope, type TaskRunInfo } from "../context.ts";
import { errorMessage, FlowRunError, TaskRunError, TimeoutError } from "../errors.ts";
import { installConsoleCapture } from "../console-capture.ts";
import type { TaskOptions } from "../options.ts";
import { UnhashableInputError } from "../results/cache-key.ts";
import { resultStore } from "../results/store.ts";
import { tagsInScope } from "../tags.ts";
import type { TaskRunRecord } from "../tracking/tracker.ts";
import {
  AttemptTimeout,
  errorDetail,
  makeState,
  raceSignal,
  sleep,
  type EngineState,
  type EngineStateDetails,
} from "./common.ts";
import { runHooks } from "./hooks.ts";
import { collectUpstream, resolveArgs, upstreamSettled } from "./inputs.ts";
import { runFlow } from "./run-flow.ts";

const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

export interface TaskDefinition<Args extends unknown[], R> {
  readonly fn: (...args: Args) => R;
  readonly options: Readonly<TaskOptions<Args>>;
  readonly taskKey: string;
  /** Hash of fn's source, part of the default cache key. */
  readonly sourceHash: string;
  readonly tags: string[];
  readonly retries: number;
  readonly retryPolicy: RetryPolicy;
  /** Persist results: explicit option, else on when caching is configured. */
  readonly persist: boolean;
}

export type StateListener = (state: State) => void;

/**
 * Runs one task call. `rawArgs` may hold futures (of task runs in the same process): the run
 * waits for them and receives their values.
 */
export async function runTask<Args extends unknown[], R>(
  def: TaskDefinition<Args, R>,
  rawArgs: readonly unknown[],
  parent: RunScope,
  id: string,
  onState?: StateListener,
): Promise<Awaited<R>> {
  // A run whose flow already timed out starts nothing new.
  if (parent.signal.aborted) throw parent.signal.reason;
  const { shared, flowRun } = parent;
  const { tracker } = shared;
  const { options, taskKey } = def;

  // Taken before any wait, so call order alone decides dynamic keys.
  const index = shared.counters.get(taskKey) ?? 0;
  shared.counters.set(taskKey, index + 1);
  const tags = tagsInScope(def.tags);

  const upstream = collectUpstream(rawArgs, options.waitFor);
  let resolved: ReturnType<typeof resolveArgs> = { ok: true, args: rawArgs as unknown[] };
  if (upstream.futures.length > 0) {
    await raceSignal(upstreamSettled(upstream), parent.signal);
    resolved = resolveArgs(rawArgs, options.waitFor);
  }
  const args = (resolved.ok ? resolved.args : rawArgs) as Args;

  // With a failed upstream run the arguments are incomplete, so a name function (typed for the
  // values) is not called: the run gets the default name.
  const name =
    options.taskRunName === undefined || (!resolved.ok && typeof options.taskRunName === "function")
      ? `${options.name}-${index}`
      : typeof options.taskRunName === "string"
        ? options.taskRunName
        : options.taskRunName(...args);

  let cacheKey: string | undefined;
  let cacheKeyError: unknown;
  let unhashable: UnhashableInputError | undefined;
  if (options.cacheKey !== undefined && resolved.ok) {
    try {
      const key = options.cacheKey(
        { taskKey, taskName: options.name, taskSourceHash: def.sourceHash, flowRun, parameters: flowRun.parameters },
        args,
      );
      // Bounded here, so the key the result is stored under is the one the control plane records.
      cacheKey = key == null ? undefined : boundedCacheKey(key, sha256Hex);
    } catch (err) {
      if (err instanceof UnhashableInputError) unhashable = err;
      else cacheKeyError = err;
    }
  }

  const createdAt = new Date().toISOString();
  const record: TaskRunRecord = {
    id,
    flowRunId: flowRun.id,
    name,
    taskKey,
    dynamicKey: String(index),
    tags,
    createdAt,
  };
  if (cacheKey !== undefined) record.cacheKey = cacheKey;
  if (upstream.edges.length > 0) record.inputTaskRunIds = upstream.edges;
  tracker.recordTaskRun(record);
  const report = (state: EngineState): void => {
    tracker.recordTaskRunState(id, state);
    onState?.(state);
  };
  report({ type: "PENDING", name: StateNames.Pending, timestamp: createdAt, details: {} });

  const logPrints = options.logPrints ?? parent.logPrints;
  if (logPrints) installConsoleCapture();
  const runScope = (attempt: number, signal: AbortSignal): RunScope =>
    new RunScope(shared, flowRun, { id, name, runCount: attempt }, attempt, signal, logPrints);
  const finish = (state: EngineState, scope: RunScope, error?: unknown): Promise<void> | undefined => {
    report(state);
    const hook = state.type === "COMPLETED" ? "onCompletion" : "onFailure";
    return runHooks(hook, options, scope, { kind: "task", runId: id, runName: name, state, error });
  };

  if (!resolved.ok) {
    const { failure } = resolved;
    const failed = makeState(
      "FAILED",
      StateNames.Failed,
      `Upstream task run ${failure.taskRunId} ended ${failure.state.type}: ${errorMessage(failure.error)}`,
    );
    await finish(failed, runScope(0, parent.signal), failure.error);
    throw new TaskRunError(id, name, failed, failure.error);
  }
  if (cacheKeyError !== undefined) {
    const failed = makeState("FAILED", StateNames.Failed, `cacheKey function failed: ${errorMessage(cacheKeyError)}`);
    await finish(failed, runScope(0, parent.signal), cacheKeyError);
    throw new TaskRunError(id, name, failed, cacheKeyError);
  }
  if (unhashable !== undefined) {
    runScope(0, parent.signal).logger.warn(`Not cached: ${unhashable.message}; the task runs without the cache`);
  }

  if (cacheKey !== undefined && !options.refreshCache) {
    const hit = await resultStore().read(cacheKey);
    if (hit !== undefined) {
      const details: EngineStateDetails = { cacheKey, resultRef: cacheKey };
      if (hit.expiresAt !== null) details.cacheExpiration = hit.expiresAt;
      await finish(makeState("COMPLETED", StateNames.Cached, undefined, details), runScope(0, parent.signal));
      return hit.value as Awaited<R>;
    }
  }

  const timeoutSeconds = options.timeoutSeconds;
  for (let attempt = 1; ; attempt++) {
    const running = makeState("RUNNING", attempt === 1 ? StateNames.Running : StateNames.Retrying);
    report(running);
    // Before the timeout starts: a slow hook must not eat the attempt's time.
    const onRunning = runHooks("onRunning", options, runScope(attempt, parent.signal), {
      kind: "task",
      runId: id,
      runName: name,
      state: running,
    });
    if (onRunning !== undefined) await onRunning;
    const taskRun: TaskRunInfo = { id, name, runCount: attempt };

    const timeout = new AttemptTimeout("task", id, name, timeoutSeconds, parent.signal);
    const signal = timeout.signal;
    const scope = new RunScope(shared, flowRun, taskRun, attempt, signal, logPrints);

    let value: Awaited<R>;
    shared.running.set(id, { options: options as Readonly<TaskOptions<never[]>>, scope });
    try {
      const pending = runStorage.run(scope, def.fn, ...args);
      value = await timeout.race(pending);
    } catch (err) {
      shared.running.delete(id);
      timeout.clear();
      const timedOut = timeout.firedAs(err);
      let noRetry = false;
      // Retries are pointless once the enclosing flow run has been given up on.
      if (attempt <= def.retries && !parent.signal.aborted) {
        let retry = true;
        if (options.retryCondition !== undefined) {
          try {
            retry = await options.retryCondition(err);
          } catch (conditionError) {
            scope.logger.error(`retryCondition threw; not retrying: ${errorDetail(conditionError)}`);
            retry = false;
          }
        }
        if (retry) {
          // The same delay computation the server applies to flow retries.
          const delayMs = retryDelayMs(def.retryPolicy, attempt);
          scope.logger.warn(
            `Attempt ${attempt} failed; retry ${attempt}/${def.retries} in ${(delayMs / 1000).toFixed(2)}s: ${errorMessage(err)}`,
          );
          const at = new Date(Date.now() + delayMs).toISOString();
          report(makeState("SCHEDULED", StateNames.AwaitingRetry, errorMessage(err), { scheduledTime: at }));
          await sleep(delayMs);
          continue;
        }
        noRetry = true;
      }
      scope.logger.error(`Task run failed: ${errorDetail(err)}`);
      if (timedOut) {
        await finish(timeout.state!, scope, timeout.reason);
        throw timeout.reason!;
      }
      const failed = makeState("FAILED", StateNames.Failed, errorMessage(err), noRetry ? { noRetry: true } : {});
      await finish(failed, scope, err);
      throw new TaskRunError(id, name, failed, err);
    }
    shared.running.delete(id);
    timeout.clear();

    const details: EngineStateDetails = {};
    if (def.persist) {
      const key = cacheKey ?? `task-run-${id}`;
      try {
        const expiresAt =
          cacheKey !== undefined && options.cacheExpirationSeconds !== undefined
            ? new Date(Date.now() + options.cacheExpirationSeconds * 1000)
            : null;
        const stored = await resultStore().write(key, value, { expiresAt });
        details.resultRef = key;
        if (cacheKey !== undefined) details.cacheKey = cacheKey;
        if (stored.expiresAt !== null) details.cacheExpiration = stored.expiresAt;
      } catch (err) {
        // A result that cannot be stored only costs a future cache hit; the run itself succeeded.
        scope.logger.warn(`Result not persisted (${key}): ${errorMessage(err)}`);
      }
    }
    const completed = finish(makeState("COMPLETED", StateNames.Completed, undefined, details), scope);
    if (completed !== undefined) await completed;
    return value;
  }
}

/**
 * A task called outside any flow run: it runs in an implicit flow run of its own (no retries of
 * its own; the task's retries apply), and the caller sees the task's error, not the flow's.
 */
export async function runStandaloneTask<Args extends unknown[], R>(
  def: TaskDefinition<Args, R>,
  rawArgs: readonly unknown[],
  id: string,
  onState?: StateListener,
): Promise<Awaited<R>> {
  const implicitFlow = {
    fn: (): Promise<Awaited<R>> => runTask(def, rawArgs, currentScope()!, id, onState),
    options: { name: `task:${def.options.name}` },
    flowKey: `task:${def.taskKey}`,
    tags: def.tags,
  };
  try {
    // The implicit flow returns the task's value as is (a value is never a future here).
    return (await runFlow(implicitFlow, [])) as Awaited<R>;
  } catch (err) {
    if (err instanceof FlowRunError && (err.cause instanceof TaskRunError || err.cause instanceof TimeoutError)) {
      throw err.cause;
    }
    throw err;
  }
}
