// Dispatch against the runnable peers, in one process on the same PostgreSQL (each system, each
// trial, in its own fresh database on that server). This file reads the options and runs the
// trials in order; dispatch/ holds one module per system (flowplane.ts, graphile-worker.ts,
// pg-boss.ts), the harness they share (scratch databases, CPU meters, the latency loop) and the
// report:
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
import { parseArgs } from "node:util";
import { ensureTemplateDatabase } from "@flowplane/db/testing";
import { flowplaneLatency, flowplaneTrial, type TrialOptions } from "./dispatch/flowplane.ts";
import { graphileLatency, graphileThroughput } from "./dispatch/graphile-worker.ts";
import {
  cpuMeter,
  describeMachine,
  dropScratchDatabases,
  sleep,
  type LatencyResult,
  type ThroughputResult,
} from "./dispatch/harness.ts";
import { pgBossLatency, pgBossThroughput } from "./dispatch/pg-boss.ts";
import { printHeader, printLatency, printResults, printTrial } from "./dispatch/report.ts";

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

/** A Flowplane trial of the bench's size with `workers` workers. */
const trial = (workers: number, reporting: TrialOptions["reporting"]): TrialOptions => ({
  workers,
  limit: LIMIT,
  runs: RUNS,
  boxSeconds: BOX_SECONDS,
  reporting,
});

await ensureTemplateDatabase();
const host = await describeMachine();
// Other processes on the machine skew every figure: say how busy it was before we started.
const idleMeter = await cpuMeter();
await sleep(2_000);
const backgroundCpu = (await idleMeter()).machineCpu;
printHeader(host, backgroundCpu, RUNS, WORKERS, LIMIT, LATENCY_JOBS);

const throughput: ThroughputResult[] = [];
const latency: LatencyResult[] = [];
const scaling: ThroughputResult[] = [];

if (ONLY.has("throughput")) {
  console.log("## throughput (due → claimed and completed)");
  const add = (r: ThroughputResult) => {
    throughput.push(r);
    printTrial(r);
  };
  if (SYSTEMS.has("flowplane")) {
    add(await flowplaneTrial(trial(WORKERS, "per-run"), 1, "poll + setState per run: RUNNING, COMPLETED"));
    add(await flowplaneTrial(trial(WORKERS, "batched"), 1, "poll + setStates per claim: RUNNING, COMPLETED"));
  }
  for (const c of SYSTEMS.has("graphile-worker") ? [WORKERS, WORKERS * LIMIT] : []) {
    add(await graphileThroughput(false, c, RUNS, BOX_SECONDS));
    add(await graphileThroughput(true, c, RUNS, BOX_SECONDS));
  }
  for (const c of SYSTEMS.has("pg-boss") ? [WORKERS, WORKERS * LIMIT] : []) {
    add(await pgBossThroughput(false, c, LIMIT, RUNS, POLLING_BOX_SECONDS));
    add(await pgBossThroughput(true, c, LIMIT, RUNS, BOX_SECONDS));
  }
}

if (ONLY.has("latency")) {
  console.log("\n## pickup latency (idle system, one job at a time)");
  if (SYSTEMS.has("flowplane")) latency.push(...(await flowplaneLatency(LATENCY_JOBS)));
  if (SYSTEMS.has("graphile-worker")) {
    latency.push(await graphileLatency(false, LATENCY_JOBS, WORKERS));
    latency.push(await graphileLatency(true, LATENCY_JOBS, WORKERS));
  }
  if (SYSTEMS.has("pg-boss")) {
    latency.push(await pgBossLatency(true, LATENCY_JOBS));
    latency.push(await pgBossLatency(false, POLLING_JOBS));
  }
  for (const r of latency) printLatency(r);
}

if (ONLY.has("scaling") && SYSTEMS.has("flowplane")) {
  console.log("\n## Flowplane scaling");
  const add = (r: ThroughputResult) => {
    scaling.push(r);
    printTrial(r);
  };
  for (const w of SCALING) add(await flowplaneTrial(trial(w, "batched"), 1, "1 server"));
  for (const w of [4, 8])
    add(await flowplaneTrial(trial(w, "batched"), 2, "2 server replicas, both in this process", "in-process"));
  for (const w of [4, 8])
    add(await flowplaneTrial(trial(w, "batched"), 2, "2 server replicas, the second a child process", "child-process"));
}

printResults({ host, backgroundCpu, runs: RUNS, workers: WORKERS, limit: LIMIT, throughput, latency, scaling });
await dropScratchDatabases();
process.exit(0);
