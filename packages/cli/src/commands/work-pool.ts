import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import { CliError, printFields, printJson, printTable } from "../output.ts";

const TYPES = ["process", "docker", "ecs", "kubernetes"] as const;

export function registerWorkPool(program: Command): void {
  const pools = program.command("work-pool").description("typed pools of infrastructure that workers poll");
  pools
    .command("create <name>")
    .description("create a work pool")
    .requiredOption("--type <type>", TYPES.join(" | "))
    .option("--concurrency-limit <n>", "at most this many runs of the pool at once")
    .option("--base-job-template <file>", "JSON file with jobConfiguration and variables")
    .option("--json", "print the result as JSON")
    .action(
      async (
        name: string,
        opts: GlobalOptions & { type: string; concurrencyLimit?: string; baseJobTemplate?: string },
      ) => {
        if (!TYPES.includes(opts.type as (typeof TYPES)[number]))
          throw new CliError(`--type ${JSON.stringify(opts.type)}: expected one of ${TYPES.join(", ")}`, 2);
        const limit = opts.concurrencyLimit === undefined ? undefined : Number(opts.concurrencyLimit);
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
          throw new CliError(
            `--concurrency-limit ${JSON.stringify(opts.concurrencyLimit)}: expected a whole number >= 0`,
            2,
          );
        let template: unknown;
        if (opts.baseJobTemplate) {
          const text = await readFile(opts.baseJobTemplate, "utf8").catch((err: Error) => {
            throw new CliError(`--base-job-template ${opts.baseJobTemplate}: ${err.message}`, 2);
          });
          try {
            template = JSON.parse(text);
          } catch (err) {
            throw new CliError(
              `--base-job-template ${opts.baseJobTemplate}: not valid JSON (${(err as Error).message})`,
              2,
            );
          }
        }
        const api = await connect(opts);
        const pool = await api.workPools.create.mutate({
          name,
          type: opts.type as (typeof TYPES)[number],
          ...(limit !== undefined ? { concurrencyLimit: limit } : {}),
          ...(template ? { baseJobTemplate: template } : {}),
        });
        if (opts.json) printJson(pool);
        else process.stdout.write(`created ${pool.type} work pool "${pool.name}" (${pool.id})\n`);
      },
    );
  pools
    .command("ls")
    .description("list work pools")
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const rows = await (await connect(opts)).workPools.list.query();
      if (opts.json) printJson(rows);
      else
        printTable(
          rows.map((p) => ({ ...p, status: p.paused ? "paused" : "ready" })),
          ["id", "name", "type", "status", "concurrencyLimit", "queueDepth", "activeRuns", "workersOnline"],
          "no work pools yet: flowplane work-pool create NAME --type process",
        );
    });
  pools
    .command("inspect <name>")
    .description("show a work pool, its queues and base job template")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const p = await (await connect(opts)).workPools.get.query({ name });
      if (opts.json) return printJson(p);
      printFields({
        id: p.id,
        name: p.name,
        type: p.type,
        paused: p.paused,
        concurrencyLimit: p.concurrencyLimit,
        queueDepth: p.queueDepth,
        activeRuns: p.activeRuns,
        workers: `${p.workersOnline} online of ${p.workers}`,
        createdAt: p.createdAt,
      });
      process.stdout.write("\nqueues:\n");
      printTable(p.queues, ["name", "priority", "concurrencyLimit", "paused"]);
      process.stdout.write(`\nbase job template:\n${JSON.stringify(p.baseJobTemplate, null, 2)}\n`);
    });
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    pools
      .command(`${verb} <name>`)
      .description(
        `${verb} a work pool (${paused ? "workers claim nothing from it" : "its runs become claimable again"})`,
      )
      .option("--json", "print the result as JSON")
      .action(async (name: string, opts: GlobalOptions) => {
        const p = await (await connect(opts)).workPools.update.mutate({ name, paused });
        if (opts.json) printJson(p);
        else process.stdout.write(`${paused ? "paused" : "resumed"} work pool "${p.name}"\n`);
      });
  }
  pools
    .command("delete <name>")
    .description("delete a work pool")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const r = await (await connect(opts)).workPools.delete.mutate({ name });
      if (opts.json) printJson(r);
      else process.stdout.write(`deleted work pool "${r.deleted}"\n`);
    });
}
