import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

// One runner for the whole repository. Unit tests sit beside the code they test; cross-process
// scenarios live in e2e/. Tests that need PostgreSQL get a fresh database cloned from a migrated
// template (see packages/db/src/testing.ts), so files run in parallel without sharing rows.
// Our packages' `exports` name their built files and, under the `@flowplane/source` condition, their
// sources (infra/build/tsdown-preset.ts). Tests always run the sources: vite resolves with the
// condition, and NODE_OPTIONS passes it to every child process (CLI, workers, runners, scripts), so no
// test can pick up a stale dist/ of a sibling package. The user-project e2e removes it again.
const SOURCE_CONDITION = "@flowplane/source";

export default defineConfig({
  ssr: { resolve: { conditions: [SOURCE_CONDITION, "node", "development|production"] } },
  test: {
    include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "e2e/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/bench/**"],
    globalSetup: ["packages/db/src/testing-global-setup.ts", "e2e/support/test-run-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", "./e2e/support/summary-reporter.ts"],
    // Tests never read or write the developer's own profile, results or embedded database.
    env: {
      FLOWPLANE_HOME: path.join(os.tmpdir(), `flowplane-test-home-${process.pid}`),
      FLOWPLANE_API_URL: "",
      FLOWPLANE_API_KEY: "",
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--conditions=${SOURCE_CONDITION}`].filter(Boolean).join(" "),
    },
    typecheck: { enabled: true, include: ["packages/*/src/**/*.test-d.ts"], tsconfig: "tsconfig.json" },
  },
});
