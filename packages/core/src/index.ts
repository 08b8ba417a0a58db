/**
 * @flowplane/core — Flowplane's pure domain logic: run states, the orchestration rules, job
 * templates and schedule math. No I/O lives here, so every rule is unit-tested without a database.
 */
export * from "./states.ts";
export { uuidv7, uuidv7Timestamp } from "./ids/uuidv7.ts";
export * from "./orchestration/index.ts";
export * from "./schedules/index.ts";
export * from "./jobs/index.ts";
export {
  SECRET_NAME_RE,
  findReferences,
  resolveReferences,
  type References,
  type ReferenceValues,
} from "./references.ts";
export { Redactor, REDACTED } from "./redaction.ts";
export { boundedCacheKey, MAX_CACHE_KEY_LENGTH } from "./cache-keys.ts";
export type { IngestArtifact, IngestBatch, IngestLog, IngestTaskRun, IngestTaskRunState } from "./ingest.ts";
