// API throughput over HTTP, one server process in this process, on a fresh test database on the
// local PostgreSQL (127.0.0.1:5432), with the real client:
//
//   npx tsx e2e/bench/api-throughput.ts            (BENCH_RUNS=2000 BENCH_BATCHES=50 to change the work)
//
// (a) state proposals/s: C concurrent clients drive fresh flow runs SCHEDULED → RUNNING → COMPLETED
//     (the runs are created beforehand, untimed; only proposals count), one flowRuns.setState call
//     per proposal, each client one call at a time; then with flowRuns.setStates, 100 runs' proposals
//     per call. Every proposal is decided on its own (the rules, a history row, a run update); the
//     server writes the proposals that arrive together in one statement.
// (b) batched ingestion through ingest.batch: batches of 1,000 task runs with 2,000 states
//     (RUNNING, COMPLETED), and batches of 1,000 log lines, from 1 and 4 concurrent clients.
// For reference, pgbench's single-row INSERT tps on the same PostgreSQL (1/4/8 clients, 5 s each),
// and the ratios. Client, server and PostgreSQL share this machine's CPUs.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createApiClient, type ApiClient } from "@flowplane/client";
import { uuidv7 } from "@flowplane/core";
import { ensureTemplateDatabase } from "@flowplane/db/testing";
import { startTestServer, benchmarkServerConfig } from "../harness.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 2_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 50);
const PROPOSAL_CLIENTS = [1, 4, 8, 32];
/** setStates: clients, and proposals per call. */
const BATCHED_PROPOSAL_CLIENTS = [1, 4];
const PROPOSALS_PER_CALL = 100;
const INGEST_CLIENTS = [1, 4];
const PGBENCH_CLIENTS = [1, 4, 8];

const run = promisify(execFile);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

interface ProposalResult {
  clients: number;
  /** Proposals per call: 1 for setState, more for setStates. */
  perCall: number;
  proposals: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

interface IngestResult {
  kind: "task states" | "log lines";
  clients: number;
  batches: number;
  rows: number;
  seconds: number;
  perSecond: number;
  batchP50Ms: number;
}

async function inParallel<T>(clients: number, work: (client: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: clients }, (_, i) => work(i)));
}

