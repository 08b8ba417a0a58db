// pg-boss 12 in its default configuration (batchSize 1, 2 s polling) and tuned for throughput
// (batchSize + burstWhenBatchFull) or for pickup latency (LISTEN/NOTIFY).
import { PgBoss } from "pg-boss";
import { withClient } from "@flowplane/db/testing";
import {
  freshDatabase,
  IDLE_GAP_MS,
  latencyRow,
  pickupSeries,
  sleep,
  startMeasuring,
  type LatencyResult,
  type ThroughputResult,
} from "./harness.ts";

/** A started pg-boss on a fresh database; `stop` ends it without waiting for its jobs. */
async function startBoss(label: string, options: { useListenNotify?: boolean } = {}) {
  const url = await freshDatabase(label);
  const boss = new PgBoss({ connectionString: url, ...options });
  boss.on("error", (err) => console.error(`pg-boss: ${err.message}`));
  await boss.start();
  return { url, boss, stop: () => boss.stop({ graceful: false }).catch(() => {}) };
}

/** N jobs inserted with insert(); timed from work() until no job of the queue is left uncompleted. */
export async function pgBossThroughput(
  tuned: boolean,
  concurrency: number,
  batchSize: number,
  runs: number,
  boxSeconds: number,
): Promise<ThroughputResult> {
  const { url, boss, stop } = await startBoss("pgboss");
  try {
    const queue = "noop";
    await boss.createQueue(queue);
    for (let i = 0; i < runs; i += 1_000)
      await boss.insert(
        queue,
        Array.from({ length: Math.min(1_000, runs - i) }, () => ({ data: {} })),
      );
    return await withClient(url, async (probe) => {
      await probe.query("ANALYZE pgboss.job");
      let handled = 0;
      const deadline = Date.now() + boxSeconds * 1000;
      const options = tuned
        ? { localConcurrency: concurrency, batchSize, burstWhenBatchFull: true }
        : { localConcurrency: concurrency };
      const measure = await startMeasuring(url);
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
      return await measure.drained(
        {
          system: "pg-boss",
          config: tuned ? `tuned: batchSize ${batchSize}, burstWhenBatchFull` : "default (batchSize 1, 2 s polling)",
          concurrency: `localConcurrency ${concurrency}`,
          runs,
        },
        () => handled,
        count,
        deadline,
      );
    });
  } finally {
    await stop();
  }
}

/** One job at a time: client clock from the send call to the handler starting. */
export async function pgBossLatency(listen: boolean, jobs: number): Promise<LatencyResult> {
  const { boss, stop } = await startBoss("pgbosslat", { useListenNotify: listen });
  try {
    const queue = "latency";
    await boss.createQueue(queue, listen ? { notify: true } : {});
    let onJob: (() => void) | null = null;
    await boss.work(queue, async () => onJob?.());
    await sleep(500);
    const xs = await pickupSeries(jobs, listen ? 20 : 1, async () => {
      await sleep(IDLE_GAP_MS);
      const got = new Promise<number>((resolve) => (onJob = () => resolve(performance.now())));
      const t0 = performance.now();
      await boss.send(queue, {});
      return (await got) - t0;
    });
    return latencyRow(
      "pg-boss",
      listen ? "useListenNotify + queue notify" : "default (2 s polling)",
      xs,
      "client clock: send call → handler starts",
    );
  } finally {
    await stop();
  }
}
