import type { Command } from "commander";
import { STATE_TYPES, isTerminal, type StateType } from "@flowplane/core";
import type { ApiClient } from "@flowplane/client";
import { connect, type GlobalOptions } from "../api.ts";
import { dataCommand, oneOf, say, wholeNumber } from "../command.ts";
import { CliError, printable, printFields, printJson, printTable } from "../output.ts";

const LEVELS: Record<number, string> = { 10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL" };

export function registerFlowRun(program: Command): void {
  const runs = program.command("flow-run").description("inspect and control flow runs");
  dataCommand(
    runs
      .command("ls")
      .description("list flow runs, newest first")
      .option(
        "--state <type>",
        `only runs in this state (${STATE_TYPES.join(", ")})`,
        oneOf("--state", STATE_TYPES, (value) => value.toUpperCase()),
      )
      .option("--limit <n>", "how many", wholeNumber("--limit", { min: 1, max: 500 }), 20),
    {
      call: async (api, _args: [], opts: { state?: StateType; limit: number }) =>
        (await api.flowRuns.list.query({ limit: opts.limit, ...(opts.state ? { states: [opts.state] } : {}) })).items,
      print: (items) =>
        printTable(
          items.map((r) => ({
            id: r.id,
            name: r.name,
            flow: r.flowName,
            deployment: r.deploymentName,
            state: `${r.state.type} (${r.state.name})`,
            expected: r.expectedStartTime,
            duration: r.durationMs === null ? null : `${(r.durationMs / 1000).toFixed(1)}s`,
          })),
          ["id", "name", "flow", "deployment", "state", "expected", "duration"],
          "no flow runs",
        ),
    },
  );
  dataCommand(runs.command("inspect <id>").description("show a flow run and its state history"), {
    call: async (api, [id]: [string]) => {
      const [run, history] = await Promise.all([api.flowRuns.get.query({ id }), api.flowRuns.history.query({ id })]);
      return { ...run, stateHistory: history };
    },
    print: (run) => {
      printFields({
        id: run.id,
        name: run.name,
        flow: run.flowName,
        deployment: run.deploymentName,
        version: run.deploymentVersion,
        code: run.codeVersion,
        pool: run.workPoolName,
        worker: run.workerName,
        state: `${run.state.type} (${run.state.name})`,
        message: run.state.message,
        parameters: run.parameters,
        runCount: run.runCount,
        expectedStart: run.expectedStartTime,
        start: run.startTime,
        end: run.endTime,
      });
      say("\nstate history:");
      printTable(
        run.stateHistory.map((s) => ({ timestamp: s.timestamp, type: s.type, name: s.name, message: s.message })),
        ["timestamp", "type", "name", "message"],
      );
    },
  });
  runs
    .command("logs <id>")
    .description("print a flow run's logs")
    .option("--follow", "keep printing new lines until the run ends")
    .option("--json", "print the result as JSON (one array; with --follow, one JSON line per log)")
    .action(async (id: string, opts: GlobalOptions & { follow?: boolean }) => {
      const api = await connect(opts);
      await printLogs(api, id, { follow: opts.follow ?? false, json: opts.json ?? false });
    });
  // With --json the server's answer is printed as it is, a refusal included.
  dataCommand(runs.command("cancel <id>").description("cancel a flow run (its infrastructure is stopped)"), {
    call: (api, [id]: [string]) => api.flowRuns.cancel.mutate({ id }),
    print: (r, [id]) => {
      if (r.decision === "ABORT") throw new CliError(`cannot cancel flow run ${id}: ${r.reason ?? "rejected"}`);
      say(`flow run ${id} is ${r.state.type}`);
    },
  });
  dataCommand(runs.command("retry <id>").description("run a finished flow run again"), {
    call: (api, [id]: [string]) => api.flowRuns.retry.mutate({ id }),
    print: (r, [id]) => {
      if (r.decision === "ABORT" || r.decision === "REJECT")
        throw new CliError(`cannot retry flow run ${id}: ${r.reason ?? "rejected"}`);
      say(`flow run ${id} is ${r.state.type} (${r.state.name})`);
    },
  });
}

/** One log record as one terminal line, whatever its name and message contain. */
function logLine(l: { timestamp: string; level: number; name: string; message: string }): string {
  return `${l.timestamp} ${(LEVELS[l.level] ?? String(l.level)).padEnd(8)} ${printable(l.name)} | ${printable(l.message)}\n`;
}

export async function printLogs(
  api: ApiClient,
  flowRunId: string,
  opts: { follow: boolean; json: boolean },
): Promise<void> {
  let after: { timestamp: string; id: string } | undefined;
  const all: unknown[] = [];
  for (;;) {
    const lines = await api.logs.list.query({ flowRunId, limit: 1000, ...(after ? { after } : {}) });
    for (const l of lines) {
      if (opts.json && !opts.follow) all.push(l);
      else if (opts.json) process.stdout.write(JSON.stringify(l) + "\n");
      else process.stdout.write(logLine(l));
    }
    const last = lines[lines.length - 1];
    if (last) after = { timestamp: last.timestamp, id: last.id };
    if (lines.length === 1000) continue;
    if (!opts.follow) break;
    const run = await api.flowRuns.get.query({ id: flowRunId });
    if (isTerminal(run.state.type as StateType)) {
      // One last read: lines flushed just before the final state.
      const rest = await api.logs.list.query({ flowRunId, limit: 1000, ...(after ? { after } : {}) });
      for (const l of rest) process.stdout.write(opts.json ? JSON.stringify(l) + "\n" : logLine(l));
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  if (opts.json && !opts.follow) printJson(all);
}
