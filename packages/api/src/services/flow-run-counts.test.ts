// The runs chart's counts on real PostgreSQL: whatever happens to the runs (inserts, state changes,
// moves between hours, retention, a deleted deployment, a deleted flow, TRUNCATE), with compaction
// run or not, flowRuns.counts answers exactly what a count of the FlowRun rows says, and the count
// tables never make concurrent state changes wait on each other.
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { STATE_TYPES, type StateType } from "@flowplane/core";
import { useTestApi, type Caller } from "../testing.ts";
import { compactFlowRunCounts, HOUR_MS, NO_DEPLOYMENT, planBuckets } from "./flow-run-counts.ts";
import { pruneByRetention } from "./scheduler/index.ts";

const DAY_MS = 24 * HOUR_MS;

describe("planBuckets", () => {
  it("keeps short windows and sub-hour buckets as asked, on raw rows", () => {
    const from = Date.parse("2026-03-01T10:17:00Z");
    expect(planBuckets(from, from + 6 * HOUR_MS, 2)).toEqual({
      origin: from,
      bucketMs: 3 * HOUR_MS,
      buckets: 2,
      rollup: false,
    });
    expect(planBuckets(from, from + DAY_MS, 48)).toEqual({
      origin: from,
      bucketMs: HOUR_MS / 2,
      buckets: 48,
      rollup: false,
    });
  });

  it("leaves the dashboard's aligned presets as they are", () => {
    const to = Date.parse("2026-03-08T12:00:00Z");
    expect(planBuckets(to - 7 * DAY_MS, to, 56)).toEqual({
      origin: to - 7 * DAY_MS,
      bucketMs: 3 * HOUR_MS,
      buckets: 56,
      rollup: true,
    });
    expect(planBuckets(to - 30 * DAY_MS, to, 60)).toEqual({
      origin: to - 30 * DAY_MS,
      bucketMs: 12 * HOUR_MS,
      buckets: 60,
      rollup: true,
    });
  });

  it("snaps other long windows to whole hours, so each hour falls in one bucket", () => {
    const from = Date.parse("2026-03-01T10:17:00Z");
    const to = from + 3 * DAY_MS + 5 * 60_000;
    const plan = planBuckets(from, to, 50);
    expect(plan.rollup).toBe(true);
    expect(plan.origin).toBe(Date.parse("2026-03-01T10:00:00Z"));
    expect(plan.bucketMs).toBe(2 * HOUR_MS);
    expect(plan.origin + plan.buckets * plan.bucketMs).toBeGreaterThanOrEqual(to);
    expect(plan.origin + (plan.buckets - 1) * plan.bucketMs).toBeLessThan(to);
  });
});

