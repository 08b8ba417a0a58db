import type { Command } from "commander";
import { dataCommand, oneOf, readFlagFile, say, wholeNumber } from "../command.ts";
import { CliError, printFields, printTable } from "../output.ts";

const TYPES = ["process", "docker", "ecs", "kubernetes"] as const;

async function readTemplate(file: string): Promise<unknown> {
  const text = await readFlagFile("--base-job-template", file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--base-job-template ${file}: not valid JSON (${(err as Error).message})`, 2);
  }
}

export function registerWorkPool(program: Command): void {
  const pools = program.command("work-pool").description("typed pools of infrastructure that workers poll");
  dataCommand(
    pools
      .command("create <name>")
      .description("create a work pool")
      .requiredOption("--type <type>", TYPES.join(" | "), oneOf("--type", TYPES))
      .option(
        "--concurrency-limit <n>",
        "at most this many runs of the pool at once",
        wholeNumber("--concurrency-limit", { min: 0 }),
      )
      .option("--base-job-template <file>", "JSON file with jobConfiguration and variables"),
    {
      call: async (
        api,
        [name]: [string],
        opts: { type: (typeof TYPES)[number]; concurrencyLimit?: number; baseJobTemplate?: string },
      ) => {
        const template = opts.baseJobTemplate ? await readTemplate(opts.baseJobTemplate) : undefined;
        return api.workPools.create.mutate({
          name,
          type: opts.type,
          ...(opts.concurrencyLimit !== undefined ? { concurrencyLimit: opts.concurrencyLimit } : {}),
          ...(template ? { baseJobTemplate: template } : {}),
        });
      },
      print: (pool) => say(`created ${pool.type} work pool "${pool.name}" (${pool.id})`),
    },
  );
  dataCommand(pools.command("ls").description("list work pools"), {
    call: (api) => api.workPools.list.query(),
    print: (rows) =>
      printTable(
        rows.map((p) => ({ ...p, status: p.paused ? "paused" : "ready" })),
        ["id", "name", "type", "status", "concurrencyLimit", "queueDepth", "activeRuns", "workersOnline"],
        "no work pools yet: flowplane work-pool create NAME --type process",
      ),
  });
  dataCommand(pools.command("inspect <name>").description("show a work pool, its queues and base job template"), {
    call: (api, [name]: [string]) => api.workPools.get.query({ name }),
    print: (p) => {
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
      say("\nqueues:");
      printTable(p.queues, ["name", "priority", "concurrencyLimit", "paused"]);
      say(`\nbase job template:\n${JSON.stringify(p.baseJobTemplate, null, 2)}`);
    },
  });
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    dataCommand(
      pools
        .command(`${verb} <name>`)
        .description(
          `${verb} a work pool (${paused ? "workers claim nothing from it" : "its runs become claimable again"})`,
        ),
      {
        call: (api, [name]: [string]) => api.workPools.update.mutate({ name, paused }),
        print: (p) => say(`${paused ? "paused" : "resumed"} work pool "${p.name}"`),
      },
    );
  }
  dataCommand(pools.command("delete <name>").description("delete a work pool"), {
    call: (api, [name]: [string]) => api.workPools.delete.mutate({ name }),
    print: (r) => say(`deleted work pool "${r.deleted}"`),
  });
}
