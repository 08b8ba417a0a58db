// Executes one task call inside a flow run. Tasks retry in-process without asking anyone: every
// state is reported fire-and-forget through tracker.recordTaskRunState, so a trivial task costs a
// few object allocations and no I/O on the caller's path.
//
//   PENDING → RUNNING → COMPLETED
//   PENDING → RUNNING → SCHEDULED "AwaitingRetry" → RUNNING "Retrying" → … → COMPLETED | FAILED
//   PENDING → COMPLETED "Cached"                  (cache hit: the function does not run)
import { retryDelayMs, StateNames, type RetryPolicy, type State } from "@flowplane/core";
import { runStorage, RunScope, type TaskRunInfo } from "../context.ts";
import { errorMessage, TaskRunError, TimeoutError } from "../errors.ts";
import type { TaskOptions } from "../options.ts";
import { resultStore } from "../results/store.ts";
import type { TaskRunRecord } from "../tracking/tracker.ts";
import {
  combineSignals,
  errorDetail,
  makeState,
  raceSignal,
  sleep,
  type EngineState,
  type EngineStateDetails,
} from "./common.ts";

export interface TaskDefinition<Args extends unknown[], R> {
  readonly fn: (...args: Args) => R;
  readonly options: Readonly<TaskOptions<Args>>;
  readonly taskKey: string;
  readonly tags: string[];
  readonly retries: number;
  readonly retryPolicy: RetryPolicy;
  /** Persist results: explicit option, else on when caching is configured. */
  readonly persist: boolean;
}

export type StateListener = (state: State) => void;

export async function runTask<Args extends unknown[], R>(
  def: TaskDefinition<Args, R>,
  args: Args,
  parent: RunScope,
  id: string,
  onState?: StateListener,
): Promise<Awaited<R>> {
  // A run whose flow already timed out starts nothing new.
  if (parent.signal.aborted) throw parent.signal.reason;
  const { shared, flowRun } = parent;
  const { tracker } = shared;
  const { options, taskKey } = def;

  const index = shared.counters.get(taskKey) ?? 0;
  shared.counters.set(taskKey, index + 1);
  const name =
    options.taskRunName === undefined
      ? `${options.name}-${index}`
      : typeof options.taskRunName === "string"
        ? options.taskRunName
        : options.taskRunName(...args);

  let cacheKey: string | undefined;
  let cacheKeyError: unknown;
  if (options.cacheKey !== undefined) {
    try {
      cacheKey =
        options.cacheKey({ taskKey, taskName: options.name, flowRun, parameters: flowRun.parameters }, args) ??
        undefined;
    } catch (err) {
      cacheKeyError = err;
    }
  }

  const createdAt = new Date().toISOString();
  const record: TaskRunRecord = {
    id,
    flowRunId: flowRun.id,
    name,
    taskKey,
    dynamicKey: String(index),
    tags: def.tags,
    createdAt,
  };
  if (cacheKey !== undefined) record.cacheKey = cacheKey;
  tracker.recordTaskRun(record);
  const report = (state: EngineState): void => {
    tracker.recordTaskRunState(id, state);
    onState?.(state);
  };
  report({ type: "PENDING", name: StateNames.Pending, timestamp: createdAt, details: {} });

  const logPrints = options.logPrints ?? parent.logPrints;
  if (cacheKeyError !== undefined) {
    const failed = makeState("FAILED", StateNames.Failed, `cacheKey function failed: ${errorMessage(cacheKeyError)}`);
    report(failed);
    throw new TaskRunError(id, name, failed, cacheKeyError);
  }

  if (cacheKey !== undefined && !options.refreshCache) {
    const hit = await resultStore().read(cacheKey);
    if (hit !== undefined) {
      const details: EngineStateDetails = { cacheKey, resultRef: cacheKey };
      if (hit.expiresAt !== null) details.cacheExpiration = hit.expiresAt;
      report(makeState("COMPLETED", StateNames.Cached, undefined, details));
      return hit.value as Awaited<R>;
    }
  }

  const timeoutSeconds = options.timeoutSeconds;
  for (let attempt = 1; ; attempt++) {
    report(makeState("RUNNING", attempt === 1 ? StateNames.Running : StateNames.Retrying));
    const taskRun: TaskRunInfo = { id, name, runCount: attempt };

    let timer: ReturnType<typeof setTimeout> | undefined;
    let signal = parent.signal;
    const timeout: { reason?: TimeoutError; state?: EngineState } = {};
    if (timeoutSeconds !== undefined) {
      const controller = new AbortController();
      signal = combineSignals(parent.signal, controller.signal);
      timer = setTimeout(() => {
        timeout.state = makeState(
          "FAILED",
          StateNames.TimedOut,
          `Task run '${name}' timed out after ${timeoutSeconds}s`,
        );
        timeout.reason = new TimeoutError("task", id, name, timeoutSeconds, timeout.state);
        controller.abort(timeout.reason);
      }, timeoutSeconds * 1000);
    }
    const scope = new RunScope(shared, flowRun, taskRun, attempt, signal, logPrints);

    let value: Awaited<R>;
    try {
      const pending = runStorage.run(scope, def.fn, ...args);
      value = await (timer === undefined ? pending : raceSignal(pending, signal));
    } catch (err) {
      clearTimeout(timer);
      const timedOut = timeout.reason !== undefined && err === timeout.reason;
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
        report(timeout.state!);
        throw timeout.reason!;
      }
      const failed = makeState("FAILED", StateNames.Failed, errorMessage(err), noRetry ? { noRetry: true } : {});
      report(failed);
      throw new TaskRunError(id, name, failed, err);
    }
    clearTimeout(timer);

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
    report(makeState("COMPLETED", StateNames.Completed, undefined, details));
    return value;
  }
}

/** A task called outside any flow run: Prefect-style, it simply runs, untracked. */
export async function runUntracked<Args extends unknown[], R>(
  def: TaskDefinition<Args, R>,
  args: Args,
  onState?: StateListener,
): Promise<Awaited<R>> {
  onState?.(makeState("RUNNING", StateNames.Running));
  try {
    const value = await def.fn(...args);
    onState?.(makeState("COMPLETED", StateNames.Completed));
    return value;
  } catch (err) {
    onState?.(makeState("FAILED", StateNames.Failed, errorMessage(err)));
    throw err;
  }
}
