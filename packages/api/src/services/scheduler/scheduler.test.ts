import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { applyDeployment, type DeploymentSpec } from "../deployments.ts";
import { EventBus, type FlowplaneEvent } from "../events.ts";
import { createResources, type Resources } from "../resources.ts";
import { createOrganization } from "../workspaces.ts";
import { backfillDeployment, markLateRuns, pruneByRetention, scheduleRuns, type SchedulerConfig } from "./index.ts";

let db: TestDatabase;
let res: Resources;
let workspaceId: string;
const config: SchedulerConfig = { minRuns: 3, horizonSeconds: 3600, maxRuns: 100, batchSize: 50 };

beforeAll(async () => {
  db = await createTestDatabase();
  res = createResources(db);
  workspaceId = (await createOrganization(db.prisma, "sched", "sched")).workspace.id;
  await db.prisma.workPool.create({
    data: {
      workspaceId,
      name: "p",
      type: "PROCESS",
      baseJobTemplate: {},
      queues: { create: { workspaceId, name: "default" } },
    },
  });
});

afterAll(async () => {
  await db?.drop();
});

async function deploy(name: string, spec: Partial<DeploymentSpec>) {
  return applyDeployment(db.prisma, workspaceId, {
    flowName: "f",
    name,
    entrypoint: "x.ts:f",
    workPoolName: "p",
    ...spec,
  });
}

async function runsOf(deploymentId: string) {
  const { rows } = await db.pool.query<{
    expectedStartTime: Date;
    stateType: string;
    stateName: string;
    parameters: Record<string, unknown>;
    partitionKey: string | null;
    autoScheduled: boolean;
  }>(
    `SELECT "expectedStartTime", "stateType", "stateName", parameters, "partitionKey", "autoScheduled" FROM "FlowRun" WHERE "deploymentId" = $1 ORDER BY "expectedStartTime"`,
    [deploymentId],
  );
  return rows;
}

const iso = (d: Date) => d.toISOString();

/** The expected start times of a deployment's runs, earliest first. */
async function startTimesOf(deploymentId: string) {
  return (await runsOf(deploymentId)).map((r) => iso(r.expectedStartTime));
}

/** One scheduler pass at `now` with a one-minute horizon that keeps at least `minRuns` ahead. */
function scheduleWithin60s(minRuns: number, now: string) {
  return scheduleRuns(res, { ...config, minRuns, horizonSeconds: 60 }, new Date(now));
}

