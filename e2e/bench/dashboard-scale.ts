// The dashboard at scale: 1,000,000 flow runs, one run of 10,000 task runs, and 10,000,000 task-run
// states in all (the big run's, and ten task runs of three states under each of the oldest finished
// runs) in a fresh test database, then (1) the runs page's API calls, each timed over 50 calls through the real HTTP
// server, and (2) the run timeline's render in Chromium, from the task runs' arrival to the canvas
// drawn. Prints a table and writes e2e/artifacts/dashboard-scale.json.
//
//   npx tsx e2e/bench/dashboard-scale.ts [--runs 1000000] [--tasks 10000] [--task-states 10000000] [--calls 50] [--try-index]
//
// Not a test: figures depend on the machine. Needs PostgreSQL on 127.0.0.1:5432 and /usr/bin/chromium.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { compactFlowRunCounts } from "@flowplane/api";
import { ensureTemplateDatabase } from "@flowplane/db/testing";
import { dashboardDir, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "../dashboard-support.ts";
import { repoRoot, startTestServer, type TestServer, benchmarkServerConfig } from "../harness.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "1000000" },
    tasks: { type: "string", default: "10000" },
    "task-states": { type: "string", default: "10000000" },
    calls: { type: "string", default: "50" },
    renders: { type: "string", default: "5" },
    // Also time the chart query with a candidate covering index, created in the throwaway database.
    "try-index": { type: "boolean", default: false },
  },
});
const RUNS = Number(args.runs);
const TASKS = Number(args.tasks);
const TASK_STATES = Number(args["task-states"]);
/** Task runs under each background flow run (each with PENDING, RUNNING and COMPLETED states). */
const TASKS_PER_RUN = 10;
const CALLS = Number(args.calls);
const RENDERS = Number(args.renders);
const FLOWS = 20;
const DEPLOYMENTS = 10;

