// A flow run's token is short-lived and renewed by the run while its attempt holds the claim
// (issue 13.4): a run that lasts several token lifetimes completes in one attempt. Real server,
// real worker and runner processes; the lifetime is shortened by configuration.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal, type StateType } from "@flowplane/core";
import { exited, outputOf, repoRoot, spawnCli, startTestServer, waitForRun, type TestServer } from "./harness.ts";

let server: TestServer;
const pool = "e2e-run-tokens";

beforeAll(async () => {
  server = await startTestServer({ runTokenTtlSeconds: 3, runHeartbeatTimeoutSeconds: 6, livenessIntervalMs: 300 });
  await server.api.workPools.create.mutate({ name: pool, type: "process" });
  await server.api.deployments.upsert.mutate({
    flowName: "sleepy",
    name: "long",
    entrypoint: "e2e/fixtures/flows.ts:sleepy",
    workPoolName: pool,
    path: repoRoot,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe("run tokens with real processes", () => {
  it("a run lasting several token lifetimes renews its token and completes in one attempt", async () => {
    const worker = spawnCli(["worker", "start", "--pool", pool, "--name", "renewing"], {
      ...server.env,
      FLOWPLANE_WORKER_HEARTBEAT_SECONDS: "1",
    });
    try {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/long", parameters: { seconds: 9 } });
      const final = await waitForRun(server, run.id, "finished", (r) => isTerminal(r.state.type as StateType), 60_000);
      expect(final.state.type, outputOf(worker)).toBe("COMPLETED");
      expect(final.runCount).toBe(1);
      const history = (await server.api.flowRuns.history.query({ id: run.id })).map((s) => s.type);
      expect(history).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
      const logs = (await server.api.logs.list.query({ flowRunId: run.id })).map((l) => l.message);
      expect(logs.some((l) => /sleeping 9 s/.test(l))).toBe(true);
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  }, 90_000);
});
