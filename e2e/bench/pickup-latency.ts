// Pickup latency on an idle system: run created → claimed by a long-polling worker, and
// → infrastructure started by a real worker process (process pool).
//   npx tsx e2e/bench/pickup-latency.ts [runs=200]
import { createApiClient } from "@flowplane/client";
import {
  benchmarkServerConfig,
  createHelloPool,
  exited,
  outputOf,
  spawnCli,
  startTestServer,
  waitFor,
} from "../harness.ts";

const RUNS = Number(process.argv[2] ?? 200);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

const server = await startTestServer(benchmarkServerConfig);
try {
  await createHelloPool(server, "bench", "hello/bench");

  // 1. Created → claimed, with an in-process worker long-polling over HTTP.
  const workerApi = createApiClient(server.connection);
  const { workerId } = await workerApi.workers.heartbeat.mutate({ workPoolName: "bench", workerName: "bench-poller" });
  const clientSide: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const polling = workerApi.workers.poll.mutate({ workerId, limit: 1, waitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 5)); // the worker is waiting before the run exists
    const t0 = performance.now();
    const run = await server.api.deployments.run.mutate({ name: "hello/bench" });
    const { runs } = await polling;
    if (runs[0]?.id !== run.id) throw new Error("claimed the wrong run");
    clientSide.push(performance.now() - t0);
  }
  const { rows } = await server.db.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM (s.timestamp - fr."createdAt")) * 1000 AS ms
       FROM "FlowRun" fr JOIN "State" s ON s."flowRunId" = fr.id AND s.type = 'PENDING'
       JOIN "Deployment" d ON d.id = fr."deploymentId" WHERE d.name = 'bench'`,
  );
  const serverSide = rows.map((r) => Number(r.ms));
  await server.db.pool.query(
    `UPDATE "FlowRun" SET "stateType" = 'COMPLETED', "stateName" = 'Completed' WHERE "stateType" = 'PENDING'`,
  );

  // 2. Created → infrastructure started, with a real worker process launching real child processes.
  const worker = spawnCli(["worker", "start", "--pool", "bench", "--limit", "4"], server.env);
  await waitFor("worker to poll", async () => outputOf(worker).includes("polling pool"), 30_000);
  const created = new Map<string, number>();
  const STARTS = Math.min(RUNS, 50);
  for (let i = 0; i < STARTS; i++) {
    const before = Date.now();
    const run = await server.api.deployments.run.mutate({ name: "hello/bench" });
    created.set(run.id, before);
    // An idle system: the next run is created only after this one has finished.
    await waitFor(
      "the run to finish",
      async () =>
        ["COMPLETED", "FAILED", "CRASHED"].includes((await server.api.flowRuns.get.query({ id: run.id })).state.type),
      30_000,
      20,
    );
  }
  await waitFor(
    "every run to start",
    async () => (outputOf(worker).match(/started flow run/g)?.length ?? 0) >= STARTS,
    60_000,
  );
  const started: number[] = [];
  for (const line of outputOf(worker).split("\n")) {
    const m = /"time":"([^"]+)","msg":"started flow run .*\(([0-9a-f-]{36})\)"/.exec(line);
    if (m && created.has(m[2]!)) started.push(Date.parse(m[1]!) - created.get(m[2]!)!);
  }
  worker.kill("SIGTERM");
  await exited(worker);

  const result = {
    runs: RUNS,
    createdToClaimedClientMs: { p50: pct(clientSide, 50), p99: pct(clientSide, 99) },
    createdToClaimedServerMs: { p50: pct(serverSide, 50), p99: pct(serverSide, 99) },
    createdToInfrastructureStartedMs: { runs: started.length, p50: pct(started, 50), p99: pct(started, 99) },
  };
  console.log(`created → claimed (client clock, includes the create call): ${fmt(clientSide)}`);
  console.log(`created → claimed (server timestamps):                      ${fmt(serverSide)}`);
  console.log(`created → process started (real worker, ${started.length} runs):       ${fmt(started)}`);
  console.log(JSON.stringify(result));
} finally {
  await server.close();
}
