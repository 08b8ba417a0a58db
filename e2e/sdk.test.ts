// The SDK against a real control plane: the example flows run in this process with an ApiTracker
// (and as plain scripts, and through a worker's runner), and everything they report is read back
// through the API — runs, task runs, state histories, sub-flow links, logs, artifacts, cache hits.
// Also: a run survives the server going away mid-run, with every record arriving once it is back.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { ApiTracker, configure, flow, getRunLogger, setTracker, task } from "@flowplane/sdk";
import { daily_etl } from "../examples/daily-etl.ts";
import { orders_pipeline } from "../examples/orders.ts";
import { regional_sales, REGIONS } from "../examples/regional.ts";
import { nightly_warehouse } from "../examples/warehouse.ts";
import {
  exited,
  outputOf,
  repoRoot,
  runCli,
  runDeploymentOnce,
  spawnScript,
  startTestServer,
  waitFor,
  type TestServer,
} from "./harness.ts";

let server: TestServer;
let resultsDir: string;
let tracker: ApiTracker;
let warnings: string[];

beforeAll(async () => {
  server = await startTestServer();
  resultsDir = await mkdtemp(path.join(os.tmpdir(), "flowplane-e2e-results-"));
  configure({ resultsDir, quiet: true });
});

afterAll(async () => {
  setTracker(undefined);
  await server?.close();
  await rm(resultsDir, { recursive: true, force: true });
});

beforeEach(() => {
  warnings = [];
  tracker = new ApiTracker(createApiClient(server.connection), { warn: (m) => warnings.push(m) });
  setTracker(tracker);
});

afterEach(() => {
  tracker.close();
});

type Api = TestServer["api"];
type FlowRunView = Awaited<ReturnType<Api["flowRuns"]["get"]["query"]>>;
type TaskRunRow = Awaited<ReturnType<Api["taskRuns"]["list"]["query"]>>[number];

/** examples/daily-etl.ts's task runs, in the order it starts them. */
const DAILY_ETL_TASKS = ["fetch_api-0", "validate-0", "load_warehouse-0", "notify-0"];

/** The newest run of a flow: runs in this file are sequential, so it is the one just made. */
async function latestRun(flowName: string): Promise<FlowRunView> {
  const { items } = await server.api.flowRuns.list.query({ flowName, limit: 1 });
  const run = items[0];
  if (!run) throw new Error(`no run of ${flowName}`);
  return run;
}

function named(tasks: TaskRunRow[], name: string): TaskRunRow {
  const found = tasks.find((t) => t.name === name);
  if (!found) throw new Error(`no task run ${name} among ${tasks.map((t) => t.name).join(", ")}`);
  return found;
}

async function stateNames(kind: "flow" | "task", id: string): Promise<string[]> {
  const history =
    kind === "flow" ? await server.api.flowRuns.history.query({ id }) : await server.api.taskRuns.history.query({ id });
  return history.map((s) => `${s.type}/${s.name}`);
}

