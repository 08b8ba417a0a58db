// Dispatch against the runnable peers, in one process on the same PostgreSQL (each system, each
// trial, in its own fresh database on that server):
//
//   npx tsx e2e/bench/dispatch.ts            (flags or env below change the work; ~6 minutes)
//
//   --runs N          BENCH_RUNS          due runs/jobs per throughput trial (default 10000)
//   --workers W       BENCH_WORKERS       Flowplane workers in the headline comparison (default 4)
//   --limit L         BENCH_LIMIT         runs a Flowplane worker claims per poll and works at once (default 50)
//   --latency K       BENCH_LATENCY       jobs in each pickup-latency series (default 1000)
//   --polling-jobs P  BENCH_POLLING_JOBS  jobs in pg-boss's default-polling latency series (default 20; ~2 s each)
//   --scaling 1,2,4,8 BENCH_SCALING       Flowplane worker counts of the scaling curve
//   --box S           BENCH_BOX_SECONDS   a throughput trial stops after S seconds and reports what it finished
//                                         (default 60; pg-boss's default polling: 10)
//   --only a,b        BENCH_ONLY          subset of: throughput, latency, scaling
//   --systems a,b     BENCH_SYSTEMS       subset of: flowplane, graphile-worker, pg-boss
//
// 1. Throughput, due → claimed and completed, no-op infrastructure.
//    Flowplane: N due SCHEDULED runs inserted with one statement (as e2e/claims.test.ts does);
//    W in-process workers over HTTP, each: workers.poll({limit: L}) → RUNNING then COMPLETED for
//    every claimed run (the full orchestrated path: the rules, a history row and a run update per
//    state, events), reported two ways: one flowRuns.setState call per run and state (the calls
//    made in one event-loop turn share an HTTP request: the client's `batching` option), and one flowRuns.setStates call per
//    state for all the runs the worker claimed. Timed from the workers' first poll until all N
//    are COMPLETED (checked against the database).
//    graphile-worker 0.18: N jobs inserted with add_jobs; a no-op task; default configuration and
//    its documented performance tuning (worker.graphile.org/docs/performance: localQueue 500,
//    completeJobBatchDelay/failJobBatchDelay 0, prepared statements on), at concurrency W and W×L
//    (the number of runs Flowplane's W workers hold at once). Timed from run() until the jobs
//    table is empty.
//    pg-boss 12: N jobs inserted with insert(); a no-op handler; default (batchSize 1, 2 s polling)
//    and tuned (batchSize L + burstWhenBatchFull), localConcurrency W and W×L. Timed from work()
//    until no job of the queue is left uncompleted.
//    Each row also gives the CPU it cost: cores busy (this process, the machine) and CPU ms per run
//    (this process; the PostgreSQL backends of the trial's database, from /proc), which stay
//    meaningful when other processes share the machine.
// 2. Pickup latency on an idle system, one job at a time (each claimed before the next is created,
//    10 ms apart), client clock from the create call to the worker holding the job; for Flowplane
//    also the database timestamps (run createdAt → its PENDING state).
// 3. Flowplane scaling: 1, 2, 4, 8 workers on one server; then 2 server replicas on the same
//    database with the workers split between them: the second started with startServer in this
//    process (same JavaScript thread), and as a `flowplane server start` child process.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { createApiClient, type ApiClient } from "@flowplane/client";
import { databaseUrl, ensureTemplateDatabase, testAdminUrl } from "@flowplane/db/testing";
import { startServer, type RunningServer } from "@flowplane/server";
import {
  Logger as GraphileLogger,
  makeWorkerUtils,
  run as runGraphile,
  runMigrations as migrateGraphile,
  type Runner,
} from "graphile-worker";
import { PgBoss } from "pg-boss";
import {
  exited,
  outputOf,
  seedDueRuns,
  spawnCli,
  startTestServer,
  waitFor,
  type TestServer,
  benchmarkServerConfig,
  benchmarkServerEnv,
} from "../harness.ts";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string" },
    workers: { type: "string" },
    limit: { type: "string" },
    latency: { type: "string" },
    "polling-jobs": { type: "string" },
    scaling: { type: "string" },
    box: { type: "string" },
    only: { type: "string" },
    systems: { type: "string" },
  },
});
const RUNS = Number(flags.runs ?? process.env.BENCH_RUNS ?? 10_000);
const WORKERS = Number(flags.workers ?? process.env.BENCH_WORKERS ?? 4);
const LIMIT = Number(flags.limit ?? process.env.BENCH_LIMIT ?? 50);
const LATENCY_JOBS = Number(flags.latency ?? process.env.BENCH_LATENCY ?? 1_000);
const POLLING_JOBS = Number(flags["polling-jobs"] ?? process.env.BENCH_POLLING_JOBS ?? 20);
const SCALING = (flags.scaling ?? process.env.BENCH_SCALING ?? "1,2,4,8").split(",").map(Number);
const BOX_SECONDS = Number(flags.box ?? process.env.BENCH_BOX_SECONDS ?? 60);
// pg-boss's default (one job per worker per 2 s poll) is steady from the first seconds.
const POLLING_BOX_SECONDS = Math.min(BOX_SECONDS, 10);
const ONLY = new Set((flags.only ?? process.env.BENCH_ONLY ?? "throughput,latency,scaling").split(","));
const SYSTEMS = new Set((flags.systems ?? process.env.BENCH_SYSTEMS ?? "flowplane,graphile-worker,pg-boss").split(","));
const IDLE_GAP_MS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const silentGraphileLogger = new GraphileLogger(() => () => {});