// A UUIDv7-shaped id from a timestamp expression, so id order is time order as in the app.
const uuid7 = (tsExpr: string) =>
  `(lpad(to_hex((extract(epoch from ${tsExpr}) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

interface Timing {
  name: string;
  p50: number;
  p95: number;
  max: number;
  rows: number;
}

async function time(
  name: string,
  call: () => Promise<unknown>,
  count = (r: unknown) =>
    Array.isArray(r)
      ? r.length
      : ((r as { items?: unknown[]; rows?: unknown[] }).items ?? (r as { rows?: unknown[] }).rows ?? []).length,
): Promise<Timing> {
  for (let i = 0; i < 3; i++) await call(); // warm-up: connection, plan cache
  const samples: number[] = [];
  let rows = 0;
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const r = await call();
    samples.push(performance.now() - t);
    rows = count(r);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    p50: percentile(samples, 0.5),
    p95: percentile(samples, 0.95),
    max: samples[samples.length - 1]!,
    rows,
  };
}

async function seed(
  server: TestServer,
): Promise<{ workspaceId: string; deploymentId: string; bigRunId: string; flowNames: string[] }> {
  const sql = server.db.pool;
  const ws = (await sql.query<{ id: string }>(`SELECT id FROM "Workspace" WHERE name = 'default'`)).rows[0]!.id;
  await server.api.workPools.create.mutate({ name: "bench", type: "process" });
  const flowNames = Array.from({ length: FLOWS }, (_, i) => `flow-${String(i).padStart(2, "0")}`);
  for (let i = 0; i < DEPLOYMENTS; i++) {
    await server.api.deployments.upsert.mutate({
      flowName: flowNames[i]!,
      name: "prod",
      entrypoint: "examples/hello.ts:hello",
      path: repoRoot,
      workPoolName: "bench",
    });
  }
  for (const name of flowNames.slice(DEPLOYMENTS))
    await sql.query(
      `INSERT INTO "Flow" (id, "workspaceId", name, "updatedAt") VALUES (gen_random_uuid(), $1, $2, now())`,
      [ws, name],
    );
  const flows = (
    await sql.query<{ id: string; name: string }>(
      `SELECT id, name FROM "Flow" WHERE "workspaceId" = $1 ORDER BY name`,
      [ws],
    )
  ).rows;
  const deployments = (
    await sql.query<{ id: string; flowId: string }>(`SELECT id, "flowId" FROM "Deployment" WHERE "workspaceId" = $1`, [
      ws,
    ])
  ).rows;
  const depByFlow = new Map(deployments.map((d) => [d.flowId, d.id]));
  const flowIds = flows.map((f) => f.id);
  const depIds = flows.map((f) => depByFlow.get(f.id) ?? null);

  const t0 = performance.now();
  // Runs spread over the last 30 days (a few scheduled in the next day), mostly finished.
  const batch = 250_000;
  for (let start = 0; start < RUNS; start += batch) {
    const end = Math.min(RUNS, start + batch) - 1;
    await sql.query(
      `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "stateType", "stateName", "stateTimestamp", tags,
                              "expectedStartTime", "nextScheduledTime", "startTime", "endTime", "runCount", "createdAt", "updatedAt")
       SELECT ${uuid7("t.ts")}, $1, ($2::uuid[])[1 + g % ${FLOWS}], 'run-' || g, ($3::uuid[])[1 + g % ${FLOWS}],
              s.state::"StateType", initcap(s.state), t.ts, CASE WHEN g % 3 = 0 THEN ARRAY['nightly'] WHEN g % 7 = 0 THEN ARRAY['eu','adhoc'] ELSE ARRAY[]::text[] END,
              t.ts, t.ts,
              CASE WHEN s.state IN ('SCHEDULED','PENDING') THEN NULL ELSE t.ts END,
              CASE WHEN s.state IN ('COMPLETED','FAILED','CRASHED','CANCELLED') THEN t.ts + (g % 600) * interval '1 second' END,
              CASE WHEN s.state IN ('SCHEDULED','PENDING') THEN 0 ELSE 1 END, t.ts, t.ts
         FROM generate_series($4::int, $5::int) AS g
         CROSS JOIN LATERAL (SELECT now() - interval '30 days' + (g::float8 / $6) * interval '30 days' AS ts) t
         CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 80 THEN 'COMPLETED' WHEN g % 100 < 88 THEN 'FAILED' WHEN g % 100 < 91 THEN 'CRASHED'
                                         WHEN g % 100 < 93 THEN 'CANCELLED' WHEN g % 100 < 96 THEN 'SCHEDULED' WHEN g % 100 < 98 THEN 'RUNNING' ELSE 'PENDING' END AS state) s`,
      [ws, flowIds, depIds, start, end, RUNS],
    );
    process.stderr.write(`  seeded ${end + 1} flow runs\n`);
  }
  const seedRunsMs = performance.now() - t0;

  // One big run: TASKS task runs in waves of 50 concurrent, every 97th retried, every 500th a sub-flow.
  const big = (
    await sql.query<{ id: string }>(
      `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "stateType", "stateName", "stateTimestamp", tags, "expectedStartTime", "startTime", "endTime", "runCount", "updatedAt")
     VALUES (${uuid7("now()")}, $1, $2, 'ten-thousand-tasks', 'COMPLETED', 'Completed', now(), ARRAY['bench'], now() - interval '20 minutes', now() - interval '20 minutes', now(), 1, now()) RETURNING id`,
      [ws, flowIds[0]],
    )
  ).rows[0]!.id;
  await sql.query(
    `INSERT INTO "TaskRun" (id, "workspaceId", "flowRunId", name, "taskKey", "dynamicKey", "stateType", "stateName", "stateTimestamp", tags, "runCount", "startTime", "endTime", "createdAt", "updatedAt")
     SELECT ${uuid7("st")}, $1, $2, 'process_item-' || g, 'process_item', g::text,
            CASE WHEN g % 211 = 0 THEN 'FAILED' ELSE 'COMPLETED' END::"StateType", CASE WHEN g % 211 = 0 THEN 'Failed' ELSE 'Completed' END, st + d, ARRAY[]::text[],
            CASE WHEN g % 97 = 0 THEN 3 ELSE 1 END, st, st + d, st, st + d
       FROM generate_series(0, $3::int - 1) g
       CROSS JOIN LATERAL (SELECT now() - interval '20 minutes' + (g / 50) * interval '230 milliseconds' + (g % 50) * interval '3 milliseconds' AS st,
                                  (150 + (g * 37) % 400) * interval '1 millisecond' AS d) x`,
    [ws, big, TASKS],
  );
  await sql.query(
    `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "parentTaskRunId", "stateType", "stateName", "stateTimestamp", "expectedStartTime", "startTime", "endTime", "runCount", "updatedAt")
     SELECT gen_random_uuid(), $1, $2, 'sub-' || tr."dynamicKey", tr.id, 'COMPLETED', 'Completed', tr."endTime", tr."startTime", tr."startTime", tr."endTime", 1, now()
       FROM "TaskRun" tr WHERE tr."flowRunId" = $3 AND tr."dynamicKey"::int % 500 = 0`,
    [ws, flowIds[1], big],
  );
  const seedHistoryMs = await seedTaskRunHistory(server, ws, big);
  const t1 = performance.now();
  // The inserts' triggers left count deltas; the server's compaction loop folds them in every few
  // seconds, and may have done so during the seeding. Fold the rest now, as in a steady state.
  const compaction = await compactFlowRunCounts(sql);
  const compactMs = performance.now() - t1;
  const countRows = (
    await sql.query<{ rollup: number; delta: number }>(
      `SELECT (SELECT count(*) FROM "FlowRunCountRollup")::int AS rollup, (SELECT count(*) FROM "FlowRunCountDelta")::int AS delta`,
    )
  ).rows[0]!;
  const t2 = performance.now();
  for (const table of ["FlowRun", "TaskRun", "State", "FlowRunCountRollup", "FlowRunCountDelta"])
    await sql.query(`VACUUM ANALYZE "${table}"`);
  process.stderr.write(
    `  seeded in ${((t1 - t0) / 1000).toFixed(1)} s (flow runs ${(seedRunsMs / 1000).toFixed(1)} s, task-run history ${(seedHistoryMs / 1000).toFixed(1)} s); last compaction ${compaction.deltas} deltas in ${compactMs.toFixed(0)} ms, ` +
      `${countRows.rollup} rollup rows, ${countRows.delta} pending; analyzed in ${((performance.now() - t2) / 1000).toFixed(1)} s\n`,
  );
  return { workspaceId: ws, deploymentId: deployments[0]!.id, bigRunId: big, flowNames };
}

/**
 * Task runs with their state histories until TASK_STATES task-run states exist: the big run's task
 * runs get PENDING, RUNNING and COMPLETED (FAILED for the failed ones), and TASKS_PER_RUN task runs
 * with three states each go under the oldest finished flow runs, in chunks (progress on stderr).
 */
async function seedTaskRunHistory(server: TestServer, ws: string, bigRunId: string): Promise<number> {
  const sql = server.db.pool;
  const t0 = performance.now();
  const states = (
    taskRunFilter: string,
  ) => `INSERT INTO "State" (id, "workspaceId", "taskRunId", type, name, timestamp, details)
     SELECT ${uuid7("tr.\"startTime\" + v.n * interval '1 millisecond'")}, tr."workspaceId", tr.id,
            (CASE WHEN v.n = 2 THEN tr."stateType"::text ELSE v.type END)::"StateType", CASE WHEN v.n = 2 THEN tr."stateName" ELSE initcap(v.type) END,
            tr."startTime" + v.n * interval '1 millisecond', '{}'::jsonb
       FROM "TaskRun" tr CROSS JOIN (VALUES (0, 'PENDING'), (1, 'RUNNING'), (2, 'COMPLETED')) AS v(n, type)
      WHERE ${taskRunFilter}`;
  await sql.query(states(`tr."flowRunId" = $1`), [bigRunId]);
  const background = Math.max(0, Math.ceil(TASK_STATES / 3) - TASKS);
  const runIds = (
    await sql.query<{ id: string }>(
      `SELECT id FROM "FlowRun" WHERE "workspaceId" = $1 AND "stateType" = 'COMPLETED' AND "parentTaskRunId" IS NULL AND id <> $2 ORDER BY id LIMIT $3`,
      [ws, bigRunId, Math.ceil(background / TASKS_PER_RUN)],
    )
  ).rows.map((r) => r.id);
  const chunk = 25_000;
  for (let i = 0; i < runIds.length; i += chunk) {
    const ids = runIds.slice(i, i + chunk);
    await sql.query(
      `WITH inserted AS (
         INSERT INTO "TaskRun" (id, "workspaceId", "flowRunId", name, "taskKey", "dynamicKey", "stateType", "stateName", "stateTimestamp", tags, "runCount", "startTime", "endTime", "createdAt", "updatedAt")
         SELECT ${uuid7("fr.\"startTime\" + k * interval '2 seconds'")}, fr."workspaceId", fr.id, 'step-' || k, 'step', k::text, 'COMPLETED', 'Completed',
                fr."startTime" + k * interval '2 seconds' + interval '1 second', ARRAY[]::text[], 1,
                fr."startTime" + k * interval '2 seconds', fr."startTime" + k * interval '2 seconds' + interval '1 second', fr."startTime", fr."startTime"
           FROM "FlowRun" fr CROSS JOIN generate_series(0, ${TASKS_PER_RUN - 1}) AS k
          WHERE fr.id = ANY($1::uuid[])
         RETURNING id
       )
       SELECT count(*) FROM inserted`,
      [ids],
    );
    await sql.query(states(`tr."flowRunId" = ANY($1::uuid[])`), [ids]);
    process.stderr.write(
      `  seeded ${Math.min(runIds.length, i + chunk) * TASKS_PER_RUN + TASKS} task runs with their states\n`,
    );
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  ensureDashboardBuilt();
  await ensureTemplateDatabase();
  const server = await startTestServer({ dashboardDir, ...benchmarkServerConfig });
  const report: Record<string, unknown> = {
    runs: RUNS,
    tasks: TASKS,
    calls: CALLS,
    node: process.version,
    at: new Date().toISOString(),
  };
  try {
    process.stderr.write(`seeding ${RUNS} flow runs and a run of ${TASKS} task runs…\n`);
    const { deploymentId, bigRunId, flowNames } = await seed(server);
    const api = server.api;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const firstPage = await api.flowRuns.list.query({ limit: 50 });
    const deepCursor = (await api.flowRuns.list.query({ limit: 500, cursor: firstPage.nextCursor! })).nextCursor!;
    const HOUR = 3_600_000;
    const DAY = 24 * HOUR;

    process.stderr.write(`timing API calls (${CALLS} each)…\n`);
    const calls: Timing[] = [];
    const bench = async (name: string, call: () => Promise<unknown>) => {
      const t = await time(name, call);
      calls.push(t);
      process.stderr.write(
        `  ${name.padEnd(56)} p50 ${t.p50.toFixed(1).padStart(7)} ms  p95 ${t.p95.toFixed(1).padStart(7)} ms  (${t.rows} rows)\n`,
      );
    };
    // What the runs page sends: the list (first page and a later page), the same with each filter, and the chart.
    await bench("flowRuns.list (no filter)", () => api.flowRuns.list.query({ limit: 50 }));
    await bench("flowRuns.list (page 2, cursor)", () =>
      api.flowRuns.list.query({ limit: 50, cursor: firstPage.nextCursor! }),
    );
    await bench("flowRuns.list (deep cursor)", () => api.flowRuns.list.query({ limit: 50, cursor: deepCursor }));
    await bench("flowRuns.list state=FAILED", () => api.flowRuns.list.query({ limit: 50, states: ["FAILED"] }));
    await bench("flowRuns.list state=RUNNING,PENDING", () =>
      api.flowRuns.list.query({ limit: 50, states: ["RUNNING", "PENDING"] }),
    );
    await bench("flowRuns.list flow=flow-15 (by name)", () =>
      api.flowRuns.list.query({ limit: 50, flowName: flowNames[15]! }),
    );
    await bench("flowRuns.list deployment", () => api.flowRuns.list.query({ limit: 50, deploymentId }));
    await bench("flowRuns.list tags=nightly", () => api.flowRuns.list.query({ limit: 50, tags: ["nightly"] }));
    await bench("flowRuns.list tags=eu,adhoc", () => api.flowRuns.list.query({ limit: 50, tags: ["eu", "adhoc"] }));
    await bench("flowRuns.list last 24 h", () => api.flowRuns.list.query({ limit: 50, from: iso(now - DAY) }));
    await bench("flowRuns.list custom window 3 days ago (1 h)", () =>
      api.flowRuns.list.query({ limit: 50, from: iso(now - 3 * DAY), to: iso(now - 3 * DAY + HOUR) }),
    );
    await bench("flowRuns.list custom window 25-20 days ago", () =>
      api.flowRuns.list.query({ limit: 50, from: iso(now - 25 * DAY), to: iso(now - 20 * DAY) }),
    );
    await bench("flowRuns.list state=FAILED + flow + 7 d", () =>
      api.flowRuns.list.query({ limit: 50, states: ["FAILED"], flowName: flowNames[3]!, from: iso(now - 7 * DAY) }),
    );
    await bench("flowRuns.counts 1 h / 60 buckets", () =>
      api.flowRuns.counts.query({ from: iso(now - HOUR), to: iso(now), buckets: 60 }),
    );
    await bench("flowRuns.counts 24 h / 48 buckets", () =>
      api.flowRuns.counts.query({ from: iso(now - DAY), to: iso(now), buckets: 48 }),
    );
    await bench("flowRuns.counts 7 d / 56 buckets (default view)", () =>
      api.flowRuns.counts.query({ from: iso(now - 7 * DAY), to: iso(now), buckets: 56 }),
    );
    await bench("flowRuns.counts 30 d / 60 buckets (all 1M runs)", () =>
      api.flowRuns.counts.query({ from: iso(now - 30 * DAY), to: iso(now + DAY), buckets: 60 }),
    );
    // The dashboard's presets (apps/dashboard/src/lib/time-range.ts): windows aligned to their buckets, with the page's filters.
    const preset = (span: number, bucketMs: number) => ({
      from: iso(Math.ceil((now + 1) / bucketMs) * bucketMs - span),
      to: iso(Math.ceil((now + 1) / bucketMs) * bucketMs),
      buckets: span / bucketMs,
    });
    await bench("flowRuns.counts 24 h preset, flow=flow-15", () =>
      api.flowRuns.counts.query({ ...preset(DAY, HOUR / 2), flowName: flowNames[15]! }),
    );
    await bench("flowRuns.counts 7 d preset (3 h buckets)", () => api.flowRuns.counts.query(preset(7 * DAY, 3 * HOUR)));
    await bench("flowRuns.counts 7 d preset, state=FAILED", () =>
      api.flowRuns.counts.query({ ...preset(7 * DAY, 3 * HOUR), states: ["FAILED"] }),
    );
    await bench("flowRuns.counts 7 d preset, flow=flow-15", () =>
      api.flowRuns.counts.query({ ...preset(7 * DAY, 3 * HOUR), flowName: flowNames[15]! }),
    );
    await bench("flowRuns.counts 30 d preset (12 h buckets)", () =>
      api.flowRuns.counts.query(preset(30 * DAY, 12 * HOUR)),
    );
    await bench("flowRuns.counts 30 d preset, deployment", () =>
      api.flowRuns.counts.query({ ...preset(30 * DAY, 12 * HOUR), deploymentId }),
    );
    await bench("flowRuns.counts 30 d preset, state=FAILED + flow", () =>
      api.flowRuns.counts.query({ ...preset(30 * DAY, 12 * HOUR), states: ["FAILED"], flowName: flowNames[3]! }),
    );
    await bench("flows.list + deployments.list (filter menus)", () =>
      Promise.all([api.flows.list.query(), api.deployments.list.query()]).then(([f]) => f),
    );
    await bench(`taskRuns.list (run of ${TASKS} task runs)`, () =>
      api.taskRuns.list.query({ flowRunId: bigRunId, limit: 20_000 }),
    );
    // Reads through the task-run state history (TASK_STATES rows in the State table).
    const probe = (
      await server.db.pool.query<{ bigTask: string; small: string; smallTask: string; states: number }>(
        `SELECT (SELECT id FROM "TaskRun" WHERE "flowRunId" = $1 ORDER BY id OFFSET $2 LIMIT 1) AS "bigTask",
              s."flowRunId" AS small, s.id AS "smallTask", (SELECT count(*)::int FROM "State" WHERE "taskRunId" IS NOT NULL) AS states
         FROM (SELECT id, "flowRunId" FROM "TaskRun" WHERE "flowRunId" <> $1 ORDER BY id DESC LIMIT 1) s`,
        [bigRunId, Math.floor(TASKS / 2)],
      )
    ).rows[0]!;
    report.taskRunStates = probe.states;
    await bench(`taskRuns.history (a task run of the big run; ${probe.states} task-run states stored)`, () =>
      api.taskRuns.history.query({ id: probe.bigTask }),
    );
    await bench("taskRuns.history (a task run of an older run)", () =>
      api.taskRuns.history.query({ id: probe.smallTask }),
    );
    await bench(`taskRuns.list (an older run of ${TASKS_PER_RUN} task runs)`, () =>
      api.taskRuns.list.query({ flowRunId: probe.small }),
    );
    await bench("flowRuns.get (an older run)", () => api.flowRuns.get.query({ id: probe.small }));
    report.api = calls;

    if (args["try-index"]) {
      const sql = server.db.pool;
      const explain = async () =>
        (
          await sql.query<{ "QUERY PLAN": string }>(
            `EXPLAIN (ANALYZE, BUFFERS) SELECT floor(extract(epoch FROM ("expectedStartTime" - $2::timestamptz)) * 1000 / $4)::int AS bucket, "stateType", count(*)::int AS n
             FROM "FlowRun" WHERE "workspaceId" = $1 AND "expectedStartTime" >= $2 AND "expectedStartTime" < $3 GROUP BY 1, 2 ORDER BY 1`,
            [
              (await sql.query<{ id: string }>(`SELECT id FROM "Workspace" WHERE name = 'default'`)).rows[0]!.id,
              iso(now - 7 * DAY),
              iso(now),
              (7 * DAY) / 56,
            ],
          )
        ).rows
          .map((r) => r["QUERY PLAN"])
          .join("\n");
      report.countsPlanBefore = await explain();
      process.stderr.write(`counts (7 d) plan as is:\n${report.countsPlanBefore as string}\n`);
      await sql.query(
        `CREATE INDEX "FlowRun_workspaceId_expectedStartTime_stateType_idx" ON "FlowRun" ("workspaceId", "expectedStartTime", "stateType")`,
      );
      await sql.query(`VACUUM ANALYZE "FlowRun"`);
      report.countsPlanWithIndex = await explain();
      process.stderr.write(`counts (7 d) plan with a covering index:\n${report.countsPlanWithIndex as string}\n`);
      const withIndex: Timing[] = [];
      for (const [name, span, buckets] of [
        ["24 h / 48", DAY, 48],
        ["7 d / 56", 7 * DAY, 56],
        ["30 d / 60", 31 * DAY, 60],
      ] as const) {
        const t = await time(`flowRuns.counts ${name} + covering index`, () =>
          api.flowRuns.counts.query({ from: iso(now - span), to: iso(now), buckets }),
        );
        withIndex.push(t);
        process.stderr.write(
          `  ${t.name.padEnd(56)} p50 ${t.p50.toFixed(1).padStart(7)} ms  p95 ${t.p95.toFixed(1).padStart(7)} ms\n`,
        );
      }
      report.countsWithCoveringIndex = withIndex;
    }

    process.stderr.write(`rendering the timeline in Chromium (${RENDERS} loads)…\n`);
    const browser = await launchBrowser();
    try {
      const page = browser.page;
      await signIn(page, server.url, server.adminKey);
      const t = performance.now();
      await page.goto(`${server.url}/runs`);
      await page.getByTestId("runs-table").locator("tbody tr").first().waitFor({ timeout: 30_000 });
      report.runsPageFirstRowsMs = performance.now() - t;
      const renders: {
        tasks: number;
        lanes: number;
        layoutMs: number;
        totalMs: number;
        frameMs: number | null;
        pageLoadToDrawnMs: number;
      }[] = [];
      for (let i = 0; i < RENDERS; i++) {
        const started = performance.now();
        await page.goto(`${server.url}/runs/${bigRunId}`);
        await page.waitForFunction(
          (n) =>
            (window as unknown as { __flowplaneTimeline?: { tasks: number; frameMs: number | null } })
              .__flowplaneTimeline?.tasks === n &&
            (window as unknown as { __flowplaneTimeline: { frameMs: number | null } }).__flowplaneTimeline.frameMs !==
              null,
          TASKS,
          { timeout: 60_000 },
        );
        const timing = await page.evaluate(
          () =>
            (
              window as unknown as {
                __flowplaneTimeline: {
                  tasks: number;
                  lanes: number;
                  layoutMs: number;
                  totalMs: number;
                  frameMs: number | null;
                };
              }
            ).__flowplaneTimeline,
        );
        renders.push({ ...timing, pageLoadToDrawnMs: performance.now() - started });
        process.stderr.write(
          `  load ${i + 1}: data→drawn ${timing.totalMs.toFixed(1)} ms, data→next frame ${timing.frameMs?.toFixed(1)} ms, layout ${timing.layoutMs.toFixed(1)} ms, ${timing.lanes} lanes; navigation→drawn ${(performance.now() - started).toFixed(0)} ms\n`,
        );
      }
      // A redraw while panning: the cost of one frame at this size.
      const panMs = await page.evaluate(async () => {
        const canvas = document.querySelector("[data-testid=timeline] canvas") as HTMLCanvasElement;
        canvas.focus();
        const t0 = performance.now();
        for (let i = 0; i < 20; i++)
          canvas.dispatchEvent(
            new KeyboardEvent("keydown", { key: i % 2 ? "ArrowRight" : "ArrowDown", bubbles: true }),
          );
        return (performance.now() - t0) / 20;
      });
      report.timeline = renders;
      report.timelinePanFrameMs = panMs;
      process.stderr.write(`  one pan redraw: ${panMs.toFixed(2)} ms\n`);
      await screenshot(page, "bench-timeline-10k");
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
  await mkdir(path.join(repoRoot, "e2e/artifacts"), { recursive: true });
  await writeFile(path.join(repoRoot, "e2e/artifacts/dashboard-scale.json"), JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report, null, 2));
}

await main();
