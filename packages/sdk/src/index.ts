/**
 * @flowplane/sdk — turn ordinary async functions into tracked, retried, cached workflow runs.
 *
 * ```ts
 * import { flow, task, getRunLogger, createMarkdownArtifact, exponentialBackoff } from "@flowplane/sdk";
 * import { z } from "zod";
 *
 * const fetchRegion = task(
 *   { name: "fetch_region", retries: 3, retryDelaySeconds: exponentialBackoff(1, 10), timeoutSeconds: 30 },
 *   async (region: string) => ({ region, total: region.length * 100 }),
 * );
 *
 * const report = task({ name: "report" }, (totals: { region: string; total: number }[]) => {
 *   const lines = totals.map((t) => `| ${t.region} | ${t.total} |`);
 *   createMarkdownArtifact(["| region | total |", "|---|---|", ...lines].join("\n"), { key: "totals" });
 *   return totals.reduce((sum, t) => sum + t.total, 0);
 * });
 *
 * export const regional = flow(
 *   { name: "regional_totals", logPrints: true, parameters: z.object({ regions: z.array(z.string()).default(["eu", "us"]) }) },
 *   async ({ regions }) => {
 *     const totals = await fetchRegion.map(regions, { concurrency: 4 });
 *     getRunLogger().info("fetched %d regions", totals.length);
 *     return report(totals);
 *   },
 * );
 *
 * console.log(await regional({ regions: ["eu", "us", "apac"] })); // 800
 * ```
 *
 * Without a control plane configured, runs are recorded by a LocalTracker, which prints a one-line
 * summary per top-level flow run to stderr (FLOWPLANE_QUIET=1 silences it).
 *
 * ## Behaviour, for people coming from Prefect
 *
 * - **Tasks outside flows are tasks.** Called (or submitted, or mapped) outside any flow, a task
 *   runs in an implicit flow run named `task:<name>` with its retries, timeout, caching, hooks,
 *   `logPrints` and a run context; with a control plane configured that run is recorded. The caller
 *   gets the task's own error (a TaskRunError), as inside a flow.
 * - **Caching.** `cacheKey: inputsCacheKey` keys on the task, its function's source text and its
 *   arguments, so edited code never gets an old result; `inputsOnlyCacheKey` leaves the source out.
 *   Arguments with no stable encoding (functions, symbols, promises, circular objects) run the call
 *   uncached with a warning on the task run.
 * - **Futures.** `submit` returns a TaskFuture. Pass it as an argument to another task (types
 *   accept `T | TaskFuture<T>`), in `map` items, or in `withOptions({ waitFor: [...] })`: the
 *   downstream run waits, receives the value, and records the upstream run as its input edge (the
 *   dashboard's run page shows them). A failed upstream fails the downstream run without running it,
 *   unless wrapped in `allowFailure(future)` (the argument is then `undefined`). A flow that returns a
 *   future, or an array of futures, returns their values — and fails if one failed.
 *   `asCompleted(futures)` and `waitAll(futures)` wait for many.
 * - **map** runs every item (at most `concurrency` at once) and throws the first failure in item
 *   order once all have settled; `{ failFast: true }` stops starting items and throws at once.
 * - **Parameters** are validated before the flow runs; an invalid call records a FAILED flow run
 *   (and a FAILED stand-in task run for a sub-flow) carrying the issues, then throws
 *   ParameterValidationError. A plain `z.object` refuses unknown keys; use `.loose()` to accept them.
 * - **Hooks** (`onRunning`, `onCompletion`, `onFailure`, `onCancellation`, `onCrashed`; a function or
 *   a list) run after the state is recorded, inside the run's context. A hook's error is logged on
 *   the run and changes nothing. When the worker stops a run (SIGTERM to the runner), the
 *   onCancellation hooks of the flow run and of its task runs executing at that moment run if it
 *   is being cancelled, their onCrashed hooks otherwise, within 5 s.
 * - **Names and tags.** `flowRunName` (a string or a function of the parameters) names flow runs;
 *   `withTags(["nightly"], () => ...)` adds tags to every run started inside.
 * - **Artifacts outside a run** are created, attached to no run (find them by key), with a warning.
 *
 * ## Timeouts and errors in JavaScript
 *
 * JavaScript cannot stop a running function from outside (there is no thread to kill). When a
 * flow's or task's `timeoutSeconds` passes, the run ends FAILED "TimedOut" at once, the caller gets
 * a TimeoutError, and `getRunContext().signal` aborts with that error as its reason — the function's
 * own code keeps running until it next awaits something that observes the signal (pass it to
 * `fetch`, child processes, or check `signal.aborted` in loops). Likewise `future.result({
 * timeoutSeconds })` only stops *waiting* (ResultTimeoutError); the task run goes on and records its
 * own final state. Errors are wrapped rather than re-raised: a failed task throws TaskRunError and a
 * failed flow FlowRunError, each with the original error as `cause` and the final `state`; every SDK
 * error has a `code` from a closed set (FlowplaneErrorCode) to switch on.
 */
// Defining and calling flows and tasks
export { flow, type Flow, type JsonSchema } from "./flow.ts";
export { task, type Task, type FutureArgs, type ArgOrFuture } from "./task.ts";
export type { FlowValue } from "./engine/run-flow.ts";
export {
  allowFailure,
  asCompleted,
  waitAll,
  type TaskFuture,
  type AllowedFailure,
  type ResultOptions,
} from "./future.ts";
export { withTags } from "./tags.ts";
export type { FlowOptions, TaskOptions, MapOptions, HookEvent, StateHook, StateHooks, WaitFor } from "./options.ts";
export { exponentialBackoff, type RetryDelay } from "@flowplane/core";

// Inside a run
export { getRunContext, getRunLogger, type RunContext, type TaskRunInfo } from "./context.ts";
export type { RunLogger } from "./logging.ts";
export {
  createMarkdownArtifact,
  createTableArtifact,
  createLinkArtifact,
  type ArtifactOptions,
  type TableArtifactOptions,
  type LinkArtifactOptions,
  type TableData,
} from "./artifacts.ts";

// Caching and results
export { inputsCacheKey, inputsOnlyCacheKey, type CacheKeyContext } from "./results/cache-key.ts";
export { ResultStore, type StoredResult } from "./results/store.ts";
export { configure, type SdkConfig } from "./config.ts";
export { getSecret, getVariable, SecretNotFoundError, VariableNotFoundError, type JsonValue } from "./secrets.ts";

// Errors
export {
  FlowplaneError,
  TaskRunError,
  FlowRunError,
  TimeoutError,
  ResultTimeoutError,
  ParameterValidationError,
  AbortedRunError,
  MissingContextError,
  InvalidArgumentError,
  type FlowplaneErrorCode,
  type ParameterIssue,
} from "./errors.ts";

// Recording runs
export { setTracker, getTracker } from "./tracking/select.ts";
export { LocalTracker, type LocalTrackerOptions } from "./tracking/local-tracker.ts";
export { ApiTracker, type ApiTrackerOptions } from "./tracking/api-tracker.ts";
export {
  MemoryTracker,
  type MemoryTaskRun,
  type MemoryProposal,
  type MemoryTrackerOptions,
} from "./tracking/memory-tracker.ts";
export type { LocalFlowRun } from "./tracking/local-orchestration.ts";
export type {
  Tracker,
  ProposalResult,
  FlowRunStart,
  FlowRunInfo,
  TaskRunRecord,
  LogRecord,
  ArtifactRecord,
} from "./tracking/tracker.ts";
