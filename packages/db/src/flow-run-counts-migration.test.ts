// The flow_run_counts migration on a database that already has runs: it must count them (the
// backfill) and keep counting new ones (the triggers), in UTC hours whatever the session time zone.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { applyMigrations } from "./migrations.ts";
import { createDatabaseBefore } from "./testing.ts";

const COUNTS_MIGRATION = "20261124072454_flow_run_counts";
const HOUR_MS = 3_600_000;
const NO_DEPLOYMENT = "00000000-0000-0000-0000-000000000000";

describe("flow_run_counts migration", () => {
  it("backfills the counts of an upgraded database and keeps counting after it", { timeout: 60_000 }, async () => {
    // A zone half an hour off UTC: date_trunc('hour', …) in the session's zone would misplace every run.
    const before = await createDatabaseBefore(COUNTS_MIGRATION, "upgrade_counts", "SET timezone = 'Asia/Kolkata'");
    const url = before.url;
    const db = new pg.Client({ connectionString: url });
    try {
      await db.connect();
      const ws = (
        await db.query<{ id: string }>(
          `INSERT INTO "Workspace" (id, name) VALUES (gen_random_uuid(), 'upgraded') RETURNING id`,
        )
      ).rows[0]!.id;
      const flow = (
        await db.query<{ id: string }>(
          `INSERT INTO "Flow" (id, "workspaceId", name, tags, "updatedAt") VALUES (gen_random_uuid(), $1, 'etl', '{}', now()) RETURNING id`,
          [ws],
        )
      ).rows[0]!.id;
      const dep = (
        await db.query<{ id: string }>(
          `INSERT INTO "Deployment" (id, "workspaceId", "flowId", name, entrypoint, tags, "updatedAt") VALUES (gen_random_uuid(), $1, $2, 'nightly', 'x.ts:f', '{}', now()) RETURNING id`,
          [ws, flow],
        )
      ).rows[0]!.id;
      const base = Date.parse("2026-03-01T00:00:00Z");
      const runs = Array.from({ length: 400 }, (_, i) => ({
        t: new Date(base + ((i * 7_919_000) % (30 * HOUR_MS))),
        state: ["COMPLETED", "FAILED", "SCHEDULED", "RUNNING"][i % 4]!,
        dep: i % 3 === 0 ? null : dep,
      }));
      const insert = async (rows: typeof runs) =>
        db.query(
          `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "stateType", "stateName", "stateTimestamp", tags, "expectedStartTime", "updatedAt")
           SELECT gen_random_uuid(), $1, $2, 'run', d, s::"StateType", initcap(s), now(), '{}', t, now() FROM unnest($3::uuid[], $4::text[], $5::timestamptz[]) AS x(d, s, t)`,
          [ws, flow, rows.map((r) => r.dep), rows.map((r) => r.state), rows.map((r) => r.t)],
        );
      await insert(runs.slice(0, 300));

      expect(await applyMigrations(url)).toContain(COUNTS_MIGRATION);
      // Runs written after the upgrade reach the counts through the triggers.
      await insert(runs.slice(300));

      const expected: Record<string, number> = {};
      for (const r of runs) {
        const key = `${r.dep ?? NO_DEPLOYMENT}/${new Date(Math.floor(r.t.getTime() / HOUR_MS) * HOUR_MS).toISOString()}/${r.state}`;
        expected[key] = (expected[key] ?? 0) + 1;
      }
      const { rows } = await db.query<{ deploymentId: string; bucket: Date; stateType: string; n: number }>(
        `SELECT "deploymentId", bucket, "stateType", sum(n)::int AS n
           FROM (SELECT "deploymentId", bucket, "stateType", n FROM "FlowRunCountRollup" UNION ALL SELECT "deploymentId", bucket, "stateType", n FROM "FlowRunCountDelta") c
          GROUP BY 1, 2, 3`,
      );
      expect(
        Object.fromEntries(rows.map((r) => [`${r.deploymentId}/${r.bucket.toISOString()}/${r.stateType}`, r.n])),
      ).toEqual(expected);
      // The backfill went to the rollup; only the later runs are pending deltas.
      const { rows: split } = await db.query<{ rollup: number; delta: number }>(
        `SELECT (SELECT sum(n) FROM "FlowRunCountRollup")::int AS rollup, (SELECT sum(n) FROM "FlowRunCountDelta")::int AS delta`,
      );
      expect(split[0]).toEqual({ rollup: 300, delta: 100 });
    } finally {
      await db.end().catch(() => {});
      await before.drop();
    }
  });
});
