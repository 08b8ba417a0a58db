// Flowplane's side: W workers over HTTP claiming due runs and reporting them RUNNING then
// COMPLETED (per run or batched), on one server or on replicas sharing its database; and pickup
// latency from a deployments.run call to a long-polling worker's claim.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createApiClient, type ApiClient } from "@flowplane/client";
import { startServer, type RunningServer } from "@flowplane/server";
import {
  createHelloPool,
  exited,
  outputOf,
  seedDueRuns,
  spawnCli,
  startTestServer,
  waitFor,
  type TestServer,
  benchmarkServerConfig,
  benchmarkServerEnv,
} from "../../harness.ts";
import {
  IDLE_GAP_MS,
  latencyRow,
  pickupSeries,
  replicaPids,
  sleep,
  startMeasuring,
  type LatencyResult,
  type ThroughputResult,
} from "./harness.ts";

/** How a bench worker reports its claimed runs' states: a setState call per run, or one setStates call for them all. */
export type Reporting = "per-run" | "batched";

export interface TrialOptions {
  workers: number;
  /** Runs a worker claims per poll and works at once. */
  limit: number;
  runs: number;
  boxSeconds: number;
  reporting: Reporting;
}

let trials = 0;

/**
 * W workers over HTTP against `urls` (round-robin), each polling with `limit` and driving every
 * claimed run RUNNING → COMPLETED concurrently. Resolves when all `runs` are COMPLETED.
 */
