// Shared setup for the SDK's own tests: a fresh MemoryTracker per test and a throwaway results
// directory, so tests never touch ~/.flowplane or each other's cache.
import { mkdtemp, rm } from "node:fs/promises";
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

/** Rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject");
}
