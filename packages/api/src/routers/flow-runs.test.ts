// Orchestrated proposals through the API on real PostgreSQL: concurrent proposals serialise on the
// run row, retries become AwaitingRetry, cancellation goes CANCELLING -> CANCELLED only, and an
// explicit retry re-runs a finished run (and only a finished one).
import { beforeAll, describe, expect, it } from "vitest";
import { claimRun, createPoolDeployment, useTestApi, type Caller } from "../testing.ts";

const api = useTestApi({ poolSize: 20 });
let worker: Caller;
let developer: Caller;

beforeAll(async () => {
  worker = api.a.as.WORKER;
  developer = api.a.as.DEVELOPER;
});

async function stateRows(flowRunId: string): Promise<number> {
  const { rows } = await api.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "State" WHERE "flowRunId" = $1`,
    [flowRunId],
  );
  return rows[0]!.n;
}

async function history(flowRunId: string): Promise<string[]> {
  return (await api.a.as.READ.flowRuns.history({ id: flowRunId })).map((s) => `${s.type}/${s.name}`);
}

async function scheduledRun(retryPolicy?: { retries: number; retryDelaySeconds?: number }) {
  return worker.flowRuns.create({
    flowName: "proposals",
    state: { type: "SCHEDULED" },
    ...(retryPolicy ? { retryPolicy } : {}),
  });
}

/** What a worker sends with every write for a run it claimed. */
const claimOf = (claimed: { claimToken: string }) => ({ claimToken: claimed.claimToken });

/** A deployment's run, claimed by a worker of its pool and RUNNING (called once: it creates the pool). */
async function claimedDeploymentRun() {
  const d = await createPoolDeployment(developer, "retry-pool", {
    flowName: "proposals",
    name: "retryable",
    entrypoint: "x.ts:f",
  });
  const run = await developer.deployments.run({ id: d.deploymentId });
  const { claimed } = await claimRun(
    worker,
    { workPoolName: "retry-pool", workerName: "retry-worker", limit: 10 },
    run.id,
  );
  const started = await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, ...claimOf(claimed) });
  expect(started.decision).toBe("ACCEPT");
  return { run, claimed };
}

async function runningRun(retryPolicy?: { retries: number; retryDelaySeconds?: number }) {
  const run = await scheduledRun(retryPolicy);
  const started = await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } });
  expect(started.decision).toBe("ACCEPT");
  return run;
}

describe("claims", () => {
  it("a run created while a claim's statement was on its way still shows PENDING after SCHEDULED (regression: the claim's earlier clock put PENDING first)", async () => {
    const d = await createPoolDeployment(developer, "race-pool", {
      flowName: "proposals",
      name: "race",
      entrypoint: "x.ts:f",
    });
    const run = await developer.deployments.run({ id: d.deploymentId });
    // The race, made exact: the run's SCHEDULED is stamped after the moment the claim reads its
    // clock (a poll that started before the run was created and claimed it after the commit).
    const later = new Date(Date.now() + 5_000);
    await api.db.pool.query(`UPDATE "FlowRun" SET "stateTimestamp" = $2 WHERE id = $1`, [run.id, later]);
    await api.db.pool.query(`UPDATE "State" SET timestamp = $2 WHERE "flowRunId" = $1`, [run.id, later]);
    await claimRun(worker, { workPoolName: "race-pool", workerName: "race-worker", limit: 10 }, run.id);
    const states = await api.a.as.READ.flowRuns.history({ id: run.id });
    expect(states.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING"]);
    expect(Date.parse(states[1]!.timestamp)).toBeGreaterThan(Date.parse(states[0]!.timestamp));
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.timestamp).toBe(states[1]!.timestamp);
  });
});

describe("setStates: many runs in one call", () => {
  it("decides each run on its own and writes every accepted state once", async () => {
    const runs = await Promise.all(Array.from({ length: 60 }, () => scheduledRun()));
    const started = await worker.flowRuns.setStates({
      proposals: runs.map((r) => ({ id: r.id, state: { type: "RUNNING" } })),
    });
    expect(started.map((a) => ("decision" in a ? a.decision : a.error.code))).toEqual(runs.map(() => "ACCEPT"));
    const done = await worker.flowRuns.setStates({
      proposals: runs.map((r) => ({ id: r.id, state: { type: "COMPLETED" } })),
    });
    expect(done).toHaveLength(runs.length);
    expect(done.every((a) => "decision" in a && a.decision === "ACCEPT")).toBe(true);
    for (const run of runs.slice(0, 5))
      expect(await history(run.id)).toEqual(["SCHEDULED/Scheduled", "RUNNING/Running", "COMPLETED/Completed"]);
    const { rows } = await api.db.pool.query<{ n: number; runs: number; ended: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT "flowRunId")::int AS runs,
              (SELECT count(*)::int FROM "FlowRun" WHERE id = ANY($1::uuid[]) AND "runCount" = 1 AND "endTime" IS NOT NULL AND "stateType" = 'COMPLETED') AS ended
         FROM "State" WHERE "flowRunId" = ANY($1::uuid[]) AND type IN ('RUNNING', 'COMPLETED')`,
      [runs.map((r) => r.id)],
    );
    expect(rows[0]).toEqual({ n: 120, runs: 60, ended: 60 });
  });

  it("answers a missing run and a refused proposal in their places; the others apply", async () => {
    const [a, b] = [await scheduledRun(), await runningRun()];
    await worker.flowRuns.setState({ id: b.id, state: { type: "COMPLETED" } });
    const missing = "0190a5c4-0000-7000-8000-000000000000";
    const answers = await worker.flowRuns.setStates({
      proposals: [
        { id: a.id, state: { type: "RUNNING" } },
        { id: missing, state: { type: "RUNNING" } },
        { id: b.id, state: { type: "RUNNING" } },
      ],
    });
    expect(answers[0]).toMatchObject({ decision: "ACCEPT", state: { type: "RUNNING" } });
    expect(answers[1]).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect(answers[2]).toMatchObject({ state: { type: "COMPLETED" } });
    expect("decision" in answers[2]! && answers[2].decision).not.toBe("ACCEPT");
    expect((await api.a.as.READ.flowRuns.get({ id: b.id })).state.type).toBe("COMPLETED");
  });

  it("the same run twice in one call: both are decided, in turn, against the state the other left", async () => {
    const run = await scheduledRun();
    const answers = await worker.flowRuns.setStates({
      proposals: [
        { id: run.id, state: { type: "RUNNING", transitionId: "first" } },
        { id: run.id, state: { type: "RUNNING", transitionId: "second" } },
      ],
    });
    expect(answers.filter((x) => "decision" in x && x.decision === "ACCEPT")).toHaveLength(1);
    expect(await history(run.id)).toEqual(["SCHEDULED/Scheduled", "RUNNING/Running"]);
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).runCount).toBe(1);
  });
});

