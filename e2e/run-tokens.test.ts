// A flow run's token is short-lived and renewed by the run while its attempt holds the claim
// (issue 13.4): a run that lasts several token lifetimes keeps writing with one attempt, and a
// token nobody renews stops working. Real server over HTTP, the client's renewal as runner-main
// uses it; the lifetimes are shortened by configuration (e2e/worker.test.ts runs real runners on
// their tokens).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiErrorInfo, createApiClient, keepRunTokenFresh, type Connection } from "@flowplane/client";
import { startTestServer, type TestServer } from "./harness.ts";

let server: TestServer;
const pool = "e2e-run-tokens";

beforeAll(async () => {
  // Tokens live 2 s, and so does the first one (claim timeout 2 s, no prefetch).
  server = await startTestServer({
    runTokenTtlSeconds: 2,
    claimTimeoutSeconds: 2,
    prefetchSeconds: 0,
    runHeartbeatTimeoutSeconds: 30,
  });
  await server.api.workPools.create.mutate({ name: pool, type: "process" });
  await server.api.deployments.upsert.mutate({ flowName: "long", name: "d", entrypoint: "x.ts:f", workPoolName: pool });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** Claims a new run of the deployment as a worker would; answers the run's connection (its token). */
async function claimedRunConnection(): Promise<{ id: string; conn: Connection }> {
  const run = await server.api.deployments.run.mutate({ name: "long/d" });
  const { workerId } = await server.api.workers.heartbeat.mutate({ workPoolName: pool, workerName: "w" });
  const polled = await server.api.workers.poll.mutate({ workerId, limit: 10, waitMs: 0 });
  const claimed = polled.runs.find((r) => r.id === run.id)!;
  return { id: run.id, conn: { apiUrl: server.url, apiKey: claimed.runToken, workspace: null, runToken: true } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("run tokens over HTTP", () => {
  it("a run lasting several token lifetimes renews its token and keeps writing as one attempt", async () => {
    const { id, conn } = await claimedRunConnection();
    const api = createApiClient(conn);
    const refusals: string[] = [];
    const renewal = keepRunTokenFresh(api, conn, { onRefused: (e) => refusals.push(e.message), minDelayMs: 200 });
    try {
      const first = conn.apiKey;
      expect((await api.flowRuns.setState.mutate({ id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
      for (let i = 0; i < 6; i++) {
        await sleep(1_000);
        await api.flowRuns.heartbeat.mutate({ id });
      }
      expect(conn.apiKey).not.toBe(first);
      expect((await api.flowRuns.setState.mutate({ id, state: { type: "COMPLETED" } })).decision).toBe("ACCEPT");
      expect(refusals).toEqual([]);
      // The first token, never renewed, stopped working long ago.
      const stale = await createApiClient({ ...conn, apiKey: first })
        .flowRuns.get.query({ id })
        .catch((err: unknown) => apiErrorInfo(err));
      expect(stale).toMatchObject({ code: "UNAUTHENTICATED", message: "run token expired" });
      expect((await server.api.flowRuns.get.query({ id })).runCount).toBe(1);
    } finally {
      renewal.stop();
    }
  }, 30_000);
});