// ---------------------------------------------------------------------------------------------
// Databases

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: testAdminUrl });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

const scratchDatabases: string[] = [];

/**
 * An empty database on the same PostgreSQL server. The peers' pools close lazily, so the
 * databases are dropped together at the end (dropScratchDatabases), not as each trial ends.
 */
async function freshDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  // Named like the test databases (creation time first), so dropStaleTestDatabases in a concurrent
  // test run sees a fresh database rather than dropping it.
  const name = `flowplane_test_${Date.now().toString(36)}_bench_${label}_${Math.random().toString(16).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  scratchDatabases.push(name);
  return { url: databaseUrl(testAdminUrl, name), drop: async () => {} };
}

async function dropScratchDatabases(): Promise<void> {
  // A peer's straggling idle connection is cut by the forced drop: that error is expected here.
  process.on("uncaughtException", (err: Error & { code?: string }) => {
    if (err.code !== "57P01") throw err;
  });
  await sleep(500);
  await admin(async (c) => {
    for (const name of scratchDatabases.splice(0)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** Polls `probe` (a count of unfinished work) every `everyMs` until it reads 0. */
async function untilZero(probe: () => Promise<number>, deadline: number, everyMs = 5): Promise<number> {
  for (;;) {
    const left = await probe();
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput

interface ThroughputResult {
  system: "flowplane" | "graphile-worker" | "pg-boss";
  config: string;
  concurrency: string;
  runs: number;
  completed: number;
  seconds: number;
  perSecond: number;
  timeBoxed: boolean;
  /** CPU cores busy during the trial: this process (client, servers, workers; plus replica child processes) and the whole machine. */
  nodeCpu: number;
  machineCpu: number;
  /** CPU milliseconds per run: this process, and the PostgreSQL backends of the trial's database. */
  nodeCpuMsPerRun: number;
  dbCpuMsPerRun: number;
}

/** Busy and total jiffies of the machine (all CPUs), from /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Server replicas running as child processes: their CPU counts as the bench process's. */
const replicaPids: number[] = [];

/** CPU seconds used so far by the given processes (from /proc; 100 Hz clock ticks). */
async function processCpuSeconds(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(f[11]) + Number(f[12])) / 100;
  }
  return total;
}

/** Starts measuring CPU; the returned function gives the busy cores since. */
async function cpuMeter(): Promise<() => Promise<{ nodeCpu: number; machineCpu: number }>> {
  const t0 = performance.now();
  const n0 = process.cpuUsage();
  const c0 = await processCpuSeconds(replicaPids);
  const m0 = await machineTicks();
  return async () => {
    const wallMs = performance.now() - t0;
    const n = process.cpuUsage(n0);
    const children = (await processCpuSeconds(replicaPids)) - c0;
    const m = await machineTicks();
    const cpus = os.cpus().length;
    return {
      nodeCpu: ((n.user + n.system) / 1000 + children * 1000) / wallMs,
      machineCpu: ((m.busy - m0.busy) / Math.max(1, m.total - m0.total)) * cpus,
    };
  };
}

let meter: (() => Promise<{ nodeCpu: number; machineCpu: number }>) | null = null;

/**
 * CPU seconds used so far by the PostgreSQL backends connected to `database` (from /proc), so a
 * trial's database work can be counted per run however busy the machine is. Backends that exit
 * mid-trial are lost (pools here keep theirs for 30 s idle).
 */
async function backendCpuSeconds(database: string): Promise<Map<number, number>> {
  const { rows } = await admin((c) =>
    c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]),
  );
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100); // utime + stime, in clock ticks (100 Hz)
    } catch {
      // exited
    }
  }
  return out;
}

/** Starts counting database CPU for `database`; the returned function gives CPU seconds since. */
async function dbCpuMeter(database: string): Promise<() => Promise<number>> {
  const before = await backendCpuSeconds(database);
  return async () => {
    const after = await backendCpuSeconds(database);
    let total = 0;
    for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
    return total;
  };
}

let dbMeter: (() => Promise<number>) | null = null;

async function throughputRow(
  r: Omit<ThroughputResult, "perSecond" | "timeBoxed" | "nodeCpu" | "machineCpu" | "nodeCpuMsPerRun" | "dbCpuMsPerRun">,
): Promise<ThroughputResult> {
  const cpu = meter ? await meter() : { nodeCpu: NaN, machineCpu: NaN };
  const dbSeconds = dbMeter ? await dbMeter() : NaN;
  const perRun = (cpuSeconds: number) => (cpuSeconds * 1000) / Math.max(1, r.completed);
  return {
    ...r,
    perSecond: r.completed / r.seconds,
    timeBoxed: r.completed < r.runs,
    ...cpu,
    nodeCpuMsPerRun: perRun(cpu.nodeCpu * r.seconds),
    dbCpuMsPerRun: perRun(dbSeconds),
  };
}

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

let trials = 0;

/**
 * W workers over HTTP against `urls` (round-robin), each polling with `limit` and driving every
 * claimed run RUNNING → COMPLETED concurrently. Resolves when all `runs` are COMPLETED.
 */
/** How a bench worker reports its claimed runs' states: a setState call per run, or one setStates call for them all. */
type Reporting = "per-run" | "batched";

async function flowplaneThroughput(
  server: TestServer,
  urls: string[],
  workers: number,
  limit: number,
  runs: number,
  label: string,
  reporting: Reporting,
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
  const deadline = Date.now() + BOX_SECONDS * 1000;
  const accepted = (what: string, answer: { decision: string; reason?: string } | { error: { message: string } }) => {
    if ("error" in answer) throw new Error(`${what}: ${answer.error.message}`);
    if (answer.decision !== "ACCEPT") throw new Error(`${what}: ${answer.decision} ${answer.reason ?? ""}`);
  };
  const drive = async (api: ApiClient, ids: string[]) => {
    if (ids.length === 0) return;
    if (reporting === "batched") {
      for (const type of ["RUNNING", "COMPLETED"] as const) {
        const answers = await api.flowRuns.setStates.mutate({ proposals: ids.map((id) => ({ id, state: { type } })) });
        answers.forEach((a, i) => accepted(`${type} for ${ids[i]}`, a));
      }
      completed += ids.length;
    } else {
      await Promise.all(
        ids.map(async (id) => {
          accepted(`RUNNING for ${id}`, await api.flowRuns.setState.mutate({ id, state: { type: "RUNNING" } }));
          accepted(`COMPLETED for ${id}`, await api.flowRuns.setState.mutate({ id, state: { type: "COMPLETED" } }));
          completed++;
        }),
      );
    }
    if (completed >= runs) stop.abort();
  };
  dbMeter = await dbCpuMeter(databaseOf(server.db.url));
  meter = await cpuMeter();
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
        await drive(
          api,
          claimed.runs.map((r) => r.id),
        );
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
  return await throughputRow({
    system: "flowplane",
    config: label,
    concurrency: `${workers} workers × ${limit}${urls.length > 1 ? `, ${urls.length} replicas` : ""}`,
    runs,
    completed,
    seconds,
  });
}

async function graphileThroughput(tuned: boolean, concurrency: number, runs: number): Promise<ThroughputResult> {
  const db = await freshDatabase("gw");
  try {
    await migrateGraphile({ connectionString: db.url, logger: silentGraphileLogger });
    const probe = new pg.Client({ connectionString: db.url });
    await probe.connect();
    try {
      await probe.query(
        `SELECT graphile_worker.add_jobs(ARRAY(SELECT json_populate_record(NULL::graphile_worker.job_spec, json_build_object('identifier', 'noop', 'payload', '{}'::json)) FROM generate_series(1, $1)))`,
        [runs],
      );
      await probe.query("ANALYZE graphile_worker._private_jobs");
      let handled = 0;
      const deadline = Date.now() + BOX_SECONDS * 1000;
      const worker = tuned
        ? // worker.graphile.org/docs/performance: the configuration of its published figures.
          {
            concurrentJobs: concurrency,
            maxPoolSize: concurrency + 1,
            localQueue: { size: 500 },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0,
            preparedStatements: true,
          }
        : { concurrentJobs: concurrency };
      const pgPool = new pg.Pool({ connectionString: db.url, max: tuned ? concurrency + 1 : 10 });
      pgPool.on("error", () => {});
      pgPool.on("connect", (client) => client.on("error", () => {}));
      dbMeter = await dbCpuMeter(databaseOf(db.url));
      meter = await cpuMeter();
      const started = performance.now();
      const runner: Runner = await runGraphile({
        noHandleSignals: true,
        logger: silentGraphileLogger,
        pgPool,
        taskList: { noop: async () => void handled++ },
        preset: { worker: { connectionString: db.url, ...worker } },
      });
      try {
        const count = async () =>
          Number(
            (await probe.query<{ n: string }>("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0]!.n,
          );
        while (handled < runs && Date.now() < deadline) await sleep(5);
        const left = await untilZero(count, deadline);
        const seconds = (performance.now() - started) / 1000;
        return await throughputRow({
          system: "graphile-worker",
          config: tuned ? "tuned: localQueue 500, completeJobBatchDelay 0" : "default",
          concurrency: `concurrentJobs ${concurrency}`,
          runs,
          completed: runs - left,
          seconds,
        });
      } finally {
        await runner.stop();
        await runner.promise.catch(() => {});
        await pgPool.end();
      }
    } finally {
      await probe.end();
    }
  } finally {
    await db.drop();
  }
}

async function pgBossThroughput(
  tuned: boolean,
  concurrency: number,
  batchSize: number,
  runs: number,
): Promise<ThroughputResult> {
  const db = await freshDatabase("pgboss");
  const boss = new PgBoss({ connectionString: db.url });
  boss.on("error", (err) => console.error(`pg-boss: ${err.message}`));
  try {
    await boss.start();
    const queue = "noop";
    await boss.createQueue(queue);
    for (let i = 0; i < runs; i += 1_000)
      await boss.insert(
        queue,
        Array.from({ length: Math.min(1_000, runs - i) }, () => ({ data: {} })),
      );
    const probe = new pg.Client({ connectionString: db.url });
    await probe.connect();
    try {
      await probe.query("ANALYZE pgboss.job");
      let handled = 0;
      const deadline = Date.now() + (tuned ? BOX_SECONDS : POLLING_BOX_SECONDS) * 1000;
      const options = tuned
        ? { localConcurrency: concurrency, batchSize, burstWhenBatchFull: true }
        : { localConcurrency: concurrency };
      dbMeter = await dbCpuMeter(databaseOf(db.url));
      meter = await cpuMeter();
      const started = performance.now();
      await boss.work(queue, options, async (jobs) => {
        handled += jobs.length;
      });
      const count = async () =>
        Number(
          (
            await probe.query<{ n: string }>(
              "SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'",
              [queue],
            )
          ).rows[0]!.n,
        );
      while (handled < runs && Date.now() < deadline) await sleep(5);
      const left = await untilZero(count, deadline);
      const seconds = (performance.now() - started) / 1000;
      return await throughputRow({
        system: "pg-boss",
        config: tuned ? `tuned: batchSize ${batchSize}, burstWhenBatchFull` : "default (batchSize 1, 2 s polling)",
        concurrency: `localConcurrency ${concurrency}`,
        runs,
        completed: runs - left,
        seconds,
      });
    } finally {
      await probe.end();
    }
  } finally {
    await boss.stop({ graceful: false }).catch(() => {});
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// Pickup latency

interface LatencyResult {
  system: string;
  config: string;
  jobs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  note?: string;
}

function latencyRow(system: string, config: string, xs: number[], note?: string): LatencyResult {
  return {
    system,
    config,
    jobs: xs.length,
    p50Ms: pct(xs, 50),
    p99Ms: pct(xs, 99),
    maxMs: Math.max(...xs),
    ...(note ? { note } : {}),
  };
}

/** As e2e/bench/pickup-latency.ts: a worker long-polls, then a run is created through the API. */
async function flowplaneLatency(server: TestServer, jobs: number): Promise<LatencyResult[]> {
  await server.api.workPools.create.mutate({ name: "latency", type: "process" });
  await server.api.deployments.upsert.mutate({
    flowName: "latency",
    name: "bench",
    entrypoint: "examples/hello.ts:hello",
    workPoolName: "latency",
    path: process.cwd(),
  });
  const workerApi = createApiClient(server.connection);
  const { workerId } = await workerApi.workers.heartbeat.mutate({
    workPoolName: "latency",
    workerName: "latency-poller",
  });
  const clientSide: number[] = [];
  for (let i = 0; i < jobs + 20; i++) {
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
    if (i >= 20) clientSide.push(claimedAt - t0); // the first 20 warm up
    await server.db.pool.query(
      `UPDATE "FlowRun" SET "stateType" = 'COMPLETED', "stateName" = 'Completed' WHERE id = $1`,
      [run.id],
    );
  }
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
}

async function graphileLatency(tuned: boolean, jobs: number): Promise<LatencyResult> {
  const db = await freshDatabase("gwlat");
  try {
    await migrateGraphile({ connectionString: db.url, logger: silentGraphileLogger });
    let onJob: (() => void) | null = null;
    const worker = tuned
      ? {
          concurrentJobs: WORKERS,
          maxPoolSize: WORKERS + 1,
          localQueue: { size: 500 },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        }
      : {};
    const pgPool = new pg.Pool({ connectionString: db.url, max: tuned ? WORKERS + 1 : 10 });
    pgPool.on("error", () => {});
    pgPool.on("connect", (client) => client.on("error", () => {}));
    const runner = await runGraphile({
      noHandleSignals: true,
      logger: silentGraphileLogger,
      pgPool,
      taskList: { noop: async () => onJob?.() },
      preset: { worker: { connectionString: db.url, ...worker } },
    });
    const utils = await makeWorkerUtils({ connectionString: db.url, logger: silentGraphileLogger });
    try {
      const xs: number[] = [];
      for (let i = 0; i < jobs + 20; i++) {
        await sleep(IDLE_GAP_MS);
        const got = new Promise<number>((resolve) => (onJob = () => resolve(performance.now())));
        const t0 = performance.now();
        await utils.addJob("noop", {});
        const t1 = await got;
        if (i >= 20) xs.push(t1 - t0);
      }
      return latencyRow(
        "graphile-worker",
        tuned ? "tuned (localQueue 500, batched completion)" : "default (LISTEN/NOTIFY)",
        xs,
        "client clock: addJob call → task starts",
      );
    } finally {
      await utils.release();
      await runner.stop();
      await runner.promise.catch(() => {});
      await pgPool.end();
    }
  } finally {
    await db.drop();
  }
}

async function pgBossLatency(listen: boolean, jobs: number): Promise<LatencyResult> {
  const db = await freshDatabase("pgbosslat");
  const boss = new PgBoss({ connectionString: db.url, useListenNotify: listen });
  boss.on("error", (err) => console.error(`pg-boss: ${err.message}`));
  try {
    await boss.start();
    const queue = "latency";
    await boss.createQueue(queue, listen ? { notify: true } : {});
    let onJob: (() => void) | null = null;
    await boss.work(queue, async () => onJob?.());
    await sleep(500);
    const xs: number[] = [];
    const warm = listen ? 20 : 1;
    for (let i = 0; i < jobs + warm; i++) {
      await sleep(IDLE_GAP_MS);
      const got = new Promise<number>((resolve) => (onJob = () => resolve(performance.now())));
      const t0 = performance.now();
      await boss.send(queue, {});
      const t1 = await got;
      if (i >= warm) xs.push(t1 - t0);
    }
    return latencyRow(
      "pg-boss",
      listen ? "useListenNotify + queue notify" : "default (2 s polling)",
      xs,
      "client clock: send call → handler starts",
    );
  } finally {
    await boss.stop({ graceful: false }).catch(() => {});
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function machine() {
  const c = new pg.Client({ connectionString: testAdminUrl });
  await c.connect();
  try {
    const v = (await c.query<{ v: string }>("select version() AS v")).rows[0]!.v;
    const settings = (
      await c.query<{ name: string; setting: string }>(
        "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections') order by name",
      )
    ).rows;
    return {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      postgres: v.split(" on ")[0]!,
      postgresSettings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
      kernel: `${os.type()} ${os.release()}`,
    };
  } finally {
    await c.end();
  }
}

await ensureTemplateDatabase();
const host = await machine();
// Other processes on the machine skew every figure: say how busy it was before we started.
const idleMeter = await cpuMeter();
await sleep(2_000);
const backgroundCpu = (await idleMeter()).machineCpu;
console.log(`# Flowplane dispatch vs graphile-worker 0.18 and pg-boss 12`);
console.log(
  `machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB, ${host.kernel}; node ${host.node}; ${host.postgres} (${Object.entries(
    host.postgresSettings,
  )
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}); ` +
    `client, servers, workers and PostgreSQL share these CPUs; CPU cores busy before the run (other processes): ${backgroundCpu.toFixed(2)}\n`,
);
console.log(
  `N=${RUNS} runs per throughput trial, Flowplane W=${WORKERS} workers × limit ${LIMIT}; latency: ${LATENCY_JOBS} jobs each\n`,
);

