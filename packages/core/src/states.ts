// Run states shared by the server, workers, the SDK and the dashboard.

export const STATE_TYPES = [
  "SCHEDULED",
  "PENDING",
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "CRASHED",
  "PAUSED",
  "CANCELLING",
] as const;
export type StateType = (typeof STATE_TYPES)[number];

export const TERMINAL_STATE_TYPES: readonly StateType[] = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"];
/** States in which a run holds a concurrency slot. */
export const ACTIVE_STATE_TYPES: readonly StateType[] = ["PENDING", "RUNNING", "CANCELLING"];

export function isTerminal(type: StateType): boolean {
  return TERMINAL_STATE_TYPES.includes(type);
}

/** Well-known sub-state names; any other name is allowed and kept as given. */
export const StateNames = {
  Scheduled: "Scheduled",
  Late: "Late",
  AwaitingRetry: "AwaitingRetry",
  AwaitingConcurrencySlot: "AwaitingConcurrencySlot",
  Pending: "Pending",
  Running: "Running",
  Retrying: "Retrying",
  Completed: "Completed",
  Cached: "Cached",
  Failed: "Failed",
  TimedOut: "TimedOut",
  Crashed: "Crashed",
  Cancelling: "Cancelling",
  Cancelled: "Cancelled",
  Paused: "Paused",
} as const;

/** Default display name of each state type. */
export const DEFAULT_STATE_NAMES: Record<StateType, string> = {
  SCHEDULED: "Scheduled",
  PENDING: "Pending",
  RUNNING: "Running",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
  CRASHED: "Crashed",
  PAUSED: "Paused",
  CANCELLING: "Cancelling",
};

export interface StateDetails {
  /** When a SCHEDULED/PAUSED run may (re)start. */
  scheduledTime?: string;
  cacheKey?: string;
  cacheExpiration?: string;
  /** Set when a client explicitly asks to re-run a terminal run. */
  retryRequested?: boolean;
  /**
   * Set on a FAILED/CRASHED proposal when retrying cannot help (e.g. a user's retry condition said
   * no, or the failure is a configuration error), so the server keeps the failure despite retries left.
   */
  noRetry?: boolean;
  /** Pause timeout for PAUSED states. */
  pauseTimeout?: string;
  /** Free-form result reference (e.g. a persisted result's storage key). */
  resultRef?: string;
}

/** A state as proposed by a client or stored in history. Times are ISO-8601 strings. */
export interface StateInput {
  type: StateType;
  name?: string;
  message?: string;
  timestamp?: string;
  transitionId?: string;
  details?: StateDetails;
}

/** A stored state. */
export interface State {
  type: StateType;
  name: string;
  timestamp: string;
  message?: string | null;
  transitionId?: string | null;
  details: StateDetails;
}
