// No run waits for ever (issue 13, point 10): the liveness sweep resolves runs whose holder is
// gone and pauses that timed out. Real PostgreSQL, through the API as workers and people call it.
import { beforeAll, describe, expect, it } from "vitest";
import { claimRun, useTestApi, type Caller } from "../testing.ts";
import { sweepLiveness } from "./liveness.ts";

const api = useTestApi();
let developer: Caller;
let worker: Caller;
const config = { missedWorkerHeartbeats: 3, runHeartbeatTimeoutSeconds: 60 };

beforeAll(async () => {
  developer = api.a.as.DEVELOPER;
  worker = api.a.as.WORKER;
  await developer.workPools.create({ name: "live", type: "process" });
  await developer.deployments.upsert({ flowName: "live", name: "d", entrypoint: "x.ts:f", workPoolName: "live" });
});

async function claimed(workerName: string) {
  const run = await developer.deployments.run({ name: "live/d" });
  const { workerId, claimed: claim } = await claimRun(worker, { workPoolName: "live", workerName, limit: 10 }, run.id);
  return { run, claim, workerId };
}

async function silence(workerId: string) {
  await api.db.pool.query(`UPDATE "Worker" SET "lastHeartbeatAt" = now() - interval '1 hour' WHERE id = $1`, [
    workerId,
  ]);
}

const stateOf = async (id: string) => (await api.a.as.READ.flowRuns.get({ id })).state;