async function flowplaneThroughput(
  server: TestServer,
  urls: string[],
  { workers, limit, runs, boxSeconds, reporting }: TrialOptions,
  label: string,
): Promise<ThroughputResult> {
  const poolName = `bench-${++trials}-${workers}w-${urls.length}r`;
  await seedDueRuns(server, poolName, runs);
  const { key } = await server.api.apiKeys.create.mutate({ name: `bench-worker-${poolName}`, scope: "WORKER" });
  const clients = await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      // Per-run reporting makes up to L calls at once: they share HTTP requests (the client's batching).
      const api = createApiClient(
        { apiUrl: urls[i % urls.length]!, apiKey: key, workspace: "default" },
        { batching: reporting === "per-run" },
      );
      const { workerId } = await api.workers.heartbeat.mutate({ workPoolName: poolName, workerName: `w${i}` });
      return { api, workerId };
    }),
  );
  let completed = 0;
  const stop = new AbortController();
  const deadline = Date.now() + boxSeconds * 1000;
  const accepted = (what: string, answer: { decision: string; reason?: string } | { error: { message: string } }) => {
    if ("error" in answer) throw new Error(`${what}: ${answer.error.message}`);
    if (answer.decision !== "ACCEPT") throw new Error(`${what}: ${answer.decision} ${answer.reason ?? ""}`);
  };
  // Every write for a claimed run carries its claim token (fencing), as a real worker's do.
  const drive = async (api: ApiClient, claimed: { id: string; claimToken: string }[]) => {
    if (claimed.length === 0) return;
    if (reporting === "batched") {
      for (const type of ["RUNNING", "COMPLETED"] as const) {
        const answers = await api.flowRuns.setStates.mutate({
          proposals: claimed.map(({ id, claimToken }) => ({ id, claimToken, state: { type } })),
        });
        answers.forEach((a, i) => accepted(`${type} for ${claimed[i]!.id}`, a));
      }
      completed += claimed.length;
    } else {
      await Promise.all(
        claimed.map(async ({ id, claimToken }) => {
          for (const type of ["RUNNING", "COMPLETED"] as const)
            accepted(`${type} for ${id}`, await api.flowRuns.setState.mutate({ id, claimToken, state: { type } }));
          completed++;
        }),
      );
    }
    if (completed >= runs) stop.abort();
  };
  const measure = await startMeasuring(server.db.url);
  const started = performance.now();
  await Promise.all(
    clients.map(async ({ api, workerId }) => {
      while (!stop.signal.aborted && Date.now() < deadline) {
        let claimed;
        try {
          claimed = await api.workers.poll.mutate({ workerId, limit, waitMs: 1_000 }, { signal: stop.signal });
        } catch (err) {
          if (stop.signal.aborted) return;
          throw err;
        }
        await drive(api, claimed.runs);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await server.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "FlowRun" fr JOIN "WorkPool" p ON p.id = fr."workPoolId" WHERE p.name = $1 AND fr."stateType" = 'COMPLETED'`,
    [poolName],
  );
  if (rows[0]!.n !== completed)
    throw new Error(`${label}: ${completed} completions answered but ${rows[0]!.n} runs COMPLETED in the database`);
  return await measure.row({
    system: "flowplane",
    config: label,
    concurrency: `${workers} workers × ${limit}${urls.length > 1 ? `, ${urls.length} replicas` : ""}`,
    runs,
    completed,
    seconds,
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A second server on `server`'s database (with its master key, which replicas must share), in this
 * process (startServer) or as a `flowplane server start` child process.
 */
async function startReplica(
  server: TestServer,
  home: string,
  where: "in-process" | "child-process",
): Promise<{ url: string; close(): Promise<void> }> {
  const databaseUrl = server.db.url;
  if (where === "in-process") {
    const replica: RunningServer = await startServer(
      {
        databaseUrl,
        port: 0,
        host: "127.0.0.1",
        home,
        logLevel: "silent",
        masterKey: server.masterKey,
        ...benchmarkServerConfig,
      },
      { writeProfile: false },
    );
    return { url: replica.url, close: () => replica.close() };
  }
  const port = await freePort();
  const child = spawnCli(["server", "start", "--port", String(port)], {
    DATABASE_URL: databaseUrl,
    FLOWPLANE_HOME: home,
    FLOWPLANE_MASTER_KEY: server.masterKey!,
    FLOWPLANE_LOG_LEVEL: "warn",
    FLOWPLANE_API_URL: "",
    FLOWPLANE_API_KEY: "",
    ...benchmarkServerEnv,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "the replica to answer /health",
    async () => (await fetch(`${url}/health`).catch(() => null))?.ok,
    60_000,
    100,
  ).catch((err: Error) => {
    child.kill("SIGKILL");
    throw new Error(`${err.message}\n${outputOf(child)}`);
  });
  replicaPids.push(child.pid!);
  return {
    url,
    close: async () => {
      replicaPids.splice(replicaPids.indexOf(child.pid!), 1);
      child.kill("SIGTERM");
      await exited(child);
    },
  };
}

/**
 * A fresh Flowplane database and server per trial, plus `replicas - 1` more servers on the same
 * database: in this process (startServer), or as `flowplane server start` child processes, which
 * get their own JavaScript thread.
 */
export async function flowplaneTrial(
  options: TrialOptions,
  replicas: number,
  label: string,
  where: "in-process" | "child-process" = "in-process",
): Promise<ThroughputResult> {
  const server = await startTestServer(benchmarkServerConfig);
  const extra: { url: string; close(): Promise<void> }[] = [];
  const homes: string[] = [];
  try {
    for (let i = 1; i < replicas; i++) {
      const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-replica-"));
      homes.push(home);
      extra.push(await startReplica(server, home, where));
    }
    const urls = [server.url, ...extra.map((s) => s.url)];
    // Warm-up (untimed): JIT, connection pools, plans.
    await flowplaneThroughput(server, urls, { ...options, runs: 200 }, "warm-up");
    return await flowplaneThroughput(server, urls, options, label);
  } finally {
    for (const s of extra) await s.close();
    await server.close();
    for (const h of homes) await rm(h, { recursive: true, force: true });
  }
}

/** As e2e/bench/pickup-latency.ts: a worker long-polls, then a run is created through the API. */
export async function flowplaneLatency(jobs: number): Promise<LatencyResult[]> {
  const server = await startTestServer(benchmarkServerConfig);
  try {
    await createHelloPool(server, "latency", "latency/bench");
    const workerApi = createApiClient(server.connection);
    const { workerId } = await workerApi.workers.heartbeat.mutate({
      workPoolName: "latency",
      workerName: "latency-poller",
    });
    const clientSide = await pickupSeries(jobs, 20, async () => {
      // The moment the worker holds the run (the poll may answer before the create call returns).
      let claimedAt = 0;
      const polling = workerApi.workers.poll
        .mutate({ workerId, limit: 1, waitMs: 10_000 })
        .then((r) => ((claimedAt = performance.now()), r));
      await sleep(IDLE_GAP_MS); // idle: the worker waits before the run exists
      const t0 = performance.now();
      const run = await server.api.deployments.run.mutate({ name: "latency/bench" });
      const { runs } = await polling;
      if (runs[0]?.id !== run.id) throw new Error("claimed the wrong run");
      await server.db.pool.query(
        `UPDATE "FlowRun" SET "stateType" = 'COMPLETED', "stateName" = 'Completed' WHERE id = $1`,
        [run.id],
      );
      return claimedAt - t0;
    });
    const { rows } = await server.db.pool.query<{ ms: number }>(
      `SELECT extract(epoch FROM (s.timestamp - fr."createdAt")) * 1000 AS ms
         FROM "FlowRun" fr JOIN "State" s ON s."flowRunId" = fr.id AND s.type = 'PENDING'
         JOIN "Deployment" d ON d.id = fr."deploymentId" WHERE d.name = 'bench' AND fr."flowId" = d."flowId"
        ORDER BY fr."createdAt" OFFSET 20`,
    );
    return [
      latencyRow(
        "flowplane",
        "long-poll over HTTP (LISTEN/NOTIFY in the server)",
        clientSide,
        "client clock: deployments.run call starts → worker's poll answers",
      ),
      latencyRow(
        "flowplane",
        "same runs, database timestamps",
        rows.map((r) => Number(r.ms)),
        "FlowRun.createdAt → PENDING state timestamp",
      ),
    ];
  } finally {
    await server.close();
  }
}
