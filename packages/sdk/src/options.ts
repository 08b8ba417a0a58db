// Options accepted by flow() and task(), and their definition-time checks. A bad option fails when
// the flow or task is defined (at import), not in the middle of a production run.
import type { RetryDelay, State } from "@flowplane/core";
import type { z } from "zod";
import { InvalidArgumentError } from "./errors.ts";
import { isAllowedFailure, isTaskFuture, type AllowedFailure, type TaskFuture } from "./future.ts";
import type { CacheKeyContext } from "./results/cache-key.ts";

/** What a state hook learns about the run whose state changed. */
export interface HookEvent {
  kind: "flow" | "task";
  /** The flow's or task's name. */
  name: string;
  runId: string;
  runName: string;
  /** The state that triggered the hook. */
  state: State;
  /** What the run threw, for onFailure (and onCrashed/onCancellation when there was an error). */
  error?: unknown;
}

/**
 * Called after a run reaches a state. Runs inside the run's context (getRunLogger() logs on the
 * run); a hook that throws or rejects is logged on the run as an error and changes nothing.
 */
/** May return a promise: the run waits for it. */
export type StateHook = (event: HookEvent) => unknown;
export type StateHooks = StateHook | readonly StateHook[];

/** Futures a task run waits for before it starts (see allowFailure). */
export type WaitFor = readonly (TaskFuture<unknown> | AllowedFailure<unknown>)[];

interface RunOptions {
  name: string;
  description?: string;
  version?: string;
  tags?: readonly string[];
  /** How many times to re-run after a failure (so up to retries + 1 attempts). Default 0. */
  retries?: number;
  /** Wait before each retry: seconds, a list (one per retry, the last repeats), or exponentialBackoff(). */
  retryDelaySeconds?: RetryDelay;
  /** Randomises each delay uniformly within ±factor of it (0.2 → 80%–120%). */
  retryJitterFactor?: number;
  /** Called with the error when retries remain; false (or a throw) ends the run without retrying. */
  retryCondition?: (error: unknown) => boolean | Promise<boolean>;
  /** Per attempt. On expiry the run's signal aborts and the run ends FAILED "TimedOut". */
  timeoutSeconds?: number;
  /** Also record console.log/info/warn/error/debug calls made during the run as its log lines. */
  logPrints?: boolean;
  /** After each accepted RUNNING (every attempt). */
  onRunning?: StateHooks;
  /** After the run ends COMPLETED (a cache hit included). */
  onCompletion?: StateHooks;
  /** After the run ends FAILED for good (not while retries remain). */
  onFailure?: StateHooks;
  /** After the run ends CANCELLED, including when the worker stops it on a cancel request. */
  onCancellation?: StateHooks;
  /** After the run ends CRASHED: its process is being stopped by the infrastructure. */
  onCrashed?: StateHooks;
}

export interface TaskOptions<Args extends unknown[] = unknown[]> extends RunOptions {
  /** Task run name; default `${name}-${callIndex}`. */
  taskRunName?: string | ((...args: Args) => string);
  /**
   * Cache key for a call; null/undefined = do not cache this call. A call whose key has an
   * unexpired stored result returns it without running. `inputsCacheKey` is a ready-made one.
   */
  cacheKey?: (ctx: CacheKeyContext, args: Args) => string | null | undefined;
  /** How long a cached result serves hits; default: forever. */
  cacheExpirationSeconds?: number;
  /** Run even on a cache hit, and overwrite the stored result. */
  refreshCache?: boolean;
  /** Store the result under the results directory. Default: true when `cacheKey` is set. */
  persistResult?: boolean;
  /**
   * Task runs this call waits for before starting (per call: `t.withOptions({ waitFor: [f] })(x)`).
   * A failed one fails this run without running it, unless wrapped in allowFailure().
   */
  waitFor?: WaitFor;
}

export interface FlowOptions extends RunOptions {
  /**
   * Zod schema of the flow's parameters object (its first argument). Checked before a run is
   * created; the parsed value (defaults applied) is what the flow function receives. Its JSON
   * Schema (flow.parameterJsonSchema()) is stored on deployments.
   */
  parameters?: z.ZodType;
  /** Flow run name: a string, or made from the (parsed) parameters. Default: a random name. */
  flowRunName?: string | ((parameters: Record<string, unknown>) => string);
}

export interface MapOptions {
  /** Most task runs in flight at once; default: all items at once. */
  concurrency?: number;
  /**
   * Stop starting items after the first failure and reject at once. By default every item runs
   * and the first failure (in item order) is thrown once all have settled.
   */
  failFast?: boolean;
}

export function checkRunOptions(kind: "flow" | "task", options: RunOptions): void {
  const bad = (field: string, why: string): never => {
    throw new InvalidArgumentError(`${kind} '${String(options.name)}': ${field} ${why}`);
  };
  if (typeof options.name !== "string" || options.name.trim() === "") bad("name", "must be a non-empty string");
  const r = options.retries;
  if (r !== undefined && (!Number.isInteger(r) || r < 0)) bad("retries", "must be a non-negative integer");
  const t = options.timeoutSeconds;
  if (t !== undefined && !(t > 0 && Number.isFinite(t))) bad("timeoutSeconds", "must be a positive number");
  const j = options.retryJitterFactor;
  if (j !== undefined && !(j >= 0 && Number.isFinite(j))) bad("retryJitterFactor", "must be a non-negative number");
  for (const hook of ["onRunning", "onCompletion", "onFailure", "onCancellation", "onCrashed"] as const) {
    const value = options[hook];
    const list = value === undefined ? [] : typeof value === "function" ? [value] : value;
    if (!Array.isArray(list) || list.some((h) => typeof h !== "function"))
      bad(hook, "must be a function or a list of functions");
  }
  const d = options.retryDelaySeconds;
  if (d !== undefined) {
    const values = typeof d === "number" ? [d] : Array.isArray(d) ? d : [(d as { baseSeconds: number }).baseSeconds];
    if (values.some((v) => typeof v !== "number" || !(v >= 0)))
      bad("retryDelaySeconds", "must be non-negative seconds");
  }
}

export function checkTaskOptions<Args extends unknown[]>(options: TaskOptions<Args>): void {
  checkRunOptions("task", options);
  const w = options.waitFor;
  if (w !== undefined && (!Array.isArray(w) || !w.every((f) => isTaskFuture(f) || isAllowedFailure(f)))) {
    throw new InvalidArgumentError(
      `task '${options.name}': waitFor must be a list of task futures (from submit or map) or allowFailure(future)`,
    );
  }
  const e = options.cacheExpirationSeconds;
  if (e !== undefined && !(e > 0)) {
    throw new InvalidArgumentError(`task '${options.name}': cacheExpirationSeconds must be a positive number`);
  }
}

export function checkConcurrency(concurrency: number | undefined): void {
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new InvalidArgumentError(`map: concurrency must be a positive integer, got ${concurrency}`);
  }
}
