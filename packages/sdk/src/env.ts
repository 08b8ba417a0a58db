// The only module in the SDK that reads process.env, so every knob the SDK honours is listed here.
import { homedir } from "node:os";
import { join } from "node:path";

export type LogLevelName = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

export const LOG_LEVELS: Record<LogLevelName, number> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50,
};

export function flowplaneHome(): string {
  return process.env.FLOWPLANE_HOME || join(homedir(), ".flowplane");
}

export function envResultsDir(): string | undefined {
  return process.env.FLOWPLANE_RESULTS_DIR || undefined;
}

export function envQuiet(): boolean {
  const v = process.env.FLOWPLANE_QUIET;
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** Unknown names fall back to INFO rather than failing a run over a typo in an env var. */
export function envLogLevel(): number {
  const raw = process.env.FLOWPLANE_LOG_LEVEL?.toUpperCase();
  if (raw === undefined || raw === "") return LOG_LEVELS.INFO;
  if (raw === "WARN") return LOG_LEVELS.WARNING;
  const n = Number(raw);
  if (Number.isFinite(n)) return n;
  return raw in LOG_LEVELS ? LOG_LEVELS[raw as LogLevelName] : LOG_LEVELS.INFO;
}

/**
 * Set by a worker that streams this process's stdout/stderr into the run's logs: lines captured
 * by logPrints are then recorded once (attributed to their task) and not echoed a second time.
 */
export function envOutputStreamed(): boolean {
  return process.env.FLOWPLANE_OUTPUT_STREAMED === "1";
}

/**
 * How often a tracked flow run heartbeats (FLOWPLANE_RUN_HEARTBEAT_SECONDS, default 15). A worker
 * sets it for the runs it launches to the interval the server asked for with the claim.
 */
export function envRunHeartbeatMs(): number {
  const seconds = Number(process.env.FLOWPLANE_RUN_HEARTBEAT_SECONDS);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 15_000;
}