describe("concurrent proposals", () => {
  it("100 identical proposals (same transitionId) at once write one state and all answer the same state", async () => {
    const run = await scheduledRun();
    const before = await stateRows(run.id);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING", transitionId: "start-attempt-1" } }),
      ),
    );
    expect(await stateRows(run.id)).toBe(before + 1);
    expect(answers.filter((a) => a.decision === "ACCEPT")).toHaveLength(1);
    expect(answers.filter((a) => a.decision === "REJECT")).toHaveLength(99);
    const states = new Set(
      answers.map((a) => JSON.stringify([a.state.type, a.state.name, a.state.timestamp, a.state.transitionId])),
    );
    expect(states.size).toBe(1);
    const stored = await api.a.as.READ.flowRuns.get({ id: run.id });
    expect(stored.state).toMatchObject({ type: "RUNNING", timestamp: answers[0]!.state.timestamp });
    expect(stored.runCount).toBe(1);
  });

  it("50 different RUNNING proposals at once: exactly one is accepted", async () => {
    const run = await scheduledRun();
    const before = await stateRows(run.id);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING", transitionId: `worker-${i}` } }),
      ),
    );
    const accepted = answers.filter((a) => a.decision === "ACCEPT");
    expect(accepted).toHaveLength(1);
    expect(
      answers
        .filter((a) => a.decision !== "ACCEPT")
        .every(
          (a) =>
            a.decision === "REJECT" &&
            a.state.type === "RUNNING" &&
            a.state.transitionId === accepted[0]!.state.transitionId,
        ),
    ).toBe(true);
    expect(await stateRows(run.id)).toBe(before + 1);
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).runCount).toBe(1);
  });
});

