// A flow run's state columns as the run-state module reads and writes them, and the state lists
// SQL uses, spelled from packages/core's constants so they cannot drift from the domain's.
import {
  ACTIVE_STATE_TYPES,
  TERMINAL_STATE_TYPES,
  type RetryPolicy,
  type State,
  type StateType,
} from "@flowplane/core";

/** The columns that hold a run's current state, on flow runs and task runs alike. */
export interface StateColumns {
  stateType: StateType;
  stateName: string;
  stateTimestamp: Date;
  stateMessage: string | null;
  stateTransitionId: string | null;
}

export interface RunRow extends StateColumns {
  id: string;
  workspaceId: string;
  runCount: number;
  retryPolicy: RetryPolicy;
  nextScheduledTime: Date | null;
  workPoolId: string | null;
  deploymentId: string | null;
  workerId: string | null;
  /** The current claim's token; writes for a claimed attempt must carry it (fence.ts). */
  claimToken: string | null;
}

/** A run row with its version (xmin) at the time it was read or written. */
export type VersionedRun = RunRow & { version: string };

const RUN_COLUMN_NAMES = [
  "id",
  "workspaceId",
  "stateType",
  "stateName",
  "stateTimestamp",
  "stateMessage",
  "stateTransitionId",
  "runCount",
  "retryPolicy",
  "nextScheduledTime",
  "workPoolId",
  "deploymentId",
  "workerId",
  "claimToken",
] as const satisfies readonly (keyof RunRow)[];

/** The RunRow columns of `"FlowRun"` (as `alias`), for `SELECT` and `RETURNING`. */
export function runColumns(alias?: string): string {
  return RUN_COLUMN_NAMES.map((c) => (alias ? `${alias}."${c}"` : `"${c}"`)).join(", ");
}

/** The RunRow columns, for `SELECT`/`RETURNING` on `"FlowRun"`. */
export const RUN_COLUMNS = runColumns();

export function stateOfRow(row: StateColumns): State {
  return {
    type: row.stateType,
    name: row.stateName,
    timestamp: row.stateTimestamp.toISOString(),
    message: row.stateMessage,
    transitionId: row.stateTransitionId,
    details: {},
  };
}

/**
 * A SQL list literal of state types, e.g. `('PENDING', 'RUNNING')`. Inlined rather than bound so
 * the statements that use it stay one prepared shape and the planner sees the constants (the
 * partial indexes on active runs match only literal lists); the values are core's enum constants.
 */
export function sqlStateList(types: readonly StateType[]): string {
  return `(${types.map((t) => `'${t}'`).join(", ")})`;
}

/** Finished runs. */
export const TERMINAL_STATES_SQL = sqlStateList(TERMINAL_STATE_TYPES);
/** Runs that hold a concurrency slot. */
export const ACTIVE_STATES_SQL = sqlStateList(ACTIVE_STATE_TYPES);