const throughput: ThroughputResult[] = [];
const latency: LatencyResult[] = [];
const scaling: ThroughputResult[] = [];
const log = (r: ThroughputResult) =>
  console.log(
    `  ${r.system.padEnd(16)} ${r.config.padEnd(48)} ${r.concurrency.padEnd(30)} ${r.perSecond.toFixed(0).padStart(7)} runs/s  (${r.completed}/${r.runs} in ${r.seconds.toFixed(2)} s${r.timeBoxed ? ", time-boxed" : ""}; CPU cores busy: this process ${r.nodeCpu.toFixed(2)}, machine ${r.machineCpu.toFixed(2)}; CPU ms/run: this process ${r.nodeCpuMsPerRun.toFixed(2)}, database ${r.dbCpuMsPerRun.toFixed(2)})`,
  );

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
 * A fresh Flowplane database and server per trial, plus `replicas - 1` more servers on the same
 * database: in this process (startServer), or as `flowplane server start` child processes, which
 * get their own JavaScript thread.
 */
async function flowplaneTrial(
  workers: number,
  replicas: number,
  label: string,
  reporting: Reporting,
  where: "in-process" | "child-process" = "in-process",
): Promise<ThroughputResult> {
  const server = await startTestServer(benchmarkServerConfig);
  const extra: { url: string; close(): Promise<void> }[] = [];
  const homes: string[] = [];
  try {
    for (let i = 1; i < replicas; i++) {
      const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-replica-"));
      homes.push(home);
      if (where === "in-process") {
        const replica: RunningServer = await startServer(
          {
            databaseUrl: server.db.url,
            port: 0,
            host: "127.0.0.1",
            home,
            logLevel: "silent",
            masterKey: server.masterKey,
            ...benchmarkServerConfig,
          },
          { writeProfile: false },
        );
        extra.push({ url: replica.url, close: () => replica.close() });
      } else {
        const port = await freePort();
        const child = spawnCli(["server", "start", "--port", String(port)], {
          DATABASE_URL: server.db.url,
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
        extra.push({
          url,
          close: async () => {
            replicaPids.splice(replicaPids.indexOf(child.pid!), 1);
            child.kill("SIGTERM");
            await exited(child);
          },
        });
      }
    }
    const urls = [server.url, ...extra.map((s) => s.url)];
    // Warm-up (untimed): JIT, connection pools, plans.
    await flowplaneThroughput(server, urls, workers, LIMIT, 200, "warm-up", reporting);
    return await flowplaneThroughput(server, urls, workers, LIMIT, RUNS, label, reporting);
  } finally {
    for (const s of extra) await s.close();
    await server.close();
    for (const h of homes) await rm(h, { recursive: true, force: true });
  }
}

if (ONLY.has("throughput")) {
  console.log("## throughput (due → claimed and completed)");
  const add = (r: ThroughputResult) => {
    throughput.push(r);
    log(r);
  };
  if (SYSTEMS.has("flowplane")) {
    add(await flowplaneTrial(WORKERS, 1, "poll + setState per run: RUNNING, COMPLETED", "per-run"));
    add(await flowplaneTrial(WORKERS, 1, "poll + setStates per claim: RUNNING, COMPLETED", "batched"));
  }
  for (const c of SYSTEMS.has("graphile-worker") ? [WORKERS, WORKERS * LIMIT] : []) {
    add(await graphileThroughput(false, c, RUNS));
    add(await graphileThroughput(true, c, RUNS));
  }
  for (const c of SYSTEMS.has("pg-boss") ? [WORKERS, WORKERS * LIMIT] : []) {
    add(await pgBossThroughput(false, c, LIMIT, RUNS));
    add(await pgBossThroughput(true, c, LIMIT, RUNS));
  }
}

if (ONLY.has("latency")) {
  console.log("\n## pickup latency (idle system, one job at a time)");
  if (SYSTEMS.has("flowplane")) {
    const server = await startTestServer(benchmarkServerConfig);
    try {
      for (const r of await flowplaneLatency(server, LATENCY_JOBS)) latency.push(r);
    } finally {
      await server.close();
    }
  }
  if (SYSTEMS.has("graphile-worker")) {
    latency.push(await graphileLatency(false, LATENCY_JOBS));
    latency.push(await graphileLatency(true, LATENCY_JOBS));
  }
  if (SYSTEMS.has("pg-boss")) {
    latency.push(await pgBossLatency(true, LATENCY_JOBS));
    latency.push(await pgBossLatency(false, POLLING_JOBS));
  }
  for (const r of latency)
    console.log(
      `  ${r.system.padEnd(16)} ${r.config.padEnd(50)} p50 ${r.p50Ms.toFixed(1).padStart(7)} ms  p99 ${r.p99Ms.toFixed(1).padStart(7)} ms  max ${r.maxMs.toFixed(1).padStart(7)} ms  (${r.jobs} jobs)`,
    );
}

if (ONLY.has("scaling") && SYSTEMS.has("flowplane")) {
  console.log("\n## Flowplane scaling");
  for (const w of SCALING) {
    const r = await flowplaneTrial(w, 1, "1 server", "batched");
    scaling.push(r);
    log(r);
  }
  for (const w of [4, 8]) {
    const r = await flowplaneTrial(w, 2, "2 server replicas, both in this process", "batched", "in-process");
    scaling.push(r);
    log(r);
  }
  for (const w of [4, 8]) {
    const r = await flowplaneTrial(w, 2, "2 server replicas, the second a child process", "batched", "child-process");
    scaling.push(r);
    log(r);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const best = (xs: ThroughputResult[]) =>
  xs.reduce<ThroughputResult | null>((a, b) => (a && a.perSecond >= b.perSecond ? a : b), null);
const gwTunedSame = throughput.find(
  (r) =>
    r.system === "graphile-worker" && r.config.startsWith("tuned") && r.concurrency === `concurrentJobs ${WORKERS}`,
);
const gwDefaultSame = throughput.find(
  (r) => r.system === "graphile-worker" && r.config === "default" && r.concurrency === `concurrentJobs ${WORKERS}`,
);
const gwBest = best(throughput.filter((r) => r.system === "graphile-worker"));
const bossBest = best(throughput.filter((r) => r.system === "pg-boss"));
const ratios: Record<string, number> = {};
for (const [reporting, flowplane] of [
  ["per-run setState", throughput.find((r) => r.system === "flowplane" && r.config.includes("setState per run"))],
  ["setStates", throughput.find((r) => r.system === "flowplane" && r.config.includes("setStates"))],
] as const) {
  if (!flowplane) continue;
  if (gwDefaultSame)
    ratios[`flowplane (${reporting}) / graphile-worker default @${WORKERS}`] =
      flowplane.perSecond / gwDefaultSame.perSecond;
  if (gwTunedSame)
    ratios[`flowplane (${reporting}) / graphile-worker tuned @${WORKERS}`] =
      flowplane.perSecond / gwTunedSame.perSecond;
  if (gwBest) ratios[`flowplane (${reporting}) / graphile-worker best`] = flowplane.perSecond / gwBest.perSecond;
  if (bossBest) ratios[`flowplane (${reporting}) / pg-boss best`] = flowplane.perSecond / bossBest.perSecond;
}
const fpLat = latency.find((r) => r.system === "flowplane");
const gwLat = latency.find((r) => r.system === "graphile-worker" && r.config.startsWith("default"));
if (fpLat && gwLat) ratios["flowplane p99 / graphile-worker p99 (default, LISTEN/NOTIFY)"] = fpLat.p99Ms / gwLat.p99Ms;

console.log("\n## results\n");
console.log(
  `Machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB RAM, ${host.kernel}, node ${host.node}, ${host.postgres}. One process runs every client, server and worker; PostgreSQL runs on the same CPUs. CPU cores busy before the run (other processes): ${backgroundCpu.toFixed(2)}.\n`,
);
if (throughput.length > 0) {
  console.log(`Dispatch throughput, N = ${RUNS} no-op runs/jobs (due → claimed and completed):\n`);
  console.log(
    "| system | configuration | concurrency | runs/s | completed | seconds | cores busy: bench process / machine | CPU ms per run: bench process / database |",
  );
  console.log("|---|---|---|---:|---:|---:|---:|---:|");
  for (const r of throughput)
    console.log(
      `| ${r.system} | ${r.config} | ${r.concurrency} | ${r.perSecond.toFixed(0)} | ${r.completed}/${r.runs}${r.timeBoxed ? " (time-boxed)" : ""} | ${r.seconds.toFixed(2)} | ${r.nodeCpu.toFixed(2)} / ${r.machineCpu.toFixed(2)} | ${r.nodeCpuMsPerRun.toFixed(2)} / ${r.dbCpuMsPerRun.toFixed(2)} |`,
    );
  console.log("");
}
if (latency.length > 0) {
  console.log("Pickup latency, idle system, one job at a time (created → claimed/started):\n");
  console.log("| system | configuration | jobs | p50 ms | p99 ms | max ms | measured |");
  console.log("|---|---|---:|---:|---:|---:|---|");
  for (const r of latency)
    console.log(
      `| ${r.system} | ${r.config} | ${r.jobs} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${r.note ?? ""} |`,
    );
  console.log("");
}
if (scaling.length > 0) {
  console.log(`Flowplane scaling, N = ${RUNS}, limit ${LIMIT} per poll:\n`);
  console.log(
    "| servers | workers (× limit) | runs/s | seconds | cores busy: bench process / machine | CPU ms per run: bench process / database |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of scaling)
    console.log(
      `| ${r.config} | ${r.concurrency.split(",")[0]} | ${r.perSecond.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.nodeCpu.toFixed(2)} / ${r.machineCpu.toFixed(2)} | ${r.nodeCpuMsPerRun.toFixed(2)} / ${r.dbCpuMsPerRun.toFixed(2)} |`,
    );
  console.log("");
}
if (Object.keys(ratios).length > 0) {
  console.log("| ratio | value |");
  console.log("|---|---:|");
  for (const [k, v] of Object.entries(ratios)) console.log(`| ${k} | ${v.toFixed(3)} |`);
  console.log("");
}
console.log(
  JSON.stringify({
    command: `npx tsx e2e/bench/dispatch.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { ...host, backgroundCpuBeforeRun: Number(backgroundCpu.toFixed(2)) },
    runs: RUNS,
    workers: WORKERS,
    limit: LIMIT,
    throughput: throughput.map((r) => ({ ...r, perSecond: Math.round(r.perSecond) })),
    latency,
    scaling: scaling.map((r) => ({ ...r, perSecond: Math.round(r.perSecond) })),
    ratios,
  }),
);
await dropScratchDatabases();
process.exit(0);
