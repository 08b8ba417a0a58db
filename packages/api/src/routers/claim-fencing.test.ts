// Claims are fenced (issue 13, point 2): every write for a claimed run carries the claim token the
// worker received, and writes from anyone who does not hold the run's current claim are refused
// with CLAIM_SUPERSEDED. Each test is named after the reproduction it covers. Real PostgreSQL,
// through the same router stack as HTTP; e2e/worker.test.ts covers the zombie with real processes.
import { beforeAll, describe, expect, it } from "vitest";
import { sweepLiveness } from "../services/liveness.ts";
import { callError, claimRun, useTestApi, type Caller } from "../testing.ts";

const api = useTestApi({ poolSize: 20 });
let developer: Caller;
/** Two worker keys of the same workspace: two workers' credentials. */
let workerA: Caller;
let workerB: Caller;

beforeAll(async () => {
  developer = api.a.as.DEVELOPER;
  workerA = api.a.as.WORKER;
  const second = await api.a.as.ADMIN.apiKeys.create({ name: "second worker", scope: "WORKER" });
  workerB = api.caller(second.key);
  await developer.workPools.create({ name: "fenced", type: "process" });
  await developer.deployments.upsert({ flowName: "fenced", name: "d", entrypoint: "x.ts:f", workPoolName: "fenced" });
});

const claimAs = (worker: Caller, workerName: string, flowRunId: string) =>
  claimRun(worker, { workPoolName: "fenced", workerName, limit: 50 }, flowRunId);

async function newRun() {
  return { run: await developer.deployments.run({ name: "fenced/d" }) };
}

type StateType = Parameters<Caller["flowRuns"]["setState"]>[0]["state"]["type"];

/** The decision on a state the worker proposes for a run, with the claim token it holds. */
async function decisionOf(worker: Caller, flowRunId: string, type: StateType, claimToken: string) {
  return (await worker.flowRuns.setState({ id: flowRunId, state: { type }, claimToken })).decision;
}

async function stateOf(flowRunId: string) {
  return (await api.a.as.READ.flowRuns.get({ id: flowRunId })).state;
}

