// graphile-worker 0.18 in its default configuration and in its documented performance tuning
// (worker.graphile.org/docs/performance: local queue, batched completion, prepared statements).
import {
  Logger as GraphileLogger,
  makeWorkerUtils,
  run as runGraphile,
  runMigrations as migrateGraphile,
  type Runner,
} from "graphile-worker";
import { withClient } from "@flowplane/db/testing";
import {
  freshDatabase,
  IDLE_GAP_MS,
  latencyRow,
  pickupSeries,
  quietPool,
  sleep,
  startMeasuring,
  type LatencyResult,
  type ThroughputResult,
} from "./harness.ts";

const silentLogger = new GraphileLogger(() => () => {});

/** worker.graphile.org/docs/performance: the configuration of its published figures. */
const tunedWorker = (concurrency: number) => ({
  concurrentJobs: concurrency,
  maxPoolSize: concurrency + 1,
  localQueue: { size: 500 },
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
});

/** A runner of the `noop` task on a fresh migrated database; `stop` ends it and its pool. */
async function startRunner(
  url: string,
  worker: Record<string, unknown>,
  poolSize: number,
  noop: () => void,
): Promise<{ runner: Runner; stop(): Promise<void> }> {
  const pgPool = quietPool(url, poolSize);
  const runner = await runGraphile({
    noHandleSignals: true,
    logger: silentLogger,
    pgPool,
    taskList: { noop: async () => noop() },
    preset: { worker: { connectionString: url, ...worker } },
  });
  return {
    runner,
    async stop() {
      await runner.stop();
      await runner.promise.catch(() => {});
      await pgPool.end();
    },
  };
}

/** N jobs added with add_jobs; timed from run() until the jobs table is empty. */
export async function graphileThroughput(
  tuned: boolean,
  concurrency: number,
  runs: number,
  boxSeconds: number,
): Promise<ThroughputResult> {
  const url = await freshDatabase("gw");
  await migrateGraphile({ connectionString: url, logger: silentLogger });
  return withClient(url, async (probe) => {
    await probe.query(
      `SELECT graphile_worker.add_jobs(ARRAY(SELECT json_populate_record(NULL::graphile_worker.job_spec, json_build_object('identifier', 'noop', 'payload', '{}'::json)) FROM generate_series(1, $1)))`,
      [runs],
    );
    await probe.query("ANALYZE graphile_worker._private_jobs");
    let handled = 0;
    const deadline = Date.now() + boxSeconds * 1000;
    const worker = tuned ? { ...tunedWorker(concurrency), preparedStatements: true } : { concurrentJobs: concurrency };
    const measure = await startMeasuring(url);
    const { stop } = await startRunner(url, worker, tuned ? concurrency + 1 : 10, () => void handled++);
    try {
      const count = async () =>
        Number(
          (await probe.query<{ n: string }>("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0]!.n,
        );
      return await measure.drained(
        {
          system: "graphile-worker",
          config: tuned ? "tuned: localQueue 500, completeJobBatchDelay 0" : "default",
          concurrency: `concurrentJobs ${concurrency}`,
          runs,
        },
        () => handled,
        count,
        deadline,
      );
    } finally {
      await stop();
    }
  });
}

/** One job at a time: client clock from the addJob call to the task starting. */
export async function graphileLatency(tuned: boolean, jobs: number, workers: number): Promise<LatencyResult> {
  const url = await freshDatabase("gwlat");
  await migrateGraphile({ connectionString: url, logger: silentLogger });
  let onJob: (() => void) | null = null;
  const { stop } = await startRunner(url, tuned ? tunedWorker(workers) : {}, tuned ? workers + 1 : 10, () => onJob?.());
  const utils = await makeWorkerUtils({ connectionString: url, logger: silentLogger });
  try {
    const xs = await pickupSeries(jobs, 20, async () => {
      await sleep(IDLE_GAP_MS);
      const got = new Promise<number>((resolve) => (onJob = () => resolve(performance.now())));
      const t0 = performance.now();
      await utils.addJob("noop", {});
      return (await got) - t0;
    });
    return latencyRow(
      "graphile-worker",
      tuned ? "tuned (localQueue 500, batched completion)" : "default (LISTEN/NOTIFY)",
      xs,
      "client clock: addJob call → task starts",
    );
  } finally {
    await utils.release();
    await stop();
  }
}