describe("daily_etl in process, tracked", () => {
  it("records the run, its four task runs, fetch_api's retry, logs, prints and the summary artifact", async () => {
    const summary = await daily_etl({ day: "2024-05-01", failFirstAttempts: 1, retryDelayScale: 0.01 });
    expect(summary).toMatchObject({ day: "2024-05-01", fetched: 49, loaded: 43, rejected: 6 });

    const run = await latestRun("daily_etl");
    expect(run.state).toMatchObject({ type: "COMPLETED", name: "Completed" });
    expect(run.parameters).toEqual({ day: "2024-05-01", failFirstAttempts: 1, retryDelayScale: 0.01, refresh: false });
    expect(run.tags).toEqual(["etl"]);
    const flowStates = await stateNames("flow", run.id);
    expect(flowStates.slice(-2)).toEqual(["RUNNING/Running", "COMPLETED/Completed"]);

    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(tasks.map((t) => t.name)).toEqual(DAILY_ETL_TASKS);
    for (const t of tasks) expect(t.stateType, t.name).toBe("COMPLETED");
    const fetch = named(tasks, "fetch_api-0");
    expect(fetch.runCount).toBe(2);
    expect(fetch.tags).toEqual(["api"]);
    expect(named(tasks, "validate-0").runCount).toBe(1);
    expect(await stateNames("task", fetch.id)).toEqual([
      "PENDING/Pending",
      "RUNNING/Running",
      "SCHEDULED/AwaitingRetry",
      "RUNNING/Retrying",
      "COMPLETED/Completed",
    ]);
    expect(await stateNames("task", named(tasks, "notify-0").id)).toEqual([
      "PENDING/Pending",
      "RUNNING/Running",
      "COMPLETED/Completed",
    ]);

    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    const line = (text: string) => {
      const found = logs.filter((l) => l.message.includes(text));
      expect(found, `log lines containing ${JSON.stringify(text)}`).toHaveLength(1);
      return found[0]!;
    };
    // getRunLogger() in the flow body, in fetch_api (the engine's retry warning), in a task body.
    expect(line("processing 2024-05-01")).toMatchObject({ taskRunId: null, level: 20 });
    expect(line("Attempt 1 failed; retry 1/3")).toMatchObject({ taskRunId: fetch.id, level: 30 });
    expect(line("rejected 6 of 49 rows")).toMatchObject({ taskRunId: named(tasks, "validate-0").id, level: 30 });
    expect(line("loaded 43 rows into analytics.transactions partition 2024-05-01")).toMatchObject({
      taskRunId: named(tasks, "load_warehouse-0").id,
      level: 20,
    });
    // console.log captured by logPrints, attributed to the task that printed it.
    expect(line("[#data-eng] daily_etl 2024-05-01: 43 rows loaded")).toMatchObject({
      taskRunId: named(tasks, "notify-0").id,
      level: 20,
    });

    const artifacts = await server.api.artifacts.list.query({ flowRunId: run.id });
    expect(artifacts).toHaveLength(1);
    expect(artifacts[0]).toMatchObject({
      type: "MARKDOWN",
      key: "daily-etl-summary",
      taskRunId: null,
      description: "Run summary for 2024-05-01",
    });
    expect(artifacts[0]!.data).toContain("- loaded: 43");
    expect(warnings).toEqual([]);
  });

  it("serves the same day's fetch from the cache in a later run, recorded as COMPLETED/Cached", async () => {
    const summary = await daily_etl({ day: "2024-05-01" });
    expect(summary).toMatchObject({ fetched: 49, loaded: 43 });

    const run = await latestRun("daily_etl");
    expect(run.state.type).toBe("COMPLETED");
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    const fetch = named(tasks, "fetch_api-0");
    expect(fetch).toMatchObject({ stateType: "COMPLETED", stateName: "Cached", runCount: 0 });
    expect(await stateNames("task", fetch.id)).toEqual(["PENDING/Pending", "COMPLETED/Cached"]);
    expect((await server.api.taskRuns.history.query({ id: fetch.id }))[1]?.details).toMatchObject({
      cacheKey: "fetch_api-2024-05-01",
    });
    // Nothing was fetched, so fetch_api logged nothing.
    const logs = await server.api.logs.list.query({ flowRunId: run.id, taskRunId: fetch.id });
    expect(logs).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

describe("nightly_warehouse: a sub-flow with its own retries", () => {
  it("links refresh_marts' run to the parent's task run, retries only the sub-flow, and keeps logs apart", async () => {
    const result = await nightly_warehouse({ failMartsOnce: true });
    expect(result.marts.map((m) => m.mart)).toEqual(["finance", "marketing", "product"]);

    const parent = await latestRun("nightly_warehouse");
    expect(parent).toMatchObject({ state: { type: "COMPLETED" }, runCount: 1, parentTaskRunId: null });
    const tasks = await server.api.taskRuns.list.query({ flowRunId: parent.id });
    expect(tasks.map((t) => t.name).sort()).toEqual([
      "ingest_source-billing",
      "ingest_source-crm",
      "ingest_source-web_events",
      "refresh_marts-0",
    ]);
    const call = named(tasks, "refresh_marts-0");
    expect(call.stateType).toBe("COMPLETED");
    expect(call.subflowRunId).not.toBeNull();
    expect(await stateNames("task", call.id)).toEqual(["PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"]);

    const child = await server.api.flowRuns.get.query({ id: call.subflowRunId! });
    expect(child).toMatchObject({
      flowName: "refresh_marts",
      parentTaskRunId: call.id,
      parentFlowRunId: parent.id,
      runCount: 2,
      state: { type: "COMPLETED" },
    });
    expect(child.parameters).toEqual({ marts: ["finance", "marketing", "product"], failFirstAttempt: true });
    const childStates = await stateNames("flow", child.id);
    expect(childStates.slice(-5)).toEqual([
      "RUNNING/Running",
      "FAILED/Failed",
      "SCHEDULED/AwaitingRetry",
      "RUNNING/Retrying",
      "COMPLETED/Completed",
    ]);
    const { items: children } = await server.api.flowRuns.list.query({ parentFlowRunId: parent.id });
    expect(children.map((c) => c.id)).toEqual([child.id]);

    // The sub-flow's task runs belong to its own run, not the parent's.
    const childTasks = await server.api.taskRuns.list.query({ flowRunId: child.id });
    expect(childTasks.map((t) => t.name)).toEqual(["build_mart-finance", "build_mart-marketing", "build_mart-product"]);
    for (const t of childTasks) expect(t.stateType).toBe("COMPLETED");

    const parentLogs = await server.api.logs.list.query({ flowRunId: parent.id });
    expect(parentLogs.filter((l) => l.message.startsWith("ingested ") && l.taskRunId === null)).toHaveLength(1);
    expect(parentLogs.filter((l) => l.message.startsWith("copied "))).toHaveLength(3);
    expect(parentLogs.some((l) => l.message.includes("refreshed"))).toBe(false);
    const childLogs = await server.api.logs.list.query({ flowRunId: child.id });
    expect(childLogs.filter((l) => l.message.includes("could not obtain lock") && l.level === 40)).toHaveLength(1);
    expect(childLogs.filter((l) => l.message === "refreshed 3 marts (attempt 2)")).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});

describe("regional_sales: fan-out with .map", () => {
  it("records one task run per region and the ranking table from the submitted task", async () => {
    const ranked = await regional_sales({ concurrency: 2 });
    expect(ranked).toHaveLength(REGIONS.length);

    const run = await latestRun("regional_sales");
    expect(run.state.type).toBe("COMPLETED");
    expect(run.parameters).toEqual({ concurrency: 2 });
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(tasks.map((t) => t.name).sort()).toEqual(
      [...REGIONS.map((r) => `fetch_region-${r}`), "rank_regions-0"].sort(),
    );
    for (const t of tasks) expect(t).toMatchObject({ stateType: "COMPLETED", runCount: 1 });

    const [table] = await server.api.artifacts.list.query({ flowRunId: run.id });
    expect(table).toMatchObject({
      type: "TABLE",
      key: "regional-ranking",
      taskRunId: named(tasks, "rank_regions-0").id,
    });
    const data = table!.data as { columns: string[]; rows: unknown[][] };
    expect(data.columns).toEqual(["rank", "region", "orders", "revenue"]);
    expect(data.rows.map((r) => r[1])).toEqual(ranked.map((r) => r.region));

    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    expect(logs.filter((l) => l.message === `top region: ${ranked[0]!.region}` && l.taskRunId === null)).toHaveLength(
      1,
    );
    expect(warnings).toEqual([]);
  });
});

describe("orders_pipeline: ends in a quality check", () => {
  it("as a plain script with the server in the environment: COMPLETED with a table and a markdown artifact", async () => {
    const child = spawnScript("examples/orders.ts", ["2024-05-02"], server.env);
    expect(await exited(child), outputOf(child)).toBe(0);

    // The script exits as soon as the flow returns: everything must already be on the server.
    const run = await latestRun("orders_pipeline");
    expect(run).toMatchObject({ state: { type: "COMPLETED" }, parameters: { day: "2024-05-02", duplicates: 0 } });
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(tasks.map((t) => `${t.name}:${t.stateType}`)).toEqual([
      "extract_orders-0:COMPLETED",
      "transform_orders-0:COMPLETED",
      "load_orders-0:COMPLETED",
      "quality_check-0:COMPLETED",
    ]);
    const check = named(tasks, "quality_check-0");
    const artifacts = await server.api.artifacts.list.query({ flowRunId: run.id });
    expect(artifacts.map((a) => `${a.type}:${a.key}`)).toEqual([
      "TABLE:orders-quality-checks",
      "MARKDOWN:orders-quality-report",
    ]);
    for (const a of artifacts) expect(a.taskRunId).toBe(check.id);
    const table = artifacts[0]!.data as { columns: string[]; rows: unknown[][] };
    expect(table.columns).toEqual(["check", "status", "observed", "expected"]);
    expect(table.rows.map((r) => r[1])).toEqual(["pass", "pass", "pass", "pass", "pass"]);
    expect(artifacts[1]!.data).toContain("All 5 checks passed.");
    const logs = await server.api.logs.list.query({ flowRunId: run.id, taskRunId: check.id });
    expect(logs.map((l) => l.message)).toEqual(["all 5 quality checks passed"]);
  });

  it("fails the run when a check fails, with the failing check in the artifacts", async () => {
    await expect(orders_pipeline({ day: "2024-05-03", duplicates: 2 })).rejects.toThrow(
      /unique_order_id \(2 duplicates\)/,
    );

    const run = await latestRun("orders_pipeline");
    expect(run.state.type).toBe("FAILED");
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    const check = named(tasks, "quality_check-0");
    expect(check).toMatchObject({ stateType: "FAILED", stateName: "Failed" });
    expect(check.stateMessage).toContain("unique_order_id (2 duplicates)");
    const [table, report] = await server.api.artifacts.list.query({ flowRunId: run.id });
    expect((table!.data as { rows: unknown[][] }).rows.find((r) => r[0] === "unique_order_id")).toEqual([
      "unique_order_id",
      "FAIL",
      "2 duplicates",
      "0 duplicates",
    ]);
    expect(report!.data).toContain("**1 of 5 checks failed:** unique_order_id");
    const errors = await server.api.logs.list.query({ flowRunId: run.id, minLevel: 40 });
    expect(errors.filter((l) => l.taskRunId === check.id)).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});

describe("Prefect-style behaviour against the control plane", () => {
  it("records a task called outside any flow, with its retries, in an implicit flow run", async () => {
    let calls = 0;
    const standalone = task({ name: "standalone_fetch", retries: 1, retryDelaySeconds: 0 }, async (day: string) => {
      if (++calls === 1) throw new Error("flaky");
      return day.length;
    });
    expect(await standalone("2024-05-01")).toBe(10);
    await tracker.flush();
    const run = await latestRun("task:standalone_fetch");
    expect(run.state.type).toBe("COMPLETED");
    const [taskRun] = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(taskRun).toMatchObject({ name: "standalone_fetch-0", stateType: "COMPLETED", runCount: 2 });
  });

  it("stores the edges of futures passed between tasks, and the flowRunName", async () => {
    const produce = task({ name: "e2e_produce" }, async (n: number) => n);
    const combine = task({ name: "e2e_combine" }, async (a: number, b: number) => a + b);
    const wired = flow({ name: "e2e_wired", flowRunName: "wired-run" }, async () => {
      const a = produce.submit(1);
      const b = produce.submit(2);
      return combine(a, b);
    });
    expect(await wired()).toBe(3);
    const run = await latestRun("e2e_wired");
    expect(run.name).toBe("wired-run");
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    const combined = named(tasks, "e2e_combine-0");
    expect(combined.inputTaskRunIds).toEqual([named(tasks, "e2e_produce-0").id, named(tasks, "e2e_produce-1").id]);
    expect(warnings).toEqual([]);
  });
});

describe("a server outage during a run", () => {
  /**
   * Runs `steps` sequential tasks of 100 ms that log and print, stops the server once the first
   * task runs have arrived, and restarts it once `outageMs` have passed and five more steps have
   * started (with `untilFlowReturns`: once the flow function has returned); then counts what reached
   * the server.
   */
  async function runThroughOutage(
    flowName: string,
    steps: number,
    outageMs: number,
    { untilFlowReturns = false } = {},
  ): Promise<void> {
    const outageWarnings: string[] = [];
    tracker.close();
    tracker = new ApiTracker(createApiClient(server.connection), {
      warn: (m) => outageWarnings.push(m),
      flushIntervalMs: 50,
    });
    setTracker(tracker);
    let stepsStarted = 0;
    let flowReturned = false;
    // Step 3 waits for the stop to begin, so the same steps run during the outage however long the
    // first ones took to show on the server (a loaded machine once left fewer than five for it).
    let stopBegun!: () => void;
    const stopping = new Promise<void>((resolve) => (stopBegun = resolve));
    const step = task({ name: "outage_step" }, async (i: number) => {
      stepsStarted++;
      if (i === 3) await stopping;
      getRunLogger().info(`step ${i} working`);
      await new Promise((r) => setTimeout(r, 100));
      console.log(`step ${i} printed`);
      return i;
    });
    const probe = flow({ name: flowName, logPrints: true }, async (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await step(i);
      getRunLogger().info("all steps done");
      flowReturned = true;
      return sum;
    });

    let settled = false;
    const running = probe(steps).finally(() => (settled = true));
    let arrivedBeforeOutage = 0;
    const run = await waitFor("the run's first task runs on the server", async () => {
      const { items } = await server.api.flowRuns.list.query({ flowName, limit: 1 });
      const r = items[0];
      arrivedBeforeOutage = r ? (await server.api.taskRuns.list.query({ flowRunId: r.id })).length : 0;
      return arrivedBeforeOutage >= 3 ? r : null;
    });
    // Counted from when the stop begins: a graceful stop waits for requests in flight, which on a
    // loaded machine can take as long as the remaining steps.
    const startedAtStop = stepsStarted;
    const stopped = server.stopServer();
    stopBegun();
    await stopped;
    try {
      const outageEnds = Date.now() + outageMs;
      await waitFor(untilFlowReturns ? "the flow function to return" : "five more steps to start", async () =>
        untilFlowReturns ? flowReturned : stepsStarted - startedAtStop >= 5,
      );
      await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
      // Tasks kept running (and logging) while the server was down, and the call has not returned:
      // what they reported is waiting in the tracker's buffer (and, if the work is done, the final
      // state is waiting for the server).
      expect(stepsStarted - startedAtStop).toBeGreaterThanOrEqual(5);
      expect(settled).toBe(false);
      expect(arrivedBeforeOutage).toBeLessThan(steps);
    } finally {
      // Even when an assertion above fails, the later tests of this file need the server back.
      await server.restartServer();
    }
    expect(await running).toBe((steps * (steps - 1)) / 2);

    expect((await server.api.flowRuns.get.query({ id: run.id })).state.type).toBe("COMPLETED");
    expect((await stateNames("flow", run.id)).slice(-2)).toEqual(["RUNNING/Running", "COMPLETED/Completed"]);
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(tasks.map((t) => t.name)).toEqual(Array.from({ length: steps }, (_, i) => `outage_step-${i}`));
    let states = 0;
    for (const t of tasks) {
      expect(t).toMatchObject({ stateType: "COMPLETED", runCount: 1 });
      const history = await stateNames("task", t.id);
      expect(history).toEqual(["PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"]);
      states += history.length;
    }
    expect(states).toBe(3 * steps);
    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    const byTask = new Map(tasks.map((t) => [t.id, t.name]));
    expect(logs.filter((l) => /^step \d+ working$/.test(l.message))).toHaveLength(steps);
    expect(logs.filter((l) => /^step \d+ printed$/.test(l.message))).toHaveLength(steps);
    for (const l of logs.filter((x) => x.message.startsWith("step "))) {
      expect(byTask.get(l.taskRunId!), l.message).toBe(`outage_step-${l.message.split(" ")[1]}`);
    }
    expect(logs.filter((l) => l.message === "all steps done" && l.taskRunId === null)).toHaveLength(1);
    expect(logs).toHaveLength(2 * steps + 1);
    // Batches were retried; nothing was dropped, refused or given up on.
    expect(outageWarnings.filter((w) => /dropped|rejected|gave up/.test(w))).toEqual([]);
  }

  it("neither fails the run nor loses a task run, state or log line", { timeout: 60_000 }, async () => {
    await runThroughOutage("outage_mid_run", 30, 1_500);
  });

  it(
    "holds the final state until the server is back when the run ends during the outage",
    { timeout: 60_000 },
    async () => {
      // 10 steps ≈ 1 s of work: the server returns after the flow function has.
      await runThroughOutage("outage_at_end", 10, 2_500, { untilFlowReturns: true });
    },
  );
});

describe("deployed examples, run by a worker", () => {
  it(
    "runs a deployment of daily_etl through `worker start --run-once` and the runner",
    { timeout: 90_000 },
    async () => {
      const pool = "e2e-sdk-process";
      await server.api.workPools.create.mutate({ name: pool, type: "process" });
      await server.api.deployments.upsert.mutate({
        flowName: "daily_etl",
        name: "e2e",
        entrypoint: "examples/daily-etl.ts:daily_etl",
        path: repoRoot,
        workPoolName: pool,
        parameters: { day: "2024-06-01", retryDelayScale: 0.01 },
        parameterSchema: daily_etl.parameterJsonSchema() ?? null,
      });
      const { run, output } = await runDeploymentOnce(server, pool, server.env, {
        name: "daily_etl/e2e",
        parameters: { failFirstAttempts: 1 },
      });
      expect(run, output).toMatchObject({
        state: { type: "COMPLETED" },
        deploymentName: "e2e",
        workPoolName: pool,
        runCount: 1,
      });
      expect(run.parameters).toEqual({ day: "2024-06-01", retryDelayScale: 0.01, failFirstAttempts: 1 });
      expect((await stateNames("flow", run.id)).map((s) => s.split("/")[0])).toEqual([
        "SCHEDULED",
        "PENDING",
        "RUNNING",
        "COMPLETED",
      ]);
      const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
      expect(tasks.map((t) => `${t.name}:${t.stateType}:${t.runCount}`)).toEqual([
        "fetch_api-0:COMPLETED:2",
        "validate-0:COMPLETED:1",
        "load_warehouse-0:COMPLETED:1",
        "notify-0:COMPLETED:1",
      ]);
      const logs = await server.api.logs.list.query({ flowRunId: run.id });
      expect(
        logs.filter((l) => l.message.includes("loaded") && l.taskRunId === named(tasks, "load_warehouse-0").id),
      ).toHaveLength(1);
      // The worker streams the process's output too; a captured print is still recorded once.
      const prints = logs.filter((l) => l.message.includes("[#data-eng] daily_etl 2024-06-01"));
      expect(prints).toHaveLength(1);
      expect(prints[0]!.taskRunId).toBe(named(tasks, "notify-0").id);
      expect(await server.api.artifacts.list.query({ flowRunId: run.id })).toHaveLength(1);
    },
  );

  it("deploys examples/flowplane.yaml to the pool `local`, and its entrypoints run", { timeout: 90_000 }, async () => {
    await server.api.workPools.create.mutate({ name: "local", type: "process" });
    const deployed = await runCli(["deploy", "--file", "examples/flowplane.yaml", "--json"], server.env, {
      cwd: repoRoot,
    });
    expect(deployed.code, deployed.stderr).toBe(0);
    const results = JSON.parse(deployed.stdout) as { deployment: string; created: boolean }[];
    expect(results.map((r) => r.deployment)).toEqual([
      "daily_etl/nightly",
      "nightly_warehouse/nightly",
      "regional_sales/hourly",
      "orders_pipeline/daily",
      "hello/on-demand",
    ]);
    expect(results.every((r) => r.created)).toBe(true);

    const etl = await server.api.deployments.get.query({ name: "daily_etl/nightly" });
    expect(etl).toMatchObject({ workPoolName: "local", path: path.join(repoRoot, "examples"), tags: ["etl", "daily"] });
    expect(etl.schedules).toEqual([
      expect.objectContaining({ kind: "cron", cron: "0 2 * * *", timezone: "Europe/Berlin", active: true }),
    ]);
    expect(etl.parameterSchema).toMatchObject({
      type: "object",
      properties: { day: { type: "string", format: "date" } },
    });

    // A flow with a parameter schema, run with no parameters at all: the schema's defaults apply.
    const { run, output } = await runDeploymentOnce(server, "local", server.env, { name: "daily_etl/nightly" });
    expect(run.state.type, output).toBe("COMPLETED");
    expect(run.parameters).toEqual({});
    const tasks = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(tasks.map((t) => `${t.name}:${t.stateType}`)).toEqual(DAILY_ETL_TASKS.map((name) => `${name}:COMPLETED`));
  });
});
