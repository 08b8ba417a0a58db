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
 */

// Defining and calling flows and tasks
export { flow, type Flow, type JsonSchema } from "./flow.ts";
export { task, type Task } from "./task.ts";
export type { TaskFuture } from "./future.ts";
export type { FlowOptions, TaskOptions, MapOptions } from "./options.ts";
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
export { inputsCacheKey, type CacheKeyContext } from "./results/cache-key.ts";
export { ResultStore, type StoredResult } from "./results/store.ts";
export { configure, type SdkConfig } from "./config.ts";
export { getSecret, getVariable, SecretNotFoundError, VariableNotFoundError, type JsonValue } from "./secrets.ts";

// Errors
export {
  FlowplaneError,
  TaskRunError,
  FlowRunError,
  TimeoutError,
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
