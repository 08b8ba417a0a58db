// Process-wide SDK settings: `configure()` wins over the environment, which wins over defaults.
// Values are resolved on use rather than at import so a test (or a runner) can change them late.
import { join } from "node:path";
import { envLogLevel, envQuiet, envResultsDir, flowplaneHome, LOG_LEVELS, type LogLevelName } from "./env.ts";

export interface SdkConfig {
  /** Where persisted task results (and the result cache) live. */
  resultsDir?: string;
  /** Minimum level sent to the tracker; DEBUG lines are dropped by default. */
  logLevel?: LogLevelName | number;
  /** Silences the local tracker's console output (run summary and mirrored logs). */
  quiet?: boolean;
}

let overrides: SdkConfig = {};
let cachedLogLevel: number | undefined;

/** Sets SDK-wide options; fields left `undefined` fall back to the environment. */
export function configure(config: SdkConfig): void {
  overrides = { ...overrides, ...config };
  cachedLogLevel = undefined;
}

/** Restores environment/default behaviour; for tests. */
export function resetConfig(): void {
  overrides = {};
  cachedLogLevel = undefined;
}

export function resultsDir(): string {
  return overrides.resultsDir ?? envResultsDir() ?? join(flowplaneHome(), "results");
}

export function isQuiet(): boolean {
  return overrides.quiet ?? envQuiet();
}

// Cached because it is consulted on every log call.
export function logLevel(): number {
  if (cachedLogLevel === undefined) {
    const o = overrides.logLevel;
    cachedLogLevel = o === undefined ? envLogLevel() : typeof o === "number" ? o : LOG_LEVELS[o];
  }
  return cachedLogLevel;
}