describe("creating runs", () => {
  it("concurrent first runs of a new flow all succeed and register the flow once (regression: 500 on the flow's unique name)", async () => {
    for (let round = 0; round < 5; round++) {
      const flowName = `fan-out-${round}`;
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => worker.flowRuns.create({ flowName })));
      expect(
        results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
      ).toEqual([]);
      expect(await api.db.prisma.flow.count({ where: { workspaceId: api.a.id, name: flowName } })).toBe(1);
      const flowIds = new Set(results.map((r) => (r as PromiseFulfilledResult<{ flowId: string }>).value.flowId));
      expect(flowIds.size).toBe(1);
    }
  });
});

describe("retries", () => {
  it("FAILED with retries left is answered REJECT with AwaitingRetry, which is stored and shown in the history", async () => {
    const run = await runningRun({ retries: 2, retryDelaySeconds: 30 });
    const t0 = Date.now();
    const answer = await worker.flowRuns.setState({ id: run.id, state: { type: "FAILED", message: "boom" } });
    expect(answer.decision).toBe("REJECT");
    expect(answer.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });
    const retryAt = Date.parse(answer.state.details.scheduledTime!);
    expect(retryAt).toBeGreaterThanOrEqual(t0 + 29_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 31_000);

    const stored = await api.a.as.READ.flowRuns.get({ id: run.id });
    expect(stored.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });
    expect(Date.parse(stored.nextScheduledTime!)).toBe(retryAt);
    expect(stored.workerId).toBeNull();
    const h = await history(run.id);
    expect(h[0]).toBe("SCHEDULED/Scheduled");
    expect(h.at(-1)).toBe("SCHEDULED/AwaitingRetry");
    expect(h.indexOf("RUNNING/Running")).toBeGreaterThan(0);

    // Starting before the retry time waits.
    const early = await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } });
    expect(early.decision).toBe("WAIT");
    expect(early.delaySeconds).toBeGreaterThan(25);
  });

  it("once the retries are used up, FAILED is accepted", async () => {
    const run = await runningRun({ retries: 1, retryDelaySeconds: 0 });
    expect((await worker.flowRuns.setState({ id: run.id, state: { type: "FAILED" } })).decision).toBe("REJECT");
    expect((await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
    const last = await worker.flowRuns.setState({ id: run.id, state: { type: "FAILED" } });
    expect(last).toMatchObject({ decision: "ACCEPT", state: { type: "FAILED" } });
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).runCount).toBe(2);
  });
});

describe("cancellation", () => {
  it("cancelling a SCHEDULED run ends it CANCELLED at once", async () => {
    const run = await scheduledRun();
    const answer = await developer.flowRuns.cancel({ id: run.id });
    expect(answer).toMatchObject({ decision: "ACCEPT", state: { type: "CANCELLED" } });
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.type).toBe("CANCELLED");
    // A worker that still tries to start it is told to stop.
    expect((await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } })).decision).toBe("ABORT");
  });

  it("cancelling a RUNNING run goes CANCELLING, which moves only to CANCELLED", async () => {
    const run = await runningRun();
    const answer = await developer.flowRuns.cancel({ id: run.id });
    expect(answer).toMatchObject({ decision: "ACCEPT", state: { type: "CANCELLING" } });
    expect((await worker.flowRuns.heartbeat({ id: run.id })).cancelRequested).toBe(true);

    for (const type of ["RUNNING", "PENDING", "SCHEDULED", "PAUSED"] as const) {
      const refused = await worker.flowRuns.setState({ id: run.id, state: { type } });
      expect(refused.decision, type).toBe("ABORT");
    }
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.type).toBe("CANCELLING");

    // A run that finishes while being cancelled is still recorded as cancelled.
    const finished = await worker.flowRuns.setState({ id: run.id, state: { type: "COMPLETED" } });
    expect(finished).toMatchObject({ decision: "REJECT", state: { type: "CANCELLED" } });
    const stored = await api.a.as.READ.flowRuns.get({ id: run.id });
    expect(stored.state.type).toBe("CANCELLED");
    expect(stored.endTime).not.toBeNull();
    expect(await history(run.id)).toEqual([
      "SCHEDULED/Scheduled",
      "RUNNING/Running",
      "CANCELLING/Cancelling",
      "CANCELLED/Cancelled",
    ]);
  });

  it("a CANCELLING run accepts CANCELLED from its worker", async () => {
    const run = await runningRun();
    await developer.flowRuns.cancel({ id: run.id });
    expect(await worker.flowRuns.setState({ id: run.id, state: { type: "CANCELLED" } })).toMatchObject({
      decision: "ACCEPT",
      state: { type: "CANCELLED" },
    });
  });

  it("cancelling a finished run changes nothing", async () => {
    const run = await runningRun();
    await worker.flowRuns.setState({ id: run.id, state: { type: "COMPLETED" } });
    expect((await developer.flowRuns.cancel({ id: run.id })).decision).toBe("ABORT");
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.type).toBe("COMPLETED");
  });
});

