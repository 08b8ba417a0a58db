// Claims under contention, over HTTP against a real server: many workers long-polling one pool
// must never receive the same run, and concurrency limits must hold while they race.
import { createApiClient } from "@flowplane/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHelloPool, seedDueRuns as seedRuns, startTestServer, type TestServer } from "./harness.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function seedDueRuns(
  poolName: string,
  count: number,
  deploymentConcurrency: number | null = null,
): Promise<string> {
  return (await seedRuns(server, poolName, count, deploymentConcurrency)).workPoolId;
}

async function registerWorkers(poolName: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const api = createApiClient(server.connection);
      const { workerId } = await api.workers.heartbeat.mutate({ workPoolName: poolName, workerName: `racer-${i}` });
      return { api, workerId };
    }),
  );
}

/** 60 due runs in pool `name`, whose concurrency limit is `limit`. */
async function seedLimitedPool(name: string, limit: number) {
  await seedDueRuns(name, 60);
  await server.api.workPools.update.mutate({ name, concurrencyLimit: limit });
}

describe("claims", () => {
  it("8 workers racing for 2,000 due runs claim every run exactly once", async () => {
    await seedDueRuns("race", 2_000);
    const workers = await registerWorkers("race", 8);
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      workers.map(async ({ api, workerId }) => {
        for (;;) {
          const { runs } = await api.workers.poll.mutate({ workerId, limit: 10, waitMs: 0 });
          if (runs.length === 0) return;
          for (const r of runs) claimedBy.set(r.id, [...(claimedBy.get(r.id) ?? []), workerId]);
        }
      }),
    );
    expect(claimedBy.size).toBe(2_000);
    expect([...claimedBy.values()].filter((owners) => owners.length > 1)).toEqual([]);
    // Every worker got a share: the claim does not serialise the pool.
    const perWorker = new Set([...claimedBy.values()].map((o) => o[0]));
    expect(perWorker.size).toBe(8);
    // The database agrees: each run PENDING once in its history, owned by the worker that got it.
    const { rows } = await server.db.pool.query<{ pendings: number; n: number }>(
      `SELECT count(*)::int AS n, min(p)::int AS pendings FROM (
         SELECT fr.id, (SELECT count(*) FROM "State" s WHERE s."flowRunId" = fr.id AND s.type = 'PENDING') AS p
           FROM "FlowRun" fr JOIN "WorkPool" wp ON wp.id = fr."workPoolId" WHERE wp.name = 'race' AND fr."stateType" = 'PENDING') x
       WHERE p = 1`,
    );
    expect(rows[0]).toEqual({ n: 2_000, pendings: 1 });
  }, 120_000);

  it.each([
    ["a pool's", "limited", 5, () => seedLimitedPool("limited", 5)],
    ["a deployment's", "dep-limited", 3, () => seedDueRuns("dep-limited", 40, 3)],
  ] as const)(
    "never exceeds %s concurrency limit while workers race",
    async (_limited, pool, limit, setUp) => {
      await setUp();
      const workers = await registerWorkers(pool, 8);
      const claimed = (
        await Promise.all(
          workers.map(({ api, workerId }) => api.workers.poll.mutate({ workerId, limit: 10, waitMs: 0 })),
        )
      ).flatMap((r) => r.runs);
      expect(claimed).toHaveLength(limit);
    },
    60_000,
  );

  it("serves higher-priority queues first and claims nothing from a paused pool or queue", async () => {
    await server.api.workPools.create.mutate({ name: "prio", type: "process" });
    await server.api.workQueues.create.mutate({ workPoolName: "prio", name: "urgent", priority: 1 });
    await server.api.workQueues.update.mutate({ workPoolName: "prio", name: "default", priority: 5 });
    await server.api.deployments.upsert.mutate({
      flowName: "flow-prio",
      name: "bulk",
      entrypoint: "examples/hello.ts:hello",
      workPoolName: "prio",
    });
    await server.api.deployments.upsert.mutate({
      flowName: "flow-prio",
      name: "hot",
      entrypoint: "examples/hello.ts:hello",
      workPoolName: "prio",
      workQueueName: "urgent",
    });
    // The bulk runs are older, but the urgent queue goes first.
    const bulk = [];
    for (let i = 0; i < 3; i++) bulk.push(await server.api.deployments.run.mutate({ name: "flow-prio/bulk" }));
    const hot = await server.api.deployments.run.mutate({ name: "flow-prio/hot" });
    const [worker] = await registerWorkers("prio", 1);

    await server.api.workPools.update.mutate({ name: "prio", paused: true });
    expect((await worker!.api.workers.poll.mutate({ workerId: worker!.workerId, limit: 10, waitMs: 0 })).runs).toEqual(
      [],
    );
    await server.api.workPools.update.mutate({ name: "prio", paused: false });

    await server.api.workQueues.update.mutate({ workPoolName: "prio", name: "default", paused: true });
    const first = await worker!.api.workers.poll.mutate({ workerId: worker!.workerId, limit: 10, waitMs: 0 });
    expect(first.runs.map((r) => r.id)).toEqual([hot.id]);
    await server.api.workQueues.update.mutate({ workPoolName: "prio", name: "default", paused: false });
    const rest = await worker!.api.workers.poll.mutate({ workerId: worker!.workerId, limit: 10, waitMs: 0 });
    expect(rest.runs.map((r) => r.id)).toEqual(bulk.map((b) => b.id));
  }, 60_000);

  it("wakes a long-polling worker the moment a run is created", async () => {
    await createHelloPool(server, "wake", "flow-wake/d");
    const [worker] = await registerWorkers("wake", 1);
    const polling = worker!.api.workers.poll.mutate({ workerId: worker!.workerId, limit: 1, waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const created = Date.now();
    const run = await server.api.deployments.run.mutate({ name: "flow-wake/d" });
    const { runs } = await polling;
    expect(runs.map((r) => r.id)).toEqual([run.id]);
    // Pickup is event-driven: far below any poll interval.
    expect(Date.now() - created).toBeLessThan(2_000);
  }, 60_000);

  it("returns a claim to the queue when the worker hung up before receiving it", async () => {
    await createHelloPool(server, "hangup", "flow-hangup/d");
    const [worker] = await registerWorkers("hangup", 1);
    const abort = new AbortController();
    const polling = worker!.api.workers.poll
      .mutate({ workerId: worker!.workerId, limit: 1, waitMs: 20_000 }, { signal: abort.signal })
      .catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await polling;
    await new Promise((r) => setTimeout(r, 200));
    const run = await server.api.deployments.run.mutate({ name: "flow-hangup/d" });
    await new Promise((r) => setTimeout(r, 500));
    const after = await server.api.flowRuns.get.query({ id: run.id });
    expect(after.state.type).toBe("SCHEDULED");
  }, 60_000);
});