/** A small seeded PRNG, so a failure replays the same runs. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Filter {
  states?: StateType[];
  flowId?: string;
  flowName?: string;
  deploymentId?: string;
}

describe("flowRuns.counts", () => {
  const api = useTestApi({ poolSize: 10 });
  let admin: Caller;
  let flows: Record<string, string>;
  let deployments: Record<string, string>;
  let combos: { flowId: string; deploymentId: string | null }[];
  // An hour boundary in the past; runs spread over the three days after it.
  const base = Date.parse("2026-03-01T00:00:00Z");

  beforeAll(async () => {
    admin = api.a.as.ADMIN;
    await admin.workPools.create({ name: "pool", type: "process" });
    const deploy = async (flowName: string, name: string) =>
      (await admin.deployments.upsert({ flowName, name, entrypoint: "flows.ts:main", workPoolName: "pool" }))
        .deploymentId;
    deployments = {
      nightly: await deploy("etl", "nightly"),
      hourly: await deploy("etl", "hourly"),
      daily: await deploy("report", "daily"),
    };
    await admin.flowRuns.create({ flowName: "adhoc", state: { type: "COMPLETED" } });
    flows = Object.fromEntries((await admin.flows.list()).map((f) => [f.name, f.id]));
    combos = [
      { flowId: flows.etl!, deploymentId: deployments.nightly! },
      { flowId: flows.etl!, deploymentId: deployments.hourly! },
      { flowId: flows.etl!, deploymentId: null },
      { flowId: flows.report!, deploymentId: deployments.daily! },
      { flowId: flows.report!, deploymentId: null },
      { flowId: flows.adhoc!, deploymentId: null },
    ];
  });

  /** Inserts runs in one statement (so one trigger call), at random times in [base, base + hours). */
  async function insertRuns(
    workspaceId: string,
    count: number,
    rng: () => number,
    pick: () => { flowId: string; deploymentId: string | null },
    hours = 72,
  ): Promise<void> {
    const flowIds: string[] = [];
    const deploymentIds: (string | null)[] = [];
    const states: string[] = [];
    const times: Date[] = [];
    for (let i = 0; i < count; i++) {
      const c = pick();
      flowIds.push(c.flowId);
      deploymentIds.push(c.deploymentId);
      states.push(STATE_TYPES[Math.floor(rng() * STATE_TYPES.length)]!);
      // Every tenth run exactly on an hour boundary: the edges of buckets and of the rollup.
      times.push(
        new Date(base + (i % 10 === 0 ? Math.floor(rng() * hours) * HOUR_MS : Math.floor(rng() * hours * HOUR_MS))),
      );
    }
    await api.db.pool.query(
      `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "stateType", "stateName", "stateTimestamp", tags, "expectedStartTime", "updatedAt")
       SELECT gen_random_uuid(), $1, f, 'run', d, s::"StateType", initcap(s), now(), '{}', t, now()
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[]) AS x(f, d, s, t)`,
      [workspaceId, flowIds, deploymentIds, states, times],
    );
  }

  /** What the counts must be: workspace A's FlowRun rows, filtered and bucketed here in JS. */
  async function truth(
    grid: { from: string; to: string; bucketMs: number },
    filter: Filter,
  ): Promise<Record<string, number>> {
    const { rows } = await api.db.pool.query<{
      t: Date;
      stateType: StateType;
      flowId: string;
      flowName: string;
      deploymentId: string | null;
    }>(
      `SELECT r."expectedStartTime" AS t, r."stateType", r."flowId", f.name AS "flowName", r."deploymentId"
         FROM "FlowRun" r JOIN "Flow" f ON f.id = r."flowId" WHERE r."workspaceId" = $1`,
      [api.a.id],
    );
    const from = Date.parse(grid.from);
    const to = Date.parse(grid.to);
    const out: Record<string, number> = {};
    for (const r of rows) {
      const t = r.t.getTime();
      if (t < from || t >= to) continue;
      if (filter.states && !filter.states.includes(r.stateType)) continue;
      if (filter.flowId && r.flowId !== filter.flowId) continue;
      if (filter.flowName && r.flowName !== filter.flowName) continue;
      if (filter.deploymentId && r.deploymentId !== filter.deploymentId) continue;
      const key = `${Math.floor((t - from) / grid.bucketMs)}/${r.stateType}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  const HOURS = (h: number) => new Date(base + h * HOUR_MS).toISOString();
  const windows = [
    // Raw rows only: half-hour buckets.
    { from: HOURS(20), to: HOURS(44), buckets: 48 },
    // Aligned, whole hours from the rollup, 3-hour buckets.
    { from: HOURS(0), to: HOURS(72), buckets: 24 },
    // Unaligned at both ends: snapped start, partial last hour from raw rows.
    {
      from: new Date(base + 7 * HOUR_MS + 13 * 60_000).toISOString(),
      to: new Date(base + 70 * HOUR_MS + 41 * 60_000 + 17).toISOString(),
      buckets: 30,
    },
    // One wide bucket over more than everything.
    { from: HOURS(-5), to: HOURS(100), buckets: 1 },
    // Starting mid-window, ending exactly on an hour.
    { from: HOURS(33), to: HOURS(61), buckets: 7 },
  ];

  function filters(): Filter[] {
    return [
      {},
      { states: ["FAILED", "COMPLETED"] },
      { flowId: flows.etl! },
      { flowName: "report" },
      { deploymentId: deployments.nightly! },
      { flowName: "etl", states: ["SCHEDULED", "RUNNING", "CRASHED"] },
      { flowName: "no-such-flow" },
    ];
  }

  /** Every window with every filter: the API's answer against the rows. */
  async function expectExact(phase: string): Promise<void> {
    const mismatches: string[] = [];
    for (const w of windows) {
      for (const filter of filters()) {
        const answer = await admin.flowRuns.counts({ ...w, ...filter });
        const plan = planBuckets(Date.parse(w.from), Date.parse(w.to), w.buckets);
        expect({ from: answer.from, bucketMs: answer.bucketMs, buckets: answer.buckets }).toEqual({
          from: new Date(plan.origin).toISOString(),
          bucketMs: plan.bucketMs,
          buckets: plan.buckets,
        });
        if (plan.rollup) {
          expect(Date.parse(answer.from) % HOUR_MS).toBe(0);
          expect(answer.bucketMs % HOUR_MS).toBe(0);
        }
        const got = Object.fromEntries(answer.rows.map((r) => [`${r.bucket}/${r.stateType}`, r.n]));
        const want = await truth(answer, filter);
        if (JSON.stringify(Object.entries(got).sort()) !== JSON.stringify(Object.entries(want).sort())) {
          mismatches.push(
            `${phase}: ${JSON.stringify(w)} ${JSON.stringify(filter)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  }

  /** After compaction the rollup alone is the GROUP BY of every workspace's runs, with no zero rows. */
  async function expectRollupExact(): Promise<void> {
    const key = `"workspaceId"::text || '/' || "flowId" || '/' || "deploymentId" || '/' || to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') || '/' || "stateType"`;
    const { rows: rollup } = await api.db.pool.query<{ k: string; n: number }>(
      `SELECT ${key} AS k, n FROM "FlowRunCountRollup" ORDER BY 1`,
    );
    const { rows: runs } = await api.db.pool.query<{ k: string; n: number }>(
      `SELECT ${key} AS k, count(*)::int AS n
         FROM (SELECT "workspaceId", "flowId", COALESCE("deploymentId", '${NO_DEPLOYMENT}') AS "deploymentId", date_trunc('hour', "expectedStartTime", 'UTC') AS bucket, "stateType" FROM "FlowRun") r
        GROUP BY 1 ORDER BY 1`,
    );
    expect(rollup).toEqual(runs);
    const { rows: pending } = await api.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "FlowRunCountDelta"`,
    );
    expect(pending[0]!.n).toBe(0);
  }

  async function compact(): Promise<void> {
    const result = await compactFlowRunCounts(api.db.pool);
    expect(result.skipped).toBe(false);
  }

  async function runIds(where: string, params: unknown[] = []): Promise<string[]> {
    const { rows } = await api.db.pool.query<{ id: string }>(
      `SELECT id FROM "FlowRun" WHERE "workspaceId" = $1 AND ${where} ORDER BY id`,
      [api.a.id, ...params],
    );
    return rows.map((r) => r.id);
  }

  it(
    "equal a count of the runs through inserts, state changes, moves, deletes and compaction",
    { timeout: 120_000 },
    async () => {
      const rng = random(42);
      const pick = () => combos[Math.floor(rng() * combos.length)]!;
      await insertRuns(api.a.id, 1500, rng, pick);
      // Workspace B's runs in the same hours must never show in A's counts.
      await api.b.as.ADMIN.flowRuns.create({ flowName: "b-flow", state: { type: "COMPLETED" } });
      const bFlow = (await api.b.as.ADMIN.flows.list())[0]!.id;
      await insertRuns(api.b.id, 300, rng, () => ({ flowId: bFlow, deploymentId: null }));
      await expectExact("inserted, nothing compacted");
      await compact();
      await expectRollupExact();
      await expectExact("compacted");

      // The long windows really read the count tables: a stray delta shows in them (and not in raw ones).
      await api.db.pool.query(
        `INSERT INTO "FlowRunCountDelta" ("workspaceId", "flowId", "deploymentId", bucket, "stateType", n) VALUES ($1, $2, $3, $4, 'FAILED', 5)`,
        [api.a.id, flows.adhoc, NO_DEPLOYMENT, new Date(base + 10 * HOUR_MS)],
      );
      const stray = await admin.flowRuns.counts({ ...windows[1]!, states: ["FAILED"] });
      const want = await truth(stray, { states: ["FAILED"] });
      expect(stray.rows.find((r) => r.bucket === 3)?.n).toBe((want["3/FAILED"] ?? 0) + 5);
      await api.db.pool.query(`DELETE FROM "FlowRunCountDelta"`);

      // State changes: one statement over many runs, and single proposals through the API.
      const some = await runIds(`"stateType" = 'SCHEDULED'`);
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "stateType" = 'PENDING', "stateName" = 'Pending' WHERE id = ANY($1::uuid[])`,
        [some.filter((_, i) => i % 2 === 0)],
      );
      for (const id of (await runIds(`"stateType" = 'RUNNING'`)).slice(0, 15))
        await admin.flowRuns.forceState({ id, state: { type: "COMPLETED" } });
      await admin.flowRuns.create({ flowName: "adhoc", state: { type: "RUNNING" } });
      // Updates that change nothing counted (most updates: heartbeats, claims) and one in the same hour.
      await api.db.pool.query(`UPDATE "FlowRun" SET "heartbeatAt" = now() WHERE "workspaceId" = $1`, [api.a.id]);
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "expectedStartTime" = date_trunc('hour', "expectedStartTime", 'UTC') WHERE "workspaceId" = $1 AND "stateType" = 'FAILED'`,
        [api.a.id],
      );
      await expectExact("states changed, not compacted");
      await compact();
      await expectExact("states changed, compacted");

      // Runs moving between hours, flows and deployments; rows moved twice before compaction.
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "expectedStartTime" = "expectedStartTime" + interval '95 minutes' WHERE "workspaceId" = $1 AND "stateType" = 'PENDING'`,
        [api.a.id],
      );
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "flowId" = $2, "deploymentId" = NULL WHERE "workspaceId" = $1 AND "stateType" = 'CANCELLED' AND "flowId" = $3`,
        [api.a.id, flows.adhoc, flows.etl],
      );
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "deploymentId" = $2 WHERE "workspaceId" = $1 AND "flowId" = $3 AND "deploymentId" IS NULL AND "stateType" = 'PAUSED'`,
        [api.a.id, deployments.hourly, flows.etl],
      );
      await api.db.pool.query(
        `UPDATE "FlowRun" SET "expectedStartTime" = "expectedStartTime" - interval '3 hours' WHERE "workspaceId" = $1 AND "stateType" = 'PENDING'`,
        [api.a.id],
      );
      await expectExact("moved, not compacted");

      // Retention (terminal runs ended before its cutoff, both workspaces) with the deltas of the
      // moves still pending; then compaction.
      const pruned = await pruneByRetention(
        api.services.resources,
        { flowRunDays: 0, logDays: 30, auditDays: 365 },
        new Date(Date.now() + DAY_MS),
      );
      expect(pruned.flowRuns).toBeGreaterThan(500);
      await expectExact("pruned, not compacted");
      await compact();
      await expectRollupExact();
      await expectExact("pruned, compacted");

      // A deleted deployment: its SCHEDULED runs are deleted, the rest lose their deployment (a
      // SET NULL the database performs as an UPDATE of FlowRun).
      const hourlyRuns = (await runIds(`"deploymentId" = $2`, [deployments.hourly])).length;
      expect(hourlyRuns).toBeGreaterThan(0);
      await admin.deployments.delete({ id: deployments.hourly! });
      expect(await runIds(`"deploymentId" = $2`, [deployments.hourly])).toEqual([]);
      await expectExact("deployment deleted, not compacted");
      await compact();
      await expectRollupExact();

      // A deleted flow: its runs (and its deployment) go by cascade; its rollup rows reach zero and go.
      await api.db.pool.query(`DELETE FROM "Flow" WHERE id = $1`, [flows.report]);
      await expectExact("flow deleted, not compacted");
      await compact();
      await expectRollupExact();
      await expectExact("flow deleted, compacted");
      const { rows: left } = await api.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "FlowRunCountRollup" WHERE "flowId" = $1`,
        [flows.report],
      );
      expect(left[0]!.n).toBe(0);

      // A deleted workspace: B's runs go by cascade, and so do its counts at the next compaction.
      await api.db.pool.query(`DELETE FROM "Workspace" WHERE id = $1`, [api.b.id]);
      await compact();
      await expectRollupExact();
      const { rows: bLeft } = await api.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "FlowRunCountRollup" WHERE "workspaceId" = $1`,
        [api.b.id],
      );
      expect(bLeft[0]!.n).toBe(0);
    },
  );

  it("a compaction waits for no one and skips while another replica compacts", async () => {
    const holder = new pg.Client({ connectionString: api.db.url });
    await holder.connect();
    try {
      await holder.query(`BEGIN`);
      await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('flowplane:flow-run-counts', 0))`);
      expect(await compactFlowRunCounts(api.db.pool)).toEqual({ skipped: true, deltas: 0, removed: 0 });
      await holder.query(`COMMIT`);
      expect((await compactFlowRunCounts(api.db.pool)).skipped).toBe(false);
    } finally {
      await holder.end();
    }
  });

  it(
    "concurrent state changes of runs in the same hour and state do not wait on each other",
    { timeout: 60_000 },
    async () => {
      const N = 50;
      const hour = new Date(base + 80 * HOUR_MS);
      const { rows } = await api.db.pool.query<{ id: string }>(
        `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "stateType", "stateName", "stateTimestamp", tags, "expectedStartTime", "updatedAt")
       SELECT gen_random_uuid(), $1, $2, 'same-hour-' || g, 'SCHEDULED', 'Scheduled', now(), '{}', $3::timestamptz + g * interval '1 second', now()
         FROM generate_series(1, $4::int) g RETURNING id`,
        [api.a.id, flows.adhoc, hour, N],
      );
      await compact();
      const window = {
        from: new Date(base + 78 * HOUR_MS).toISOString(),
        to: new Date(base + 90 * HOUR_MS).toISOString(),
        buckets: 12,
        flowId: flows.adhoc!,
      };
      const before = await admin.flowRuns.counts(window);
      expect(before.rows).toEqual([{ bucket: 2, stateType: "SCHEDULED", n: N }]);

      // Each transaction changes its run's state (the trigger appends its delta) and then stays open
      // until all of them have got that far. If the count tables made them queue (a shared counter
      // row, a unique key they all insert), only the first would get past its UPDATE and the barrier
      // would never fill.
      const clients = await Promise.all(
        rows.map(async () => {
          const c = new pg.Client({ connectionString: api.db.url });
          await c.connect();
          return c;
        }),
      );
      let arrived = 0;
      let allIn!: () => void;
      let release!: () => void;
      const allArrived = new Promise<void>((resolve) => (allIn = resolve));
      const mayCommit = new Promise<void>((resolve) => (release = resolve));
      // Waits are bounded by a generous deadline, not timed: a wait on the open transactions would
      // last until they are released, so it shows as a missed deadline however busy the machine is.
      const deadline = () => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 15_000).unref());
      try {
        const txs = clients.map(async (c, i) => {
          await c.query(`BEGIN`);
          await c.query(`UPDATE "FlowRun" SET "stateType" = 'RUNNING', "stateName" = 'Running' WHERE id = $1`, [
            rows[i]!.id,
          ]);
          await c.query(`SELECT pg_sleep(0.05)`);
          if (++arrived === N) allIn();
          await mayCommit;
          await c.query(`COMMIT`);
        });
        expect(
          await Promise.race([allArrived.then(() => "all open at once"), deadline()]),
          `${arrived} of ${N} transactions got past their update`,
        ).toBe("all open at once");

        // Meanwhile readers and compaction do not wait for them either, and see none of their changes.
        const reads = (async () => ({
          counts: await admin.flowRuns.counts(window),
          compacted: await compactFlowRunCounts(api.db.pool),
        }))();
        const answered = await Promise.race([reads, deadline()]);
        if (answered === "timeout") expect.fail("a reader or compaction waited for the open transactions");
        expect(answered.counts.rows).toEqual(before.rows);
        expect(answered.compacted.deltas).toBe(0);

        release();
        await Promise.all(txs);
      } finally {
        release();
        await Promise.all(clients.map((c) => c.end()));
      }
      expect((await admin.flowRuns.counts(window)).rows).toEqual([{ bucket: 2, stateType: "RUNNING", n: N }]);
      await compact();
      expect((await admin.flowRuns.counts(window)).rows).toEqual([{ bucket: 2, stateType: "RUNNING", n: N }]);
      await expectRollupExact();
    },
  );

  it("TRUNCATE of the runs empties the counts", async () => {
    await insertRuns(api.a.id, 50, random(7), () => combos[0]!);
    await compact();
    await insertRuns(api.a.id, 50, random(8), () => combos[5]!);
    await api.db.pool.query(`TRUNCATE "FlowRun" CASCADE`);
    expect((await admin.flowRuns.counts(windows[1]!)).rows).toEqual([]);
    await compact();
    await expectRollupExact();
  });
});
