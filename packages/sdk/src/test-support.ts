// Shared setup for the SDK's own tests: a fresh MemoryTracker per test and a throwaway results
// directory, so tests never touch ~/.flowplane or each other's cache.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { configure, resetConfig } from "./config.ts";
import { MemoryTracker, type MemoryTrackerOptions } from "./tracking/memory-tracker.ts";
import { setTracker } from "./tracking/select.ts";

export interface TestEnv {
  tracker: MemoryTracker;
  resultsDir: string;
  /** Replaces the tracker (e.g. to script orchestration answers). */
  useTracker(options: MemoryTrackerOptions): MemoryTracker;
}

export function useTestEnv(): TestEnv {
  const env = {} as TestEnv;
  beforeEach(async () => {
    env.resultsDir = await mkdtemp(join(tmpdir(), "flowplane-sdk-test-"));
    configure({ resultsDir: env.resultsDir, quiet: true });
    env.tracker = new MemoryTracker();
    setTracker(env.tracker);
    env.useTracker = (options) => {
      env.tracker = new MemoryTracker(options);
      setTracker(env.tracker);
      return env.tracker;
    };
  });
  afterEach(async () => {
    setTracker(undefined);
    resetConfig();
    await rm(env.resultsDir, { recursive: true, force: true });
  });
  return env;
}

/**
 * The state names of a run that failed and was retried `retries` times before ending in `final`:
 * Pending, Running, then AwaitingRetry and Retrying once per retry.
 */
export function namesAfterRetries(retries: number, final: "Completed" | "Failed"): string[] {
  return ["Pending", "Running", ...Array.from({ length: retries }, () => ["AwaitingRetry", "Retrying"]).flat(), final];
}

/**
 * A run body that throws `${message} ${n}` on its first `failures` calls and then returns what
 * `result` gives (called inside the run, so it can read the run context).
 */
export function failsFirst<T>(failures: number, message: string, result: () => T): () => Promise<T> {
  let calls = 0;
  return async () => {
    calls++;
    if (calls <= failures) throw new Error(`${message} ${calls}`);
    return result();
  };
}

/** A function that always throws `message`: an option (key, name) whose evaluation fails. */
export function throwing(message: string): () => never {
  return () => {
    throw new Error(message);
  };
}

/** A run body that records whether it ran, for runs that must fail before their body starts. */
export function recordingBody(): { ran: boolean; body: () => Promise<void> } {
  const recording = {
    ran: false,
    body: async () => {
      recording.ran = true;
    },
  };
  return recording;
}

/** Rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject");
}

/** The SDK's entry, for scripts run in a child process. */
export const sdkEntry = fileURLToPath(new URL("./index.ts", import.meta.url));

/**
 * Runs an ES module `script` in a fresh Node process (plain JavaScript; it imports the TypeScript sources through tsx) — for behaviour that
 * depends on process-wide state, such as the console patch or the task-key registry. Returns what
 * the script wrote to stderr; fails if it exits non-zero.
 */
export function runScript(script: string, env: Record<string, string> = {}): string {
  const require = createRequire(import.meta.url);
  const child = spawnSync(
    process.execPath,
    ["--import", require.resolve("tsx/esm"), "--input-type=module", "-e", script],
    { encoding: "utf8", timeout: 60_000, env: { ...process.env, FLOWPLANE_QUIET: "1", ...env } },
  );
  if (child.status !== 0) throw new Error(`script exited ${child.status}: ${child.stderr}`);
  return child.stderr;
}
