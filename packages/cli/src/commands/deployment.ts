import type { Command } from "commander";
import { describeSchedule, isTerminal, specOfStored, type StateType, type StoredSchedule } from "@flowplane/core";
import { closeApiClient, type ApiClient } from "@flowplane/client";
import { connect, type GlobalOptions } from "../api.ts";
import { dataCommand, isoTime, say } from "../command.ts";
import { CliError, collect, parseKeyValues, printFields, printJson, printTable } from "../output.ts";

function qualified(ref: string): string {
  if (!/^[^/]+\/[^/]+$/.test(ref)) throw new CliError(`${JSON.stringify(ref)}: expected FLOW/DEPLOYMENT`, 2);
  return ref;
}

function scheduleWords(s: StoredSchedule): string {
  const spec = specOfStored(s);
  try {
    if (spec) return describeSchedule(spec);
  } catch {
    // A schedule the server accepted always describes; show it raw rather than fail the listing.
  }
  return JSON.stringify(spec ?? s);
}

export function registerDeployment(program: Command): void {
  const deployments = program
    .command("deployment")
    .description("deployments: a flow, its pool, parameters and schedules");
  dataCommand(deployments.command("ls").description("list deployments"), {
    call: (api) => api.deployments.list.query(),
    print: (rows) =>
      printTable(
        rows.map((d) => ({
          id: d.id,
          deployment: d.qualifiedName,
          pool: d.workPoolName,
          schedules: d.schedules.map(scheduleWords).join("; ") || null,
          status: d.paused ? "paused" : "active",
          updatedAt: d.updatedAt,
        })),
        ["id", "deployment", "pool", "schedules", "status", "updatedAt"],
        "no deployments yet: flowplane deploy PATH:EXPORT --pool NAME",
      ),
  });
  dataCommand(
    deployments
      .command("inspect <flowDeployment>")
      .description("show a deployment: schedules in words, next runs, versions"),
    {
      call: async (api, [ref]: [string]) => {
        const d = await api.deployments.get.query({ name: qualified(ref) });
        return { ...d, schedules: d.schedules.map((s) => ({ ...s, description: scheduleWords(s) })) };
      },
      print: (d) => {
        printFields({
          id: d.id,
          deployment: d.qualifiedName,
          entrypoint: d.entrypoint,
          code: d.codeVersion,
          pull: d.pullSteps
            ? (d.pullSteps as Record<string, unknown>[]).map((s) => Object.keys(s).find((k) => k !== "id")).join(" → ")
            : null,
          path: d.path,
          pool: d.workPoolName,
          queue: d.workQueueName,
          status: d.paused ? "paused" : "active",
          parameters: d.parameters,
          jobVariables: d.jobVariables,
          // Secrets its code may read by name (besides those its configuration references).
          secrets: d.secrets.length > 0 ? d.secrets.join(", ") : "(none declared)",
          concurrencyLimit: d.concurrencyLimit,
          catchup: d.catchup,
          updatedAt: d.updatedAt,
        });
        say("\nschedules:");
        printTable(
          d.schedules.map((s) => ({ schedule: s.description, active: s.active })),
          ["schedule", "active"],
        );
        say("\nnext runs:");
        printTable(
          d.upcomingRuns.map((r) => ({ id: r.id, name: r.name, at: r.nextScheduledTime, state: r.stateName })),
          ["id", "name", "at", "state"],
        );
        say("\nversions:");
        printTable(
          d.versions.map((v) => ({ version: v.version, current: v.current, createdAt: v.createdAt })),
          ["version", "current", "createdAt"],
        );
      },
    },
  );
  deployments
    .command("run <flowDeployment>")
    .description("create a flow run of a deployment now")
    .option("--param <k=v>", "parameter (repeatable)", collect, [])
    .option("--job-var <k=v>", "job variable for this run (repeatable)", collect, [])
    .option("--watch", "stream state changes until the run ends; exit 0 only if it COMPLETED")
    .option("--json", "print the result as JSON")
    .action(async (ref: string, opts: GlobalOptions & { param: string[]; jobVar: string[]; watch?: boolean }) => {
      const parameters = parseKeyValues(opts.param, "--param");
      const jobVariables = parseKeyValues(opts.jobVar, "--job-var");
      const api = await connect(opts, { withSubscriptions: opts.watch ?? false });
      const run = await api.deployments.run.mutate({
        name: qualified(ref),
        parameters,
        ...(opts.jobVar.length ? { jobVariables } : {}),
      });
      if (!opts.watch) {
        if (opts.json) printJson(run);
        else process.stdout.write(`created flow run ${run.name} (${run.id}) of ${ref}\n`);
        return;
      }
      if (!opts.json) process.stderr.write(`created flow run ${run.name} (${run.id}); watching\n`);
      const final = await watchRun(api, run.id, opts.json ?? false);
      closeApiClient(api);
      if (opts.json) printJson(final);
      process.exit(final.state.type === "COMPLETED" ? 0 : 1);
    });
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    dataCommand(deployments.command(`${verb} <flowDeployment>`).description(`${verb} a deployment's schedules`), {
      call: (api, [ref]: [string]) => api.deployments.setPaused.mutate({ name: qualified(ref), paused }),
      print: (d) => say(`${paused ? "paused" : "resumed"} ${d.qualifiedName}`),
    });
  }
  dataCommand(
    deployments
      .command("backfill <flowDeployment>")
      .description("create one run per schedule slot in [--from, --to), each with its partition key")
      .requiredOption("--from <iso>", "window start (ISO-8601), inclusive", isoTime("--from"))
      .requiredOption("--to <iso>", "window end (ISO-8601), exclusive", isoTime("--to")),
    {
      call: async (api, [ref]: [string], opts: GlobalOptions & { from: string; to: string }) => {
        const from = new Date(opts.from);
        const to = new Date(opts.to);
        if (to <= from) throw new CliError(`--to ${opts.to}: must be after --from ${opts.from}`, 2);
        // The window goes in chunks so a long backfill shows progress and each request stays bounded.
        const chunks = Math.min(100, Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 86_400_000)));
        const step = (to.getTime() - from.getTime()) / chunks;
        const total = { slots: 0, created: 0, existing: 0 };
        for (let i = 0; i < chunks; i++) {
          const a = new Date(from.getTime() + Math.round(i * step));
          const b = i === chunks - 1 ? to : new Date(from.getTime() + Math.round((i + 1) * step));
          const r = await api.deployments.backfill.mutate({
            name: qualified(ref),
            from: a.toISOString(),
            to: b.toISOString(),
          });
          total.slots += r.slots;
          total.created += r.created;
          total.existing += r.existing;
          if (!opts.json)
            process.stderr.write(
              `\rbackfill ${ref}: ${Math.round(((i + 1) / chunks) * 100)}% — ${total.created} runs created, ${total.existing} already existed`,
            );
        }
        if (!opts.json) process.stderr.write("\n");
        return { deployment: ref, from: from.toISOString(), to: to.toISOString(), ...total };
      },
      print: (r) =>
        say(`backfilled ${r.deployment}: ${r.slots} slots, ${r.created} new runs, ${r.existing} already existed`),
    },
  );
  dataCommand(
    deployments.command("delete <flowDeployment>").description("delete a deployment and its scheduled runs"),
    {
      call: (api, [ref]: [string]) => api.deployments.delete.mutate({ name: qualified(ref) }),
      print: (r) => say(`deleted ${r.deleted}`),
    },
  );
}
/**
 * Prints each state the run enters until it is terminal. Changes arrive over the websocket; a
 * slow poll covers a dropped connection.
 */
export async function watchRun(api: ApiClient, flowRunId: string, quiet: boolean) {
  let last = "";
  let wake: (() => void) | null = null;
  const sub = api.events.subscribe.subscribe({ flowRunId }, { onData: () => wake?.(), onError: () => {} });
  try {
    for (;;) {
      const run = await api.flowRuns.get.query({ id: flowRunId });
      const label = `${run.state.type} (${run.state.name})`;
      if (label !== last) {
        last = label;
        if (!quiet)
          process.stderr.write(
            `${run.state.timestamp} ${run.name}: ${label}${run.state.message ? ` — ${run.state.message}` : ""}\n`,
          );
      }
      if (isTerminal(run.state.type as StateType)) return run;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 2_000);
      });
      wake = null;
    }
  } finally {
    sub.unsubscribe();
  }
}
