/**
 * @flowplane/core — Flowplane's pure domain logic: run states, the orchestration rules, job
 * templates and schedule math. No I/O lives here, so every rule is unit-tested without a database.
 */
export * from "./states.ts";
