// vitest globalSetup: one scratch directory per test run, shared by the test files (they run in
// parallel processes) for what is made once per run — the release tarballs and the image built from
// them (e2e/support/release.ts). Removed when the run ends.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    testRunDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "flowplane-test-run-"));
  project.provide("testRunDir", dir);
  return () => rm(dir, { recursive: true, force: true });
}