describe("runs nobody holds", () => {
  it("a CANCELLING proposal for a SCHEDULED or AwaitingRetry run ends it CANCELLED, by setState and forceState alike (regression: it stayed CANCELLING for ever, holding a concurrency slot)", async () => {
    const retrying = await runningRun({ retries: 1, retryDelaySeconds: 60 });
    await worker.flowRuns.setState({ id: retrying.id, state: { type: "FAILED" } });
    expect((await api.a.as.READ.flowRuns.get({ id: retrying.id })).state.name).toBe("AwaitingRetry");
    for (const [run, propose] of [
      [await scheduledRun(), (id: string) => worker.flowRuns.setState({ id, state: { type: "CANCELLING" } })],
      [retrying, (id: string) => api.a.as.ADMIN.flowRuns.forceState({ id, state: { type: "CANCELLING" } })],
    ] as const) {
      const answer = await propose(run.id);
      expect(answer).toMatchObject({ decision: "REJECT", state: { type: "CANCELLED" } });
      expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.type).toBe("CANCELLED");
      expect((await history(run.id)).at(-1)).toBe("CANCELLED/Cancelled");
    }
  });
});

describe("explicit retry", () => {
  it("retrying a FAILED run schedules a new attempt now, free for any worker", async () => {
    const { run, claimed } = await claimedDeploymentRun();
    await worker.flowRuns.setState({ id: run.id, state: { type: "FAILED" }, ...claimOf(claimed) });
    const answer = await developer.flowRuns.retry({ id: run.id });
    expect(answer).toMatchObject({ decision: "ACCEPT", state: { type: "SCHEDULED" } });
    const stored = await api.a.as.READ.flowRuns.get({ id: run.id });
    expect(stored.state.type).toBe("SCHEDULED");
    expect(stored.workerId).toBeNull();
    expect(Date.parse(stored.nextScheduledTime!)).toBeLessThanOrEqual(Date.now());
    const identity = await worker.workers.heartbeat({ workPoolName: "retry-pool", workerName: "retry-worker-2" });
    const again = (await worker.workers.poll({ workerId: identity.workerId, limit: 10, waitMs: 0 })).runs.find(
      (r) => r.id === run.id,
    );
    expect(again).toBeDefined();
    const restarted = await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" }, ...claimOf(again!) });
    expect(restarted.decision).toBe("ACCEPT");
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).runCount).toBe(2);
  });

  it("retrying a run without a deployment is refused with the reason (regression: it waited SCHEDULED for ever, no worker could claim it)", async () => {
    const run = await runningRun();
    await worker.flowRuns.setState({ id: run.id, state: { type: "FAILED" } });
    const answer = await developer.flowRuns.retry({ id: run.id });
    expect(answer.decision).toBe("ABORT");
    expect(answer.reason).toMatch(/no deployment/);
    expect((await api.a.as.READ.flowRuns.get({ id: run.id })).state.type).toBe("FAILED");
  });

  it("retrying a run that has not finished leaves it alone (regression: a RUNNING run was rescheduled and could run twice)", async () => {
    for (const setup of [runningRun, scheduledRun]) {
      const run = await setup();
      const before = await api.a.as.READ.flowRuns.get({ id: run.id });
      const answer = await developer.flowRuns.retry({ id: run.id });
      expect(answer.decision).toBe("ABORT");
      expect(answer.state.type).toBe(before.state.type);
      const after = await api.a.as.READ.flowRuns.get({ id: run.id });
      expect(after.state).toEqual(before.state);
    }
  });
});