describe("liveness resolves runs nothing would move", () => {
  it("releases a claim and cancels a cancelling run whose worker went offline (regression: they waited for ever)", async () => {
    const pending = await claimed("gone-1");
    const cancelling = await claimed("gone-2");
    await worker.flowRuns.setState({
      id: cancelling.run.id,
      state: { type: "RUNNING" },
      claimToken: cancelling.claim.claimToken,
    });
    await developer.flowRuns.cancel({ id: cancelling.run.id });
    await silence(pending.workerId);
    await silence(cancelling.workerId);
    const swept = await sweepLiveness(api.services.resources, config);
    expect(swept.workersOffline).toBe(2);
    expect(swept.runsResolved).toBe(2);
    expect(await stateOf(pending.run.id)).toMatchObject({ type: "SCHEDULED" });
    expect(await stateOf(cancelling.run.id)).toMatchObject({ type: "CANCELLED" });
  });

  it("keeps a cancelling run whose offline worker launched known infrastructure CANCELLING, and hands its stop to a live worker of the pool (regression: it was marked CANCELLED while its task kept running)", async () => {
    const held = await claimed("launcher-old");
    const token = { claimToken: held.claim.claimToken };
    await worker.flowRuns.setState({ id: held.run.id, state: { type: "RUNNING" }, ...token });
    await worker.workers.reportInfrastructure({
      flowRunId: held.run.id,
      infrastructureId: "arn:aws:ecs:us-east-1:123456789012:task/flows/0a1b",
      ...token,
    });
    await developer.flowRuns.cancel({ id: held.run.id });
    await silence(held.workerId);
    await sweepLiveness(api.services.resources, config);
    expect(await stateOf(held.run.id)).toMatchObject({ type: "CANCELLING" });
    // A worker of the pool under a new name is asked to stop it, from its stored id.
    const other = await worker.workers.heartbeat({ workPoolName: "live", workerName: "launcher-new" });
    const polled = await worker.workers.poll({ workerId: other.workerId, limit: 0, waitMs: 0 });
    expect(polled.cancel).toContainEqual({
      id: held.run.id,
      claimToken: held.claim.claimToken,
      infrastructureId: "arn:aws:ecs:us-east-1:123456789012:task/flows/0a1b",
    });
    // A claiming poll reads the same requests.
    const claiming = await worker.workers.poll({ workerId: other.workerId, limit: 5, waitMs: 0 });
    expect(claiming.cancel.map((c) => c.id)).toContain(held.run.id);
    await worker.flowRuns.setState({ id: held.run.id, state: { type: "CANCELLED" }, ...token });
    expect(await stateOf(held.run.id)).toMatchObject({ type: "CANCELLED" });
    const after = await worker.workers.poll({ workerId: other.workerId, limit: 0, waitMs: 0 });
    expect(after.cancel.map((c) => c.id)).not.toContain(held.run.id);
  });

  it("sends an OFFLINE worker's cancel only to workers of the host or engine its job id names, and ids that name none to every worker (regression: a worker elsewhere read the missing pid as gone and reported CANCELLED)", async () => {
    const heartbeat = (workerName: string, jobIdPrefix?: string) =>
      worker.workers.heartbeat({
        workPoolName: "live",
        workerName,
        ...(jobIdPrefix ? { metadata: { jobIdPrefix } } : {}),
      });
    await heartbeat("on-a-launcher", "host-a:");
    const launched = async (infrastructureId: string) => {
      const held = await claimed("on-a-launcher");
      const token = { claimToken: held.claim.claimToken };
      await worker.flowRuns.setState({ id: held.run.id, state: { type: "RUNNING" }, ...token });
      await worker.workers.reportInfrastructure({ flowRunId: held.run.id, infrastructureId, ...token });
      await developer.flowRuns.cancel({ id: held.run.id });
      return held;
    };
    const onA = await launched("host-a:4242");
    // Stored before ids named their host: any worker may hear of it (and checks the pid itself).
    const bare = await launched("4243");
    await silence(onA.workerId);
    await sweepLiveness(api.services.resources, config);
    const heard = async (workerName: string, jobIdPrefix?: string) => {
      const { workerId } = await heartbeat(workerName, jobIdPrefix);
      const polled = await worker.workers.poll({ workerId, limit: 0, waitMs: 0 });
      return [onA.run.id, bare.run.id].filter((id) => polled.cancel.some((c) => c.id === id));
    };
    expect(await heard("on-a", "host-a:")).toEqual([onA.run.id, bare.run.id]);
    expect(await heard("on-b", "host-b:")).toEqual([bare.run.id]);
    // A worker that does not say where it is (older) cannot tell: only the ids of no known place.
    expect(await heard("unplaced")).toEqual([bare.run.id]);
    for (const { run, claim } of [onA, bare])
      await worker.flowRuns.setState({ id: run.id, state: { type: "CANCELLED" }, claimToken: claim.claimToken });
  });

  it("cancels a CANCELLING run of an OFFLINE worker once its runner has been silent for the run heartbeat timeout, and not while it heartbeats (regression: CANCELLING for ever when no live worker could reach its job)", async () => {
    const held = await claimed("launcher-lost");
    const token = { claimToken: held.claim.claimToken };
    await worker.flowRuns.setState({ id: held.run.id, state: { type: "RUNNING" }, ...token });
    await worker.workers.reportInfrastructure({ flowRunId: held.run.id, infrastructureId: "host-gone:4242", ...token });
    await developer.flowRuns.cancel({ id: held.run.id });
    await silence(held.workerId);
    const at = (seconds: number) => new Date(Date.now() + seconds * 1000);
    // 30 s after the cancel: still within the timeout.
    await sweepLiveness(api.services.resources, config, at(30));
    expect(await stateOf(held.run.id)).toMatchObject({ type: "CANCELLING" });
    // The runner heartbeats (still running, somewhere): its run is kept.
    await worker.flowRuns.heartbeat({ id: held.run.id, ...token });
    await api.db.pool.query(`UPDATE "FlowRun" SET "heartbeatAt" = now() + interval '60 seconds' WHERE id = $1`, [
      held.run.id,
    ]);
    await sweepLiveness(api.services.resources, config, at(90));
    expect(await stateOf(held.run.id)).toMatchObject({ type: "CANCELLING" });
    // Silent for more than 60 s since its last heartbeat: nothing of it runs any more.
    await sweepLiveness(api.services.resources, config, at(125));
    expect(await stateOf(held.run.id)).toMatchObject({
      type: "CANCELLED",
      message: "cancelled: the worker that held the run went offline and its runner has been silent for 60 s",
    });
  });

  it("extends the claim of a PENDING run for its holder only, and not once the run has started", async () => {
    const { run, claim } = await claimed("slow-starter");
    const expiry = async () =>
      (
        await api.db.pool.query<{ claimExpiresAt: Date }>(`SELECT "claimExpiresAt" FROM "FlowRun" WHERE id = $1`, [
          run.id,
        ])
      ).rows[0]!.claimExpiresAt;
    await api.db.pool.query(`UPDATE "FlowRun" SET "claimExpiresAt" = now() - interval '1 second' WHERE id = $1`, [
      run.id,
    ]);
    expect(await worker.workers.extendClaim({ flowRunId: run.id, claimToken: claim.claimToken })).toEqual({
      stateType: "PENDING",
      runnerAlive: false,
    });
    expect((await expiry()).getTime()).toBeGreaterThan(Date.now() + 60_000);
    // Nothing released it: the claim is alive.
    await sweepLiveness(api.services.resources, config);
    expect(await stateOf(run.id)).toMatchObject({ type: "PENDING" });
    await expect(
      worker.workers.extendClaim({ flowRunId: run.id, claimToken: "0197a5d0-0000-7000-8000-00000000dead" }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, claimToken: claim.claimToken });
    await worker.flowRuns.heartbeat({ id: run.id, claimToken: claim.claimToken });
    const before = await expiry();
    expect(await worker.workers.extendClaim({ flowRunId: run.id, claimToken: claim.claimToken })).toEqual({
      stateType: "RUNNING",
      runnerAlive: true,
    });
    expect(await expiry()).toEqual(before);
  });

  it("fails a PAUSED run whose pause timed out, and its later RUNNING is refused (regression: it stayed PAUSED for ever)", async () => {
    const { run, claim } = await claimed("pauser");
    const token = { claimToken: claim.claimToken };
    await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, ...token });
    const past = new Date(Date.now() - 1_000).toISOString();
    await worker.flowRuns.setState({
      id: run.id,
      state: { type: "PAUSED", details: { pauseTimeout: past } },
      ...token,
    });
    const swept = await sweepLiveness(api.services.resources, config);
    expect(swept.runsResolved).toBeGreaterThanOrEqual(1);
    expect(await stateOf(run.id)).toMatchObject({ type: "FAILED" });
    expect((await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, ...token })).decision).toBe(
      "ABORT",
    );
    // A pause that has not timed out is left alone.
    const waiting = await claimed("pauser-2");
    const wToken = { claimToken: waiting.claim.claimToken };
    await worker.flowRuns.setState({ id: waiting.run.id, state: { type: "RUNNING" }, ...wToken });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await worker.flowRuns.setState({
      id: waiting.run.id,
      state: { type: "PAUSED", details: { pauseTimeout: future } },
      ...wToken,
    });
    await sweepLiveness(api.services.resources, config);
    expect(await stateOf(waiting.run.id)).toMatchObject({ type: "PAUSED" });
  });
});