describe("claim fencing", () => {
  it("refuses RUNNING and COMPLETED from a second worker for a run another worker holds (regression: both were ACCEPTed)", async () => {
    const { run } = await newRun();
    const { claimed } = await claimAs(workerA, "holder", run.id);
    expect(claimed.claimToken).toMatch(/^[0-9a-f-]{36}$/);
    for (const type of ["RUNNING", "COMPLETED"] as const) {
      const err = await callError(workerB.flowRuns.setState({ id: run.id, state: { type } }));
      expect(err.code).toBe("CONFLICT");
      expect(err.message).toMatch(/held by a worker's claim/);
    }
    // A guessed or stale token is refused the same way, also in a batch (the others still apply).
    const other = await newRun();
    const answers = await workerB.flowRuns.setStates({
      proposals: [
        { id: run.id, state: { type: "COMPLETED" }, claimToken: crypto.randomUUID() },
        { id: other.run.id, state: { type: "RUNNING" } },
      ],
    });
    expect(answers[0]).toMatchObject({ error: { code: "CLAIM_SUPERSEDED" } });
    expect(answers[1]).toMatchObject({ error: { code: "CLAIM_SUPERSEDED" } });
    expect((await stateOf(run.id)).type).toBe("PENDING");
    // The holder's writes go through.
    expect(await decisionOf(workerA, run.id, "RUNNING", claimed.claimToken)).toBe("ACCEPT");
    expect((await workerA.flowRuns.heartbeat({ id: run.id, claimToken: claimed.claimToken })).cancelRequested).toBe(
      false,
    );
    expect(await decisionOf(workerA, run.id, "COMPLETED", claimed.claimToken)).toBe("ACCEPT");
  });

  it("refuses a zombie worker's late COMPLETED after its run was crashed and claimed by another worker (regression: it replaced the live attempt's)", async () => {
    const d = await developer.deployments.upsert({
      flowName: "fenced",
      name: "retrying",
      entrypoint: "x.ts:f",
      workPoolName: "fenced",
    });
    const run = await developer.deployments.run({ id: d.deploymentId });
    const zombie = await claimAs(workerA, "zombie", run.id);
    const token = zombie.claimed.claimToken;
    await workerA.flowRuns.setRetryPolicy({ id: run.id, retryPolicy: { retries: 1 }, claimToken: token });
    await workerA.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, claimToken: token });
    // The zombie goes silent past the heartbeat timeout: liveness crashes the run, which is retried now.
    await api.db.pool.query(`UPDATE "FlowRun" SET "heartbeatAt" = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    const swept = await sweepLiveness(api.services.resources, {
      missedWorkerHeartbeats: 3,
      runHeartbeatTimeoutSeconds: 60,
    });
    expect(swept.runsCrashed).toBe(1);
    expect((await stateOf(run.id)).name).toBe("AwaitingRetry");
    await api.db.pool.query(`UPDATE "FlowRun" SET "nextScheduledTime" = now() WHERE id = $1`, [run.id]);
    const live = await claimAs(workerB, "live", run.id);
    expect(live.claimed.claimToken).not.toBe(token);
    await workerB.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, claimToken: live.claimed.claimToken });

    // The zombie comes back: its heartbeat, its COMPLETED and its infrastructure report are refused.
    const late = await callError(
      workerA.flowRuns.setState({ id: run.id, state: { type: "COMPLETED" }, claimToken: token }),
    );
    expect(late.message).toMatch(/no longer the run's current one/);
    expect((await callError(workerA.flowRuns.heartbeat({ id: run.id, claimToken: token }))).code).toBe("CONFLICT");
    expect(
      (
        await callError(
          workerA.workers.reportInfrastructure({ flowRunId: run.id, infrastructureId: "x", claimToken: token }),
        )
      ).code,
    ).toBe("CONFLICT");
    expect(await stateOf(run.id)).toMatchObject({ type: "RUNNING" });
    expect(await decisionOf(workerB, run.id, "COMPLETED", live.claimed.claimToken)).toBe("ACCEPT");
  });

  it("runs a run whose claim expired only once: the first attempt's RUNNING is refused after the second claim (regression: one healthy run executed three times)", async () => {
    const { run } = await newRun();
    const first = await claimAs(workerA, "slow-start", run.id);
    // The first worker's infrastructure is slow to start; its claim expires and is released.
    await api.db.pool.query(`UPDATE "FlowRun" SET "claimExpiresAt" = now() - interval '1 second' WHERE id = $1`, [
      run.id,
    ]);
    expect(
      (await sweepLiveness(api.services.resources, { missedWorkerHeartbeats: 3, runHeartbeatTimeoutSeconds: 60 }))
        .claimsReleased,
    ).toBeGreaterThanOrEqual(1);
    const second = await claimAs(workerB, "second", run.id);
    expect(await decisionOf(workerB, run.id, "RUNNING", second.claimed.claimToken)).toBe("ACCEPT");
    const refused = await callError(
      workerA.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, claimToken: first.claimed.claimToken }),
    );
    expect(refused.code).toBe("CONFLICT");
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).runCount).toBe(1);
  });

  it("refuses polling or heartbeating as another key's worker id (regression: a key could poll as any worker id)", async () => {
    const owner = await workerA.workers.heartbeat({ workPoolName: "fenced", workerName: "owned" });
    const poll = await callError(workerB.workers.poll({ workerId: owner.workerId, limit: 1, waitMs: 0 }));
    expect(poll.code).toBe("FORBIDDEN");
    expect(poll.message).toMatch(/registered with another API key/);
    const heartbeat = await callError(workerB.workers.heartbeat({ workPoolName: "fenced", workerName: "owned" }));
    expect(heartbeat.code).toBe("FORBIDDEN");
    // The owner still polls.
    expect((await workerA.workers.poll({ workerId: owner.workerId, limit: 0, waitMs: 0 })).runs).toEqual([]);
  });

  it("keeps worker keys to the runs they hold: no retry, no retry policy, no CANCELLED for others' runs", async () => {
    const { run } = await newRun();
    const { claimed, workerId } = await claimAs(workerA, "keeper", run.id);
    await workerA.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, claimToken: claimed.claimToken });
    expect((await callError(workerB.flowRuns.retry({ id: run.id }))).code).toBe("FORBIDDEN");
    expect((await callError(workerB.flowRuns.setRetryPolicy({ id: run.id, retryPolicy: { retries: 5 } }))).code).toBe(
      "CONFLICT",
    );
    expect((await callError(workerB.flowRuns.setState({ id: run.id, state: { type: "CANCELLED" } }))).code).toBe(
      "CONFLICT",
    );
    // An unclaimed run of a pool is nobody's either: a worker key cannot cancel it.
    const waiting = await newRun();
    expect(
      (await callError(workerB.flowRuns.setState({ id: waiting.run.id, state: { type: "CANCELLED" } }))).code,
    ).toBe("CONFLICT");
    // People's keys act through the rules as before.
    expect((await developer.flowRuns.cancel({ id: run.id })).state.type).toBe("CANCELLING");
    // The holder learns of the cancel from its poll, with the token to write for it.
    const polled = await workerA.workers.poll({ workerId, limit: 0, waitMs: 0 });
    expect(polled.cancel).toEqual([{ id: run.id, claimToken: claimed.claimToken, infrastructureId: null }]);
    expect(await decisionOf(workerA, run.id, "CANCELLED", claimed.claimToken)).toBe("ACCEPT");
  });

  it("refuses a claimed run's secrets to a worker that does not hold its claim (regression: any worker key read them)", async () => {
    await api.a.as.ADMIN.secrets.set({ name: "FENCED_SECRET", value: "held-only" });
    // Its job variables reference the secret: what the worker holding the run may read.
    await developer.deployments.upsert({
      flowName: "fenced",
      name: "with-secret",
      entrypoint: "x.ts:f",
      workPoolName: "fenced",
      jobVariables: { env: { TOKEN: "{{ secret.FENCED_SECRET }}" } },
    });
    const run = await developer.deployments.run({ name: "fenced/with-secret" });
    const { claimed } = await claimAs(workerA, "secret-holder", run.id);
    const names = ["FENCED_SECRET"];
    const withoutToken = await callError(workerB.secrets.resolveForRun({ flowRunId: run.id, names }));
    expect(withoutToken.code).toBe("CONFLICT");
    expect(withoutToken.message).toMatch(/held by a worker's claim/);
    const guessed = await callError(
      workerB.secrets.resolveForRun({ flowRunId: run.id, names, claimToken: crypto.randomUUID() }),
    );
    expect(guessed.code).toBe("CONFLICT");
    const held = await workerA.secrets.resolveForRun({ flowRunId: run.id, names, claimToken: claimed.claimToken });
    expect(held.values).toEqual({ FENCED_SECRET: "held-only" });
    // Only the holder's read was recorded.
    expect(await api.a.as.READ.secrets.reads({ name: "FENCED_SECRET" })).toHaveLength(1);
  });
});
