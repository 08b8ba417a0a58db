import { defineConfig } from "vitest/config";

// One runner for the whole repository. Unit tests sit beside the code they test; cross-process
// scenarios live in e2e/. Tests that need PostgreSQL get a fresh database cloned from a migrated
// template (see packages/db/src/testing.ts), so files run in parallel without sharing rows.
export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "e2e/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/bench/**"],
    globalSetup: ["packages/db/src/testing-global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    typecheck: { enabled: true, include: ["packages/*/src/**/*.test-d.ts"] },
  },
});