async function benchProposals(clients: ApiClient[], runs: number, perCall = 1): Promise<ProposalResult> {
  // Untimed: the runs to drive, created `clients` at a time.
  const ids: string[] = [];
  const perClient = Math.ceil(runs / clients.length);
  await inParallel(clients.length, async (c) => {
    for (let i = 0; i < perClient; i++)
      ids.push((await clients[c]!.flowRuns.create.mutate({ flowName: "bench-proposals" })).id);
  });
  const latencies: number[] = [];
  let proposals = 0;
  let next = 0;
  const propose = async (api: ApiClient, batch: string[], type: "RUNNING" | "COMPLETED") => {
    const t0 = performance.now();
    const answers =
      perCall === 1
        ? [await api.flowRuns.setState.mutate({ id: batch[0]!, state: { type } })]
        : await api.flowRuns.setStates.mutate({ proposals: batch.map((id) => ({ id, state: { type } })) });
    latencies.push(performance.now() - t0);
    proposals += batch.length;
    answers.forEach((answer, i) => {
      if (!("decision" in answer) || answer.decision !== "ACCEPT")
        throw new Error(`${type} for ${batch[i]}: ${JSON.stringify(answer)}`);
    });
  };
  const started = performance.now();
  await inParallel(clients.length, async (c) => {
    const api = clients[c]!;
    for (
      let i = next, batch = ids.slice(i, i + perCall);
      batch.length > 0;
      i = next, batch = ids.slice(i, i + perCall)
    ) {
      next += perCall;
      await propose(api, batch, "RUNNING");
      await propose(api, batch, "COMPLETED");
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    clients: clients.length,
    perCall,
    proposals,
    seconds,
    perSecond: proposals / seconds,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
  };
}

async function benchIngest(
  kind: IngestResult["kind"],
  clients: ApiClient[],
  flowRunIds: string[],
  batches: number,
): Promise<IngestResult> {
  const batchMs: number[] = [];
  let rows = 0;
  let next = 0;
  const started = performance.now();
  await inParallel(clients.length, async (c) => {
    const api = clients[c]!;
    const flowRunId = flowRunIds[c]!;
    for (let b = next++; b < batches; b = next++) {
      const t = Date.now();
      const iso = (ms: number) => new Date(t + ms).toISOString();
      let payload: Parameters<ApiClient["ingest"]["batch"]["mutate"]>[0];
      let expected: number;
      if (kind === "task states") {
        const taskRuns = Array.from({ length: 1000 }, () => {
          const id = uuidv7();
          return { id, flowRunId, name: "work", taskKey: "work", dynamicKey: id, tags: [], createdAt: iso(0) };
        });
        payload = {
          taskRuns,
          taskRunStates: taskRuns.flatMap((tr) => [
            { id: uuidv7(), taskRunId: tr.id, type: "RUNNING" as const, name: "Running", timestamp: iso(1) },
            { id: uuidv7(), taskRunId: tr.id, type: "COMPLETED" as const, name: "Completed", timestamp: iso(2) },
          ]),
        };
        expected = 2000;
      } else {
        payload = {
          logs: Array.from({ length: 1000 }, (_, i) => ({
            id: uuidv7(),
            flowRunId,
            name: "bench",
            level: 20,
            message: `line ${i} of batch ${b}: some typical log text of moderate length`,
            timestamp: iso(i),
          })),
        };
        expected = 1000;
      }
      const t0 = performance.now();
      const result = await api.ingest.batch.mutate(payload);
      batchMs.push(performance.now() - t0);
      const stored = kind === "task states" ? result.taskRunStates : result.logs;
      if (stored !== expected) throw new Error(`${kind}: stored ${stored} of ${expected}`);
      rows += stored;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    kind,
    clients: clients.length,
    batches,
    rows,
    seconds,
    perSecond: rows / seconds,
    batchP50Ms: pct(batchMs, 50),
  };
}

async function pgbench(url: string): Promise<{ clients: number; tps: number }[] | null> {
  try {
    await run("pgbench", ["--version"]);
  } catch {
    return null;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "flowplane-pgbench-"));
  try {
    const script = path.join(dir, "insert.sql");
    await writeFile(script, "INSERT INTO bench_scratch (payload) VALUES ('x');\n");
    const results: { clients: number; tps: number }[] = [];
    for (const clients of PGBENCH_CLIENTS) {
      const { stdout } = await run("pgbench", [
        "-n",
        "-f",
        script,
        "-c",
        String(clients),
        "-j",
        String(Math.min(clients, os.cpus().length)),
        "-T",
        "5",
        url,
      ]);
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout);
      if (!tps) throw new Error(`cannot read pgbench output:\n${stdout}`);
      results.push({ clients, tps: Number(tps[1]) });
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await ensureTemplateDatabase();
const server = await startTestServer(benchmarkServerConfig);
try {
  const { key } = await server.api.apiKeys.create.mutate({ name: "bench-worker", scope: "WORKER" });
  const connect = () => createApiClient({ ...server.connection, apiKey: key });
  const pg = (await server.db.pool.query<{ v: string }>("select current_setting($1) AS v", ["server_version"])).rows[0]!
    .v;
  const settings = (
    await server.db.pool.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit')",
    )
  ).rows;
  console.log(
    `Flowplane API throughput: node ${process.version}, PostgreSQL ${pg} (${settings.map((s) => `${s.name}=${s.setting}`).join(", ")}), ${os.cpus().length} CPUs shared by client, server and database\n`,
  );

  // Warm-up: JIT, connection pools, plans.
  await benchProposals([connect(), connect()], 100);

  const proposals: ProposalResult[] = [];
  for (const c of PROPOSAL_CLIENTS) {
    const r = await benchProposals(Array.from({ length: c }, connect), RUNS);
    proposals.push(r);
    console.log(
      `proposals  ${String(c).padStart(2)} clients  ${r.perSecond.toFixed(0).padStart(6)} proposals/s   (setState; ${r.proposals} in ${r.seconds.toFixed(2)} s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms)`,
    );
  }
  for (const c of BATCHED_PROPOSAL_CLIENTS) {
    const r = await benchProposals(Array.from({ length: c }, connect), RUNS * 5, PROPOSALS_PER_CALL);
    proposals.push(r);
    console.log(
      `proposals  ${String(c).padStart(2)} clients  ${r.perSecond.toFixed(0).padStart(6)} proposals/s   (setStates × ${PROPOSALS_PER_CALL}; ${r.proposals} in ${r.seconds.toFixed(2)} s, call p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms)`,
    );
  }

  const runIds = await Promise.all(
    INGEST_CLIENTS.flatMap(() => [0, 1, 2, 3]).map(
      async () => (await connect().flowRuns.create.mutate({ flowName: "bench-ingest", state: { type: "RUNNING" } })).id,
    ),
  );
  await benchIngest("task states", [connect()], runIds, 2); // warm-up
  await benchIngest("log lines", [connect()], runIds, 2);
  const ingestion: IngestResult[] = [];
  for (const kind of ["task states", "log lines"] as const) {
    for (const c of INGEST_CLIENTS) {
      const r = await benchIngest(kind, Array.from({ length: c }, connect), runIds, BATCHES);
      ingestion.push(r);
      console.log(
        `${kind.padEnd(11)} ${String(c).padStart(2)} clients  ${r.perSecond.toFixed(0).padStart(6)} ${kind}/s   (${r.rows} in ${r.seconds.toFixed(2)} s, ${r.batches} batches, batch p50 ${r.batchP50Ms.toFixed(0)} ms)`,
      );
    }
  }

  await server.db.pool.query(
    "CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
  );
  const reference = await pgbench(server.db.url);
  const ratios: Record<string, number> = {};
  if (reference) {
    for (const r of reference)
      console.log(
        `pgbench    ${String(r.clients).padStart(2)} clients  ${r.tps.toFixed(0).padStart(6)} single-row INSERT tps`,
      );
    const tpsAt = (c: number) =>
      reference.find((r) => r.clients === c)?.tps ?? Math.max(...reference.map((r) => r.tps));
    // The raw limit: the best single-row INSERT rate over pgbench's client counts.
    const limit = Math.max(...reference.map((r) => r.tps));
    console.log(`pgbench limit (best of the above): ${limit.toFixed(0)} tps`);
    for (const p of proposals)
      ratios[
        `proposals/s (${p.perCall === 1 ? "setState" : `setStates × ${p.perCall}`}) @${p.clients} ÷ insert limit`
      ] = p.perSecond / limit;
    for (const i of ingestion) ratios[`${i.kind}/s @${i.clients} ÷ insert limit`] = i.perSecond / limit;
    for (const i of ingestion)
      ratios[`${i.kind}/s @${i.clients} ÷ insert tps @${i.clients}`] = i.perSecond / tpsAt(i.clients);
    console.log("\nratios to pgbench (rows or proposals per second ÷ single-row INSERT transactions per second)");
    for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(56)} ${v.toFixed(2)}`);
  } else {
    console.log("pgbench not found: no reference figures");
  }

  const best = (xs: { perSecond: number }[]) => Math.max(...xs.map((x) => x.perSecond));
  const summary = {
    command: "npx tsx e2e/bench/api-throughput.ts",
    node: process.version,
    postgres: pg,
    cpus: os.cpus().length,
    proposalsPerSecond: Math.round(best(proposals)),
    taskStatesPerSecond: Math.round(best(ingestion.filter((i) => i.kind === "task states"))),
    logLinesPerSecond: Math.round(best(ingestion.filter((i) => i.kind === "log lines"))),
    proposals,
    ingestion,
    pgbench: reference,
    ratios,
  };
  console.log(`\n${JSON.stringify(summary, null, 2)}`);
} finally {
  await server.close();
}
process.exit(0);