describe("scheduler", () => {
  it("creates the next runs of a cron schedule ahead, in the schedule's time zone", async () => {
    const d = await deploy("hourly-berlin", {
      schedules: [{ kind: "cron", cron: "15 * * * *", timezone: "Europe/Berlin" }],
    });
    const now = new Date("2026-03-28T22:00:00Z");
    await scheduleRuns(res, config, now);
    const runs = await runsOf(d.deploymentId);
    // At least 3 runs and at least an hour ahead: 22:15, 23:15, 00:15 UTC.
    expect(runs.map((r) => iso(r.expectedStartTime))).toEqual([
      "2026-03-28T22:15:00.000Z",
      "2026-03-28T23:15:00.000Z",
      "2026-03-29T00:15:00.000Z",
    ]);
    expect(runs.every((r) => r.stateType === "SCHEDULED" && r.autoScheduled)).toBe(true);
  });

  it("follows a daily cron across a DST change in a non-UTC time zone", async () => {
    const d = await deploy("daily-ny", {
      schedules: [{ kind: "cron", cron: "30 9 * * *", timezone: "America/New_York" }],
    });
    await scheduleWithin60s(4, "2026-03-06T12:00:00Z");
    const times = await startTimesOf(d.deploymentId);
    // 09:30 EST is 14:30Z; from March 8 (EDT) 09:30 is 13:30Z.
    expect(times).toEqual([
      "2026-03-06T14:30:00.000Z",
      "2026-03-07T14:30:00.000Z",
      "2026-03-08T13:30:00.000Z",
      "2026-03-09T13:30:00.000Z",
    ]);
  });

  it("aligns interval schedules to their anchor and extends the horizon as time passes", async () => {
    const d = await deploy("every-20m", {
      schedules: [{ kind: "interval", intervalSeconds: 1200, anchorDate: "2026-01-01T00:05:00Z" }],
    });
    const t0 = new Date("2026-05-01T10:00:00Z");
    await scheduleRuns(res, config, t0);
    // Three runs, and everything within the hour: 10:05, 10:25, 10:45 (11:05 is past both).
    expect(await startTimesOf(d.deploymentId)).toEqual([
      "2026-05-01T10:05:00.000Z",
      "2026-05-01T10:25:00.000Z",
      "2026-05-01T10:45:00.000Z",
    ]);
    await scheduleRuns(res, config, new Date("2026-05-01T10:30:00Z"));
    const later = await startTimesOf(d.deploymentId);
    expect(later.slice(-2)).toEqual(["2026-05-01T11:05:00.000Z", "2026-05-01T11:25:00.000Z"]);
    expect(new Set(later).size).toBe(later.length);
  });

  it("never creates a second run for a slot, even with two schedulers racing", async () => {
    const d = await deploy("raced", { schedules: [{ kind: "cron", cron: "*/5 * * * *" }] });
    const now = new Date("2026-06-01T00:01:00Z");
    // Two replicas, each believing nothing is scheduled yet.
    await Promise.all([scheduleRuns(res, config, now), scheduleRuns(res, config, now), scheduleRuns(res, config, now)]);
    await db.pool.query(`UPDATE "DeploymentSchedule" SET "scheduledThrough" = NULL WHERE "deploymentId" = $1`, [
      d.deploymentId,
    ]);
    await scheduleRuns(res, config, now);
    const times = await startTimesOf(d.deploymentId);
    expect(times.length).toBe(12);
    expect(new Set(times).size).toBe(12);
  });

  it("with catchup off, skips the slots missed while the server was down", async () => {
    const d = await deploy("no-catchup", { catchup: false, schedules: [{ kind: "interval", intervalSeconds: 600 }] });
    const t0 = new Date("2026-07-01T00:00:00Z");
    await scheduleRuns(res, { ...config, minRuns: 1, horizonSeconds: 600 }, t0);
    // The server is down for 5 hours; the runs created before it went down are never claimed.
    const t1 = new Date("2026-07-01T05:00:30Z");
    await scheduleRuns(res, { ...config, minRuns: 1, horizonSeconds: 600 }, t1);
    const runs = await runsOf(d.deploymentId);
    const waiting = runs.filter((r) => r.stateType === "SCHEDULED");
    // No run for the 28 slots between the old horizon and now; only the latest overdue one waits.
    expect(
      runs.filter(
        (r) =>
          r.expectedStartTime > new Date("2026-07-01T00:10:00Z") &&
          r.expectedStartTime < new Date("2026-07-01T05:00:00Z"),
      ),
    ).toEqual([]);
    expect(waiting.map((r) => iso(r.expectedStartTime))[0]).toBe("2026-07-01T00:10:00.000Z");
    expect(runs.filter((r) => r.stateName === "Skipped").map((r) => iso(r.expectedStartTime))).toEqual([
      "2026-07-01T00:00:00.000Z",
    ]);
  });

  it("with catchup on, creates the runs of the slots missed while the server was down", async () => {
    const d = await deploy("catchup", { catchup: true, schedules: [{ kind: "interval", intervalSeconds: 3600 }] });
    await scheduleWithin60s(1, "2026-07-02T00:00:00Z");
    await scheduleWithin60s(1, "2026-07-02T05:30:00Z");
    const times = await startTimesOf(d.deploymentId);
    expect(times).toEqual([
      "2026-07-02T00:00:00.000Z",
      "2026-07-02T01:00:00.000Z",
      "2026-07-02T02:00:00.000Z",
      "2026-07-02T03:00:00.000Z",
      "2026-07-02T04:00:00.000Z",
      "2026-07-02T05:00:00.000Z",
      "2026-07-02T06:00:00.000Z",
    ]);
  });

  it("drops a schedule's future runs when the schedule changes, and schedules the new one", async () => {
    const d = await deploy("changing", { schedules: [{ kind: "cron", cron: "0 * * * *" }] });
    const now = new Date("2026-08-01T00:30:00Z");
    await scheduleRuns(res, config, now);
    expect((await runsOf(d.deploymentId)).length).toBe(3);
    const again = await deploy("changing", { schedules: [{ kind: "cron", cron: "45 * * * *" }] });
    expect(again.changed).toContain("schedules");
    expect(await runsOf(d.deploymentId)).toEqual([]);
    await scheduleRuns(res, config, now);
    expect((await startTimesOf(d.deploymentId))[0]).toBe("2026-08-01T00:45:00.000Z");
  });

  it("creates nothing for a paused deployment", async () => {
    const d = await deploy("paused", { paused: true, schedules: [{ kind: "cron", cron: "* * * * *" }] });
    await scheduleRuns(res, config, new Date("2026-08-02T00:00:00Z"));
    expect(await runsOf(d.deploymentId)).toEqual([]);
  });

  it("backfills one run per slot with its partition key, idempotently, sharing slots with the scheduler", async () => {
    const d = await deploy("daily-backfill", {
      parameters: { region: "eu" },
      schedules: [{ kind: "cron", cron: "0 2 * * *", timezone: "UTC" }],
    });
    const first = await backfillDeployment(
      res,
      workspaceId,
      d.deploymentId,
      new Date("2026-01-01T00:00:00Z"),
      new Date("2026-01-08T00:00:00Z"),
    );
    expect(first).toEqual({ slots: 7, created: 7, existing: 0 });
    const again = await backfillDeployment(
      res,
      workspaceId,
      d.deploymentId,
      new Date("2026-01-01T00:00:00Z"),
      new Date("2026-01-10T00:00:00Z"),
    );
    expect(again).toEqual({ slots: 9, created: 2, existing: 7 });
    const runs = await runsOf(d.deploymentId);
    expect(runs).toHaveLength(9);
    expect(runs[0]!.partitionKey).toBe("2026-01-01T02:00:00.000Z");
    expect(runs[0]!.parameters).toEqual({ region: "eu", partitionKey: "2026-01-01T02:00:00.000Z" });
    // The scheduler later reaching the same slots creates no duplicates.
    await db.pool.query(`UPDATE "DeploymentSchedule" SET "scheduledThrough" = NULL WHERE "deploymentId" = $1`, [
      d.deploymentId,
    ]);
    await scheduleRuns(res, { ...config, minRuns: 1 }, new Date("2026-01-08T01:00:00Z"));
    expect(
      (await runsOf(d.deploymentId))
        .map((r) => iso(r.expectedStartTime))
        .filter((t) => t === "2026-01-08T02:00:00.000Z"),
    ).toHaveLength(1);
  });

  it("cancels a due run of a cancel-new deployment at its concurrency limit, and leaves enqueue ones waiting", async () => {
    for (const [name, strategy] of [
      ["cancel-new", "CANCEL_NEW"],
      ["enqueue", "ENQUEUE"],
    ] as const) {
      const d = await deploy(`collide-${name}`, { concurrencyLimit: 1, collisionStrategy: strategy, schedules: [] });
      const { rows: flow } = await db.pool.query(`SELECT "flowId" FROM "Deployment" WHERE id = $1`, [d.deploymentId]);
      await db.pool.query(
        `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "stateType", "stateName", "stateTimestamp", "expectedStartTime", "nextScheduledTime", "updatedAt")
         VALUES (gen_random_uuid(), $1, $2, 'busy', $3, 'RUNNING', 'Running', now(), now(), now(), now()),
                (gen_random_uuid(), $1, $2, 'new', $3, 'SCHEDULED', 'Scheduled', now(), now(), now() - interval '1 second', now())`,
        [workspaceId, flow[0].flowId, d.deploymentId],
      );
    }
    await scheduleRuns(res, config);
    const states = async (name: string) =>
      (
        await db.pool.query(
          `SELECT fr.name, fr."stateType" FROM "FlowRun" fr JOIN "Deployment" d ON d.id = fr."deploymentId" WHERE d.name = $1 ORDER BY fr.name`,
          [name],
        )
      ).rows;
    expect(await states("collide-cancel-new")).toEqual([
      { name: "busy", stateType: "RUNNING" },
      { name: "new", stateType: "CANCELLED" },
    ]);
    expect(await states("collide-enqueue")).toEqual([
      { name: "busy", stateType: "RUNNING" },
      { name: "new", stateType: "SCHEDULED" },
    ]);
  });

  it("marks SCHEDULED runs that are late as Late", async () => {
    const d = await deploy("late", { schedules: [{ kind: "interval", intervalSeconds: 60 }] });
    await scheduleRuns(res, { ...config, minRuns: 2, horizonSeconds: 60 }, new Date(Date.now() - 300_000));
    const marked = await markLateRuns(res, 15);
    expect(marked).toBeGreaterThan(0);
    const runs = await runsOf(d.deploymentId);
    expect(
      runs.filter((r) => r.expectedStartTime.getTime() < Date.now() - 15_000).every((r) => r.stateName === "Late"),
    ).toBe(true);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM "State" s JOIN "FlowRun" fr ON fr.id = s."flowRunId" WHERE fr."deploymentId" = $1 AND s.name = 'Late'`,
      [d.deploymentId],
    );
    // The renaming is in the history too, once per run.
    expect(rows[0].n).toBe(runs.filter((r) => r.stateName === "Late").length);
    // A second pass finds nothing to rename: Late → Late writes no second history row.
    expect(await markLateRuns(res, 15)).toBe(0);
    const again = await db.pool.query(
      `SELECT count(*)::int AS n FROM "State" s JOIN "FlowRun" fr ON fr.id = s."flowRunId" WHERE fr."deploymentId" = $1 AND s.name = 'Late'`,
      [d.deploymentId],
    );
    expect(again.rows[0].n).toBe(rows[0].n);
  });

  it("sends live events for the runs it creates and the states it changes (regression: scheduler changes were silent)", async () => {
    const bus = new EventBus(db.url);
    await bus.start();
    try {
      const seen: FlowplaneEvent[] = [];
      bus.subscribe((e) => seen.push(e));
      const d = await deploy("evented", { schedules: [{ kind: "interval", intervalSeconds: 60 }] });
      await scheduleRuns(res, { ...config, minRuns: 2, horizonSeconds: 60 }, new Date(Date.now() - 300_000));
      await markLateRuns(res, 15);
      const ofDeployment = (name: string) =>
        seen.filter((e) => e.kind === "flow_run" && e.deploymentId === d.deploymentId && e.stateName === name);
      await expect.poll(() => ofDeployment("Scheduled").length).toBeGreaterThan(0);
      await expect.poll(() => ofDeployment("Late").length).toBeGreaterThan(0);
      expect(seen.some((e) => e.kind === "runs_ready")).toBe(true);
    } finally {
      await bus.stop();
    }
  });

  it("prunes finished runs and old logs past the retention policy", async () => {
    const d = await deploy("retained", { schedules: [] });
    const { rows: flow } = await db.pool.query(`SELECT "flowId" FROM "Deployment" WHERE id = $1`, [d.deploymentId]);
    await db.pool.query(
      `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "stateType", "stateName", "stateTimestamp", "expectedStartTime", "endTime", "updatedAt")
       VALUES (gen_random_uuid(), $1, $2, 'old', $3, 'COMPLETED', 'Completed', now() - interval '40 days', now() - interval '40 days', now() - interval '40 days', now()),
              (gen_random_uuid(), $1, $2, 'recent', $3, 'COMPLETED', 'Completed', now(), now(), now(), now()),
              (gen_random_uuid(), $1, $2, 'old-but-waiting', $3, 'SCHEDULED', 'Scheduled', now() - interval '40 days', now() - interval '40 days', NULL, now())`,
      [workspaceId, flow[0].flowId, d.deploymentId],
    );
    const pruned = await pruneByRetention(res, { flowRunDays: 30, logDays: 30, auditDays: 365 });
    expect(pruned.flowRuns).toBeGreaterThanOrEqual(1);
    const { rows } = await db.pool.query(`SELECT name FROM "FlowRun" WHERE "deploymentId" = $1 ORDER BY name`, [
      d.deploymentId,
    ]);
    expect(rows.map((r) => r.name)).toEqual(["old-but-waiting", "recent"]);
  });
});
