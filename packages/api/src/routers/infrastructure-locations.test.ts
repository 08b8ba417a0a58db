// workers.infrastructureLocations: where a restarted worker looks for the jobs its pool left behind
// (issue 19, point 1). One stored id per place, only the caller's pool's, and only runs that are
// live or were due within the week, so the read stays small on a pool with a long history.
import { beforeAll, describe, expect, it } from "vitest";
import { claimRun, useTestApi, type Caller } from "../testing.ts";

const api = useTestApi();
let developer: Caller;
let worker: Caller;

beforeAll(async () => {
  developer = api.a.as.DEVELOPER;
  worker = api.a.as.WORKER;
  for (const pool of ["far", "near"]) {
    await developer.workPools.create({ name: pool, type: "kubernetes" });
    await developer.deployments.upsert({ flowName: "f", name: pool, entrypoint: "x.ts:f", workPoolName: pool });
  }
});

/** A run of `pool` claimed by worker `w` of that pool, its infrastructure at `id`, then `ended` or left RUNNING. */
async function ranAt(pool: string, id: string, ended: boolean) {
  const run = await developer.deployments.run({ name: `f/${pool}` });
  const { claimed } = await claimRun(worker, { workPoolName: pool, workerName: "w", limit: 50 }, run.id);
  await worker.workers.reportInfrastructure({
    flowRunId: run.id,
    infrastructureId: id,
    claimToken: claimed.claimToken,
  });
  await worker.flowRuns.setState({
    id: run.id,
    state: { type: ended ? "COMPLETED" : "RUNNING" },
    claimToken: claimed.claimToken,
  });
  return run.id;
}

/** Moves the run's slot `days` into the past, as a run of an old schedule. */
async function dueDaysAgo(flowRunId: string, days: number) {
  await api.services.resources.pool.query(
    `UPDATE "FlowRun" SET "expectedStartTime" = now() - make_interval(days => $2) WHERE id = $1`,
    [flowRunId, days],
  );
}

describe("workers.infrastructureLocations", () => {
  it("answers one stored id per namespace of the worker's pool, from its live runs and its runs due within 7 days; not other pools', not older ended runs', not ids that name no place", async () => {
    const latest = await ranAt("far", "etl/flow-run-b", true);
    await ranAt("far", "etl/flow-run-a", true);
    const longRunning = await ranAt("far", "batch/flow-run-c", false);
    await dueDaysAgo(longRunning, 30);
    await dueDaysAgo(await ranAt("far", "archive/flow-run-d", true), 8);
    await ranAt("far", "4242", true);
    await ranAt("near", "other/flow-run-e", true);
    await dueDaysAgo(latest, -1);
    const { workerId } = await worker.workers.heartbeat({ workPoolName: "far", workerName: "w" });

    const ids = await worker.workers.infrastructureLocations({ workerId });
    // Per place, the id of the latest due run; the live run counts however old its slot.
    expect(ids).toEqual(["batch/flow-run-c", "etl/flow-run-b"]);
  });

  it("refuses a worker id registered with another key of the workspace", async () => {
    const { workerId } = await worker.workers.heartbeat({ workPoolName: "far", workerName: "w" });
    const other = await api.a.as.ADMIN.apiKeys.create({ name: "another worker", scope: "WORKER" });
    await expect(api.caller(other.key).workers.infrastructureLocations({ workerId })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });
});
