// Tenant fairness: workspace A's latency while workspace B floods the same server.
//
//   npx tsx e2e/bench/tenant-fairness.ts [requests=400] [floodConnections=128]
//
// A real server process on a fresh database; each workspace has 500 runs. Workspace A reads its
// runs page (`flowRuns.list`, 20 rows) one call at a time, first with B idle (quiet), then while B
// sends the same call from `floodConnections` connections in a closed loop as fast as the server
// answers, ignoring retry hints (a hostile tenant). The flood runs in a worker thread, so its
// client work does not sit on the event loop that times A's calls. Reported: A's p50/p99 quiet and
// flooded and their ratio (goal: p99 within 3x), B's answers per second and their statuses. Run
// once with the server's defaults and once with the fair scheduler and rate limit off, to show
// what the mechanism buys.
import { Worker } from "node:worker_threads";
import { createApiClient } from "@flowplane/client";
import { ensureTemplateDatabase } from "@flowplane/db/testing";
import { startServerProcess, type ServerProcess } from "../support/server-process.ts";

const requests = Number(process.argv[2] ?? 400);
const floodConnections = Number(process.argv[3] ?? 128);

const FLOOD = `
const { workerData, parentPort } = require("node:worker_threads");
const { url, key, connections } = workerData;
let stop = false;
const statuses = {};
parentPort.on("message", () => { stop = true; });
const body = "input=" + encodeURIComponent(JSON.stringify({ limit: 20 }));
async function loop() {
  while (!stop) {
    const res = await fetch(url + "/trpc/flowRuns.list?" + body, { headers: { authorization: "Bearer " + key } }).catch(() => null);
    const label = res ? String(res.status) : "error";
    statuses[label] = (statuses[label] || 0) + 1;
    if (res) await res.arrayBuffer();
  }
}
Promise.all(Array.from({ length: connections }, loop)).then(() => parentPort.postMessage(statuses));
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeCalls(server: ServerProcess, key: string, n: number): Promise<{ p50: number; p99: number }> {
  const input = "input=" + encodeURIComponent(JSON.stringify({ limit: 20 }));
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(`${server.url}/trpc/flowRuns.list?${input}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`workspace A got ${res.status}`);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function seedRuns(server: ServerProcess, workspaceName: string): Promise<void> {
  await server.db.pool.query(
    `WITH f AS (
       INSERT INTO "Flow" (id, "workspaceId", name, "updatedAt")
       SELECT gen_random_uuid(), w.id, 'bench-flow', now() FROM "Workspace" w WHERE w.name = $1
       RETURNING id, "workspaceId")
     INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "stateType", "stateName", "stateTimestamp", "expectedStartTime", "updatedAt")
     SELECT gen_random_uuid(), f."workspaceId", f.id, 'run-' || g, 'COMPLETED', 'Completed', now() - g * interval '1 second',
            now() - g * interval '1 second', now()
       FROM f, generate_series(1, 500) g`,
    [workspaceName],
  );
}

async function scenario(label: string, env: Record<string, string>): Promise<string> {
  const server = await startServerProcess({ FLOWPLANE_LOG_LEVEL: "error", ...env });
  try {
    const admin = createApiClient({ apiUrl: server.url, apiKey: server.adminKey, workspace: "default" });
    const b = await admin.workspaces.create.mutate({ name: "flooder" });
    await seedRuns(server, "default");
    await seedRuns(server, "flooder");
    await server.db.pool.query(`ANALYZE "FlowRun"`);
    await timeCalls(server, server.adminKey, 50); // warm-up
    const quiet = await timeCalls(server, server.adminKey, requests);

    const flood = new Worker(FLOOD, {
      eval: true,
      workerData: { url: server.url, key: b.apiKey, connections: floodConnections },
    });
    const floodStarted = performance.now();
    await new Promise((r) => setTimeout(r, 1_000)); // let the flood reach full speed
    const flooded = await timeCalls(server, server.adminKey, requests);
    flood.postMessage("stop");
    const statuses = (await new Promise((resolve) => flood.once("message", resolve))) as Record<string, number>;
    const seconds = (performance.now() - floodStarted) / 1000;
    await flood.terminate();
    await server.assertHealthy();
    const answered = Object.values(statuses).reduce((a, n) => a + n, 0);
    return (
      `${label}: A quiet p50 ${quiet.p50.toFixed(1)} ms p99 ${quiet.p99.toFixed(1)} ms; ` +
      `A with B flooding from ${floodConnections} connections p50 ${flooded.p50.toFixed(1)} ms p99 ${flooded.p99.toFixed(1)} ms ` +
      `(p99 ratio ${(flooded.p99 / quiet.p99).toFixed(2)}); B ${Math.round(answered / seconds)} answers/s ${JSON.stringify(statuses)}`
    );
  } finally {
    await server.close();
  }
}

await ensureTemplateDatabase();
const only = process.env.BENCH_SCENARIO;
const scenarios: [string, Record<string, string>][] = [
  ["defaults (fair scheduler, rate limit)", {}],
  ["fair scheduler only (rate limit off)", { FLOWPLANE_RATE_LIMIT_PER_SECOND: "0" }],
  [
    "neither (rate limit off, no request scheduling)",
    { FLOWPLANE_RATE_LIMIT_PER_SECOND: "0", FLOWPLANE_REQUEST_CONCURRENCY: "0" },
  ],
];
const results: string[] = [];
for (const [label, env] of scenarios) {
  if (only && !label.startsWith(only)) continue;
  results.push(await scenario(label, env));
}
for (const line of results) console.log(line);
process.exit(0);
