import type { Command } from "commander";
import { createApiClient, resolveConnection } from "@flowplane/client";
import { connect, type GlobalOptions } from "../api.ts";
import { wholeNumber } from "../command.ts";
import { CliError } from "../output.ts";

export function registerWorker(program: Command): void {
  const worker = program.command("worker").description("pull-based workers that run flows on your infrastructure");
  worker
    .command("start")
    .description("poll a work pool and run its flow runs")
    .requiredOption("--pool <name>", "work pool to poll")
    .option("--name <name>", "worker name (default: host-pid)")
    .option("--limit <n>", "most flow runs at once", wholeNumber("--limit", { min: 1 }), 10)
    .option("--run-once", "run what is due now, then exit")
    .action(async (opts: GlobalOptions & { pool: string; name?: string; limit: number; runOnce?: boolean }) => {
      const api = await connect(opts);
      const connection = (await resolveConnection({ workspace: opts.workspace ?? null }))!;
      const pool = await api.workPools.get.query({ name: opts.pool }).catch((err: Error) => {
        throw new CliError(`--pool ${JSON.stringify(opts.pool)}: ${err.message}`);
      });
      // Loaded here, not at the top: the worker and its infrastructure clients are not needed by any
      // other command, and every CLI start would pay for them.
      const { infrastructureFor, Worker } = await import("@flowplane/worker");
      const heartbeatSeconds = Number(process.env.FLOWPLANE_WORKER_HEARTBEAT_SECONDS || 10);
      const w = new Worker({
        api: createApiClient(connection),
        connection,
        poolName: pool.name,
        ...(opts.name ? { name: opts.name } : {}),
        limit: opts.limit,
        runOnce: opts.runOnce ?? false,
        heartbeatIntervalSeconds: heartbeatSeconds,
        stopGraceMs: Number(process.env.FLOWPLANE_STOP_GRACE_SECONDS || 10) * 1000,
        infrastructure: await infrastructureFor(pool.type),
        log: (level, message, fields) =>
          process.stderr.write(
            JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields }) + "\n",
          ),
      });
      let signals = 0;
      const onSignal = () => {
        signals++;
        // First signal: stop claiming and let runs finish. Second: stop the runs too.
        void w.stop({ killRuns: signals > 1 });
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      await w.run();
      process.exit(0);
    });
}
